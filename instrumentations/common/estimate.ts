/**
 * Pre-call input-size estimate for providers without a light, exact tokenizer.
 *
 * Current BPE tokenizers average about 4 bytes of English text per token, less
 * for code and non-Latin scripts. We assume 3 bytes per token over the UTF-8
 * size of the serialized input, which over-estimates for typical text: the
 * reservation errs on the side of holding more, and settlement then uses the
 * provider's reported usage.
 */
export const BYTES_PER_TOKEN = 3;

/** Estimated input tokens of a request's input parts (messages, system, tools...). */
export function estimateTokensFromBytes(input: unknown): number {
  if (input === undefined || input === null) return 0;
  const text = typeof input === 'string' ? input : JSON.stringify(input) ?? '';
  return Math.ceil(Buffer.byteLength(text, 'utf8') / BYTES_PER_TOKEN);
}
