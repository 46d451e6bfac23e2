import { createRequire, Module } from 'node:module';

/**
 * Keeps loading the o200k tokenizer table (~160 ms of CPU) off the path of the
 * first guarded call under `register`.
 *
 * The OpenAI estimate loads `gpt-tokenizer/encoding/o200k_base` synchronously
 * on first use. Before the engine runs, register puts a stand-in module in
 * the require cache under that file: its `countTokens` and `encodeGenerator`
 * answer with the text's UTF-8 byte count until the real table is loaded,
 * and with the real tokens after.
 * The byte count is an upper bound of the token count for any byte-level BPE
 * tokenizer (every token is at least one byte), so a reservation made before
 * the table is warm holds at least what the exact count would have held, and
 * settlement charges the provider's reported usage either way.
 *
 * The bound overstates English text about fourfold, enough to block or
 * downgrade a large call an exact count would allow. So the stand-in answers
 * with bytes only for short texts ({@link BYTE_BOUND_TEXT_LIMIT}) and only
 * for the first {@link BYTE_BOUND_BUDGET} bytes of text in all (the short
 * first calls of an app); for anything else it loads the real table at once.
 * Otherwise the real table is loaded on a timer that does not keep the
 * process alive, late enough not to stall the first call's answer.
 */

/** How long after the engine starts the real table is loaded. */
export const TOKENIZER_WARM_DELAY_MS = 1_000;
/** Longest text (UTF-8 bytes) the stand-in counts as its bytes. */
export const BYTE_BOUND_TEXT_LIMIT = 1_024;
/** Bytes of text the stand-in counts as tokens before it loads the real table instead. */
export const BYTE_BOUND_BUDGET = 4_096;

const ENCODING = 'gpt-tokenizer/encoding/o200k_base';
type CountTokens = (text: string) => number;
type EncodeGenerator = (text: string, options?: object) => Iterable<number[]>;
type Encoding = { countTokens: CountTokens; encodeGenerator: EncodeGenerator };

let installed = false;

/** Installs the stand-in (once) and schedules loading the real table. */
export function warmTokenizerLater(delayMs = TOKENIZER_WARM_DELAY_MS): void {
  if (installed) return;
  installed = true;
  const req = createRequire(import.meta.url);
  let file: string;
  try {
    file = req.resolve(ENCODING);
  } catch {
    return; // not installed: the estimate falls back to its own byte estimate
  }
  const cache = req.cache as Record<string, unknown>;
  if (cache[file]) return; // already loaded by someone: nothing to save
  let real: Encoding | null | undefined;
  let bounded = 0;
  const standIn = new Module(file);
  const loadReal = (): Encoding | null => {
    if (real !== undefined) return real;
    clearTimeout(timer);
    try {
      delete cache[file];
      real = req(ENCODING) as Encoding;
    } catch {
      cache[file] = standIn;
      real = null; // stays the byte bound
    }
    return real;
  };
  /** Whether `text` is answered with its byte count (the table not loaded, a short text, budget left). */
  const byBytes = (text: string): number | undefined => {
    if (real) return undefined;
    const bytes = Buffer.byteLength(text, 'utf8');
    if (real === null || (bytes <= BYTE_BOUND_TEXT_LIMIT && bounded + bytes <= BYTE_BOUND_BUDGET)) {
      bounded += bytes;
      return bytes;
    }
    return loadReal() ? undefined : bytes;
  };
  const countTokens: CountTokens = (text) => byBytes(text) ?? real!.countTokens(text);
  // One "token" per byte, one byte a piece: the estimate's work budget counts it as the byte bound it is.
  const encodeGenerator: EncodeGenerator = function* (text, options) {
    const bytes = byBytes(text);
    if (bytes === undefined) return yield* real!.encodeGenerator(text, options);
    for (let i = 0; i < bytes; i++) yield [0];
  };
  standIn.filename = file;
  standIn.loaded = true;
  standIn.exports = { countTokens, encodeGenerator };
  cache[file] = standIn;

  const timer = setTimeout(loadReal, delayMs);
  timer.unref?.();
}
