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

/** A run of 32+ hex characters: a seed, or part of one, in any wrapping (`0x`, quotes, `NAME=`, a stray character). */
const HEX_RUN = /[0-9a-fA-F]{32,}/;
/** A run of base64 or base64url characters long enough to hold 32 bytes (43 characters, less a little). */
const BASE64_RUN = /[A-Za-z0-9+/=_-]{40,}/g;

/**
 * Whether `value` holds a run that could be a key (see {@link shownPath}): 32+
 * hex characters, or 40+ base64 characters that mix digits, upper- and
 * lower-case letters with a stretch of 12+ between separators. A file path's
 * runs (`/tmp/agentguard-audit-cli-x1Y2/…`) are cut by `/`, `-` and `_` into
 * short words, a key's are not.
 */
export function looksLikeKey(value: string): boolean {
  if (HEX_RUN.test(value)) return true;
  for (const run of value.match(BASE64_RUN) ?? []) {
    const longest = Math.max(...run.split(/[/+=_-]/).map((s) => s.length));
    if (longest >= 12 && /[0-9]/.test(run) && /[A-Z]/.test(run) && /[a-z]/.test(run)) return true;
  }
  return false;
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
