import { createRequire } from 'node:module';
import { BYTES_PER_TOKEN, estimateTokensFromBytes } from '../common/estimate.js';

/**
 * Pre-call estimates for OpenAI requests: input tokens and the output bound.
 *
 * Input: the text of the request (message text, names, tool-call arguments,
 * tool and response-format schemas, Responses `instructions`) is counted with
 * `gpt-tokenizer`'s `o200k_base` encoding for the models that use it (gpt-4o,
 * gpt-4.1, gpt-4.5, gpt-5, o-series, gpt-oss), plus {@link PER_MESSAGE_OVERHEAD}
 * tokens per message and {@link REPLY_PRIMING} for the reply. Other models, and
 * non-text parts (audio, files), use the 3-bytes-per-token estimate of
 * `common/estimate.ts`; image parts count {@link IMAGE_TOKEN_ALLOWANCE} each
 * (a base64 data URL's bytes would overstate an image's tokens a hundredfold).
 *
 * Cost bound: tokenizing costs about 25–50 µs per KB of text once warm
 * (Node 22, a busy 2-core machine: 16 KB of prose 0.4–0.8 ms, 64 KB about
 * 2 ms). Above {@link TOKENIZE_FULL_LIMIT} characters we tokenize about {@link SAMPLE_CHARS}
 * characters taken from the start, middle and end of each text, extrapolate the
 * tokens-per-character ratio and add {@link SAMPLE_MARGIN}; so a call never
 * spends much more than a millisecond here. (A flat 3 bytes per token would
 * overstate English prose by ~40% and understate code by ~20%.)
 *
 * Context that the server adds (`previous_response_id`, `conversation`,
 * stored prompts) is unknown before the call and not estimated; settlement
 * uses the provider's reported usage in any case.
 */

/** Tokens per chat message for the role and the message framing (`<|start|>role…<|end|>`). */
export const PER_MESSAGE_OVERHEAD = 4;
/** Tokens that prime the assistant's reply. */
export const REPLY_PRIMING = 3;
/** Input tokens assumed per image part (covers a high-detail image on gpt-4o / gpt-4.1). */
export const IMAGE_TOKEN_ALLOWANCE = 1_600;
/** Texts up to this many characters in total are tokenized exactly. */
export const TOKENIZE_FULL_LIMIT = 16_000;
/** Above the limit, about this many characters are tokenized and the ratio extrapolated. */
export const SAMPLE_CHARS = 12_000;
/** Margin on an extrapolated count (the rest of the text may tokenize worse than the sample). */
export const SAMPLE_MARGIN = 1.1;
/** Output bound of a model we have no metadata for. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 16_384;

const O200K_MODELS = /^(?:ft:)?(?:gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o1|o3|o4|codex|computer-use|chat-latest)/;

const req = createRequire(import.meta.url);
type CountTokens = (text: string) => number;
let countTokensFn: CountTokens | null | undefined;
let modelSpecs: Record<string, { max_output_tokens?: number }> | null | undefined;

/**
 * Schedules loading the tokenizer (130 ms or more of CPU, once) for just after
 * start-up: on a timer that does not keep the process alive, so neither
 * `require('openai')` under the instrumentation nor `withSpendGuard` pays it
 * on the start-up path. A call that comes before the timer loads it then.
 * Called when the instrumentation patches `openai` or a wrapper is created.
 */
export function preloadTokenizer(): void {
  if (countTokensFn !== undefined || warmUp) return;
  warmUp = setTimeout(() => {
    warmUp = undefined;
    tokenizer();
  }, 0);
  warmUp.unref?.();
}
let warmUp: ReturnType<typeof setTimeout> | undefined;

function tokenizer(): CountTokens | null {
  if (countTokensFn === undefined) {
    try {
      countTokensFn = (req('gpt-tokenizer/encoding/o200k_base') as { countTokens: CountTokens }).countTokens;
    } catch {
      countTokensFn = null;
    }
  }
  return countTokensFn;
}

/** Whether `model` uses the `o200k_base` encoding (exact counts with gpt-tokenizer). */
export function usesO200k(model: string): boolean {
  return O200K_MODELS.test(model);
}

