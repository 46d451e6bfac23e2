/** Lowercase hex of `bytes`. */
export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * Bytes of a hex string. Throws on odd length or a non-hex character, naming
 * `what` so a bad key or hash in configuration is easy to find.
 */
export function hexToBytes(hex: string, what = 'hex string', expectedLength?: number): Uint8Array {
  if (typeof hex !== 'string' || !HEX_RE.test(hex)) {
    throw new TypeError(`${what}: expected an even-length hex string`);
  }
  const bytes = new Uint8Array(Buffer.from(hex, 'hex'));
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    throw new TypeError(`${what}: expected ${expectedLength} bytes (${expectedLength * 2} hex characters), got ${bytes.length}`);
  }
  return bytes;
}

/**
 * `value` for an error message, unless it looks like a 32-byte key itself (64 hex
 * characters, perhaps with `0x`, quotes or whitespace): a seed put where a key
 * FILE was expected must not be echoed to stderr.
 */
export function shownPath(value: string): string {
  const bare = value.trim().replace(/^['"]|['"]$/g, '').replace(/^0x/i, '');
  return /^[0-9a-fA-F]{64}$/.test(bare) ? '(a value of 64 hex characters, not shown: a key, not a file path?)' : value;
}
