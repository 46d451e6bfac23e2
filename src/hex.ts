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