/** Tokens of `texts` for `model`: exact (or sampled) with o200k_base, else 3 bytes per token. */
export function countTextTokens(model: string, texts: string[]): number {
  let chars = 0;
  for (const t of texts) chars += t.length;
  if (chars === 0) return 0;
  const count = usesO200k(model) ? tokenizer() : null;
  if (!count) {
    let bytes = 0;
    for (const t of texts) bytes += Buffer.byteLength(t, 'utf8');
    return Math.ceil(bytes / BYTES_PER_TOKEN);
  }
  if (chars <= TOKENIZE_FULL_LIMIT) {
    let n = 0;
    for (const t of texts) n += cachedCount(count, t);
    return n;
  }
  // Large input: tokenize slices from the start, middle and end of each text (in
  // proportion to its length), extrapolate the tokens-per-character ratio, add a margin.
  const share = SAMPLE_CHARS / chars;
  let sampledChars = 0;
  let sampledTokens = 0;
  for (const t of texts) {
    const want = Math.ceil(t.length * share);
    if (want >= t.length) {
      sampledChars += t.length;
      sampledTokens += count(t);
      continue;
    }
    const piece = Math.ceil(want / 3);
    for (const start of [0, Math.floor((t.length - piece) / 2), t.length - piece]) {
      const slice = t.slice(start, start + piece);
      sampledChars += slice.length;
      sampledTokens += count(slice);
    }
  }
  return Math.ceil(chars * (sampledTokens / Math.max(1, sampledChars)) * SAMPLE_MARGIN);
}

/**
 * Exact counts of recently seen texts. An agent sends the same system prompt,
 * tool schemas and (growing) history on every turn: only new text is
 * tokenized. Bounded (entries and length), least recently used dropped first.
 */
const COUNT_CACHE_ENTRIES = 256;
const COUNT_CACHE_MIN_CHARS = 64;
const countCache = new Map<string, number>();

function cachedCount(count: CountTokens, text: string): number {
  if (text.length < COUNT_CACHE_MIN_CHARS) return count(text);
  const hit = countCache.get(text);
  if (hit !== undefined) {
    countCache.delete(text);
    countCache.set(text, hit);
    return hit;
  }
  const n = count(text);
  if (countCache.size >= COUNT_CACHE_ENTRIES) countCache.delete(countCache.keys().next().value!);
  countCache.set(text, n);
  return n;
}

/**
 * The output ceiling when a request sets no max tokens: the model's
 * `max_output_tokens` from gpt-tokenizer's model metadata (exact name, name
 * without a date suffix, or a fine-tune's base model), else
 * {@link DEFAULT_MAX_OUTPUT_TOKENS}.
 */
export function defaultMaxOutputTokens(model: string): number {
  const specs = loadModelSpecs();
  if (specs) {
    for (const name of candidateNames(model)) {
      const max = specs[name]?.max_output_tokens;
      if (typeof max === 'number' && Number.isSafeInteger(max) && max > 0) return max;
    }
  }
  return DEFAULT_MAX_OUTPUT_TOKENS;
}

function candidateNames(model: string): string[] {
  const names = [model];
  const ft = /^ft:([^:]+)/.exec(model);
  if (ft?.[1]) names.push(ft[1]);
  for (const n of [...names]) {
    const undated = n.replace(/-\d{4}-\d{2}-\d{2}$/, '');
    if (undated !== n) names.push(undated);
  }
  return names;
}

function loadModelSpecs(): Record<string, { max_output_tokens?: number }> | null {
  if (modelSpecs === undefined) {
    try {
      // The generated table only: gpt-tokenizer 4.0's CommonJS `models` entry fails to load.
      modelSpecs = req('gpt-tokenizer/cjs/models.gen') as Record<string, { max_output_tokens?: number }>;
    } catch {
      modelSpecs = null;
    }
  }
  return modelSpecs;
}

/** Collects the text of a request into `texts`; returns extra tokens for non-text parts. */
export class InputCollector {
  readonly texts: string[] = [];
  extraTokens = 0;
  messages = 0;

  text(value: unknown): void {
    if (typeof value === 'string' && value) this.texts.push(value);
  }

  /** Structured data the model reads as text (tool schemas, JSON schemas). */
  json(value: unknown): void {
    if (value === undefined || value === null) return;
    try {
      const s = JSON.stringify(value);
      if (s) this.texts.push(s);
    } catch {
      // Unserializable (cyclic) values add nothing here; the SDK will reject them anyway.
    }
  }

  image(): void {
    this.extraTokens += IMAGE_TOKEN_ALLOWANCE;
  }

  /** A part we cannot read as text: 3 bytes per token of its JSON. */
  opaque(value: unknown): void {
    try {
      this.extraTokens += estimateTokensFromBytes(value);
    } catch {
      // Unserializable parts (cycles) add nothing; settlement uses reported usage.
    }
  }

  total(model: string): number {
    return countTextTokens(model, this.texts) + this.extraTokens + this.messages * PER_MESSAGE_OVERHEAD + (this.messages > 0 ? REPLY_PRIMING : 0);
  }
}
