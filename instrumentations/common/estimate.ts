/**
 * Pre-call input estimates that bound.
 *
 * The input estimate prices the reservation a cap is checked against, so it
 * must never be below what the provider will count, whatever the text. Every
 * token of a byte-level BPE vocabulary (the GPT, Claude, Llama, Nova and
 * Mistral tokenizers) stands for at least one byte of UTF-8, so a text of B
 * bytes is at most B tokens: {@link utf8Bytes} is a proven bound where no exact
 * tokenizer runs. It over-estimates typical English about fourfold; settlement
 * uses the provider's reported usage in every case.
 */

/**
 * Bytes per token assumed for output the caller already read from a stream cut
 * short (rule 2 of `./unreported-usage.ts`): a typical figure for text that was
 * generated, not a bound for a reservation.
 */
export const BYTES_PER_TOKEN = 3;

/**
 * Tokens counted for one binary or base64 block (image, document, video) in the
 * pre-call estimate. Not a bound: 1,600 is about the most a single image costs
 * on the GPT-4o, Claude and Nova models (they downscale larger images), while
 * documents are billed by their extracted text, which cannot be seen before the
 * call. Reading a base64 image's bytes as text would overstate it a
 * hundredfold.
 */
export const BINARY_BLOCK_TOKENS = 1600;

/** A string this long made only of base64 characters is taken for binary content. */
const BASE64_MIN_LENGTH = 1024;
const BASE64 = /^[A-Za-z0-9+/=_\-\r\n]+$/;

/** UTF-8 size of `text`: an upper bound on its tokens for any byte-level BPE tokenizer. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Upper bound on the input tokens of a request's parts (messages, system,
 * tools...): the UTF-8 bytes of every string (values and keys) and number,
 * plus {@link BINARY_BLOCK_TOKENS} for each binary block (`Uint8Array`,
 * `ArrayBuffer`, `Blob`, or a long base64 string), which is never serialized.
 * The keys' bytes (`role`, `content`, `type`, `text`: 20 bytes or more per
 * message) cover the few framing tokens a chat template adds per message.
 */
export function inputTokenBound(...parts: unknown[]): number {
  let bytes = 0;
  let blocks = 0;
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (v === null || v === undefined) return;
    if (typeof v === 'string') {
      if (v.length >= BASE64_MIN_LENGTH && BASE64.test(v)) blocks += 1;
      else bytes += utf8Bytes(v);
      return;
    }
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') {
      bytes += String(v).length;
      return;
    }
    if (typeof v !== 'object') return;
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || (typeof Blob !== 'undefined' && v instanceof Blob)) {
      blocks += 1;
      return;
    }
    if (seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) {
      for (const item of v) walk(item);
      return;
    }
    for (const [k, item] of Object.entries(v)) {
      bytes += utf8Bytes(k);
      walk(item);
    }
  };
  for (const p of parts) walk(p);
  return bytes + blocks * BINARY_BLOCK_TOKENS;
}

/**
 * The bound of a part only known as serialized bytes (an unparsed request
 * body): its size, one token per byte.
 */
export function byteSizeBound(bytes: number): number {
  return Math.max(0, Math.ceil(bytes));
}
