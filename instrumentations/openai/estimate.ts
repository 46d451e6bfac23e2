import { createRequire } from 'node:module';
import { inputTokenBound, utf8Bytes } from '../common/estimate.js';

/**
 * Pre-call estimates for OpenAI requests: input tokens and the output bound.
 *
 * Input, an upper bound for any text (adversarial included): the text of the
 * request (message text, names, tool-call arguments, tool and response-format
 * schemas, Responses `instructions`) is counted exactly with `gpt-tokenizer`'s
 * `o200k_base` encoding for the models that use it (gpt-4o, gpt-4.1, gpt-4.5,
 * gpt-5, o-series, gpt-oss), special-token text counted as the plain text the
 * API reads it as, plus {@link PER_MESSAGE_OVERHEAD} tokens per message and
 * {@link REPLY_PRIMING} for the reply. Every other text — beyond
 * {@link EXACT_COUNT_BUDGET} characters of new text per call, or for any other
 * model — is counted at its UTF-8 size, a proven bound (see
 * `common/estimate.ts`); non-text parts (audio, files) likewise. Image parts
 * count {@link IMAGE_TOKEN_ALLOWANCE} each (a base64 data URL's bytes would
 * overstate an image's tokens a hundredfold).
 *
 * Cost bound: tokenizing costs about 25–50 µs per KB of prose once warm and up
 * to ~300 µs per KB of adversarial text (Node 22), so the budget caps it near
 * 10 ms per call; texts counted before (an agent's system prompt, tools and
 * growing history) come from a cache and cost nothing. Measured figures:
 * `bench/estimate.mjs`.
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
/**
 * Characters of not-yet-counted text tokenized exactly per call; text beyond
 * it is counted at its UTF-8 size (one token per byte at most).
 */
export const EXACT_COUNT_BUDGET = 32_000;
/** Output bound of a model we have no metadata for. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 16_384;

const O200K_MODELS = /^(?:ft:)?(?:gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o1|o3|o4|codex|computer-use|chat-latest)/;

const req = createRequire(import.meta.url);
type CountTokens = (text: string, options?: { disallowedSpecial?: Set<string> }) => number;
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

/**
 * An upper bound on the tokens of `texts` for `model`: exact o200k_base counts
 * (cached) within {@link EXACT_COUNT_BUDGET} characters of new text, the UTF-8
 * size for the rest and for models without an exact tokenizer here.
 */
export function countTextTokens(model: string, texts: string[]): number {
  const count = usesO200k(model) ? tokenizer() : null;
  let budget = EXACT_COUNT_BUDGET;
  let n = 0;
  for (const t of texts) {
    if (!t) continue;
    if (count) {
      const hit = cachedCount(t);
      if (hit !== undefined) {
        n += hit;
        continue;
      }
      if (t.length <= budget) {
        budget -= t.length;
        n += exactCount(count, t);
        continue;
      }
    }
    n += utf8Bytes(t);
  }
  return n;
}

/** The exact count, remembered; the byte bound if the tokenizer throws. */
function exactCount(count: CountTokens, text: string): number {
  let n: number;
  try {
    // The API reads `<|endoftext|>` and the like in user text as plain text, not as special tokens.
    n = count(text, { disallowedSpecial: NO_SPECIAL });
  } catch {
    return utf8Bytes(text);
  }
  remember(text, n);
  return n;
}
const NO_SPECIAL = new Set<string>();

/**
 * Exact counts of recently seen texts. An agent sends the same system prompt,
 * tool schemas and (growing) history on every turn: only new text is
 * tokenized. Bounded (entries and length), least recently used dropped first.
 */
const COUNT_CACHE_ENTRIES = 256;
const COUNT_CACHE_MIN_CHARS = 64;
const countCache = new Map<string, number>();

function cachedCount(text: string): number | undefined {
  if (text.length < COUNT_CACHE_MIN_CHARS) return undefined;
  const hit = countCache.get(text);
  if (hit !== undefined) {
    countCache.delete(text);
    countCache.set(text, hit);
  }
  return hit;
}

function remember(text: string, n: number): void {
  if (text.length < COUNT_CACHE_MIN_CHARS) return;
  if (countCache.size >= COUNT_CACHE_ENTRIES) countCache.delete(countCache.keys().next().value!);
  countCache.set(text, n);
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

  /** A part we cannot read as text: the byte bound of its strings (binary blocks at the block allowance). */
  opaque(value: unknown): void {
    try {
      this.extraTokens += inputTokenBound(value);
    } catch {
      // Unserializable parts (cycles) add nothing; settlement uses reported usage.
    }
  }

  total(model: string): number {
    return countTextTokens(model, this.texts) + this.extraTokens + this.messages * PER_MESSAGE_OVERHEAD + (this.messages > 0 ? REPLY_PRIMING : 0);
  }
}
