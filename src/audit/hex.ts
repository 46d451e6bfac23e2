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
 * A run that could be (part of) a key: 32+ hex characters (a seed with `0x`,
 * quotes, a stray character or `NAME=` around it), or 40+ base64/base64url
 * characters (32 bytes are 43 in base64).
 */
const KEY_LIKE_RUN = /[0-9a-fA-F]{32,}|[A-Za-z0-9+/_-]{40,}={0,2}/;

/** Whether `value` holds a run that could be a key (see {@link shownPath}). */
export function looksLikeKey(value: string): boolean {
  return KEY_LIKE_RUN.test(value);
}

/**
 * `value` for an error message, unless it holds a run that could be a key: a
 * seed put where a key FILE was expected, in any spelling, must not be echoed
 * to stderr. A path with such a run is not shown either; the message still
 * names the setting.
 */
export function shownPath(value: string): string {
  return looksLikeKey(value) ? `(a value of ${value.length} characters holding a long hex or base64 run, not shown: a key, not a file path?)` : value;
}
