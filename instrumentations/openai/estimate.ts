import { hash } from 'node:crypto';
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
 * Cost bound: tokenizing costs about 30 µs per KB of prose once warm, but up
 * to a hundred times more for adversarial text (rare CJK, emoji, random
 * letters), and the square of a run without breaks. So exact counting stops
 * after {@link EXACT_COUNT_WORK} units of work per call (a measure of the text,
 * not of the clock, so an estimate never depends on the machine's load), and a text with a run longer than
 * {@link MAX_EXACT_RUN} is never tokenized: either way the UTF-8 size takes
 * over, still a bound. Texts counted before (an agent's system prompt, tools
 * and growing history) come from a cache. Measured: `bench/estimate.mjs`.
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
export const EXACT_COUNT_BUDGET = 256_000;
/**
 * Tokenizing work per call, in units of (tokens of one pre-token)²: BPE work on
 * a pre-token grows with the square of its length, so prose (about one token a
 * word) costs ~1 unit a word and adversarial text (long runs of rare
 * characters) up to thousands. New text past the budget is counted at its
 * UTF-8 size. The budget depends on the text alone, so the same call is
 * always estimated the same way, on any machine and under any load.
 */
export const EXACT_COUNT_WORK = 1_000_000;
/**
 * A last-resort stall guard, in milliseconds: exact counting past it falls back
 * to UTF-8 size. The work budget stops hostile text long before it on any
 * ordinary machine; this only bounds a pathologically slow one.
 */
export const EXACT_COUNT_MS = 1000;
/** The time budget in force ({@link EXACT_COUNT_MS}); tests that assert exact counts lift it. */
export const exactCountTime = { ms: EXACT_COUNT_MS };
/**
 * A text holding a run of letters (or of punctuation) longer than this is
 * counted at its UTF-8 size without tokenizing: BPE time grows with the
 * square of such a run (32,000 CJK characters without a break take seconds).
 */
export const MAX_EXACT_RUN = 256;
/** Output bound of a model we have no metadata for. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 16_384;

const O200K_MODELS = /^(?:ft:)?(?:gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o1|o3|o4|codex|computer-use|chat-latest)/;

const req = createRequire(import.meta.url);
type EncodeOptions = { disallowedSpecial?: Set<string> };
type Tokenizer = { encodeGenerator: (text: string, options?: EncodeOptions) => Iterable<number[]> };
let tokenizerModule: Tokenizer | null | undefined;
let modelSpecs: Record<string, { max_output_tokens?: number }> | null | undefined;

/**
 * Schedules loading the tokenizer (130 ms or more of CPU, once) for just after
 * start-up: on a timer that does not keep the process alive, so neither
 * `require('openai')` under the instrumentation nor `withSpendGuard` pays it
 * on the start-up path. A call that comes before the timer loads it then.
 * Called when the instrumentation patches `openai` or a wrapper is created.
 */
export function preloadTokenizer(): void {
  if (tokenizerModule !== undefined || warmUp) return;
  warmUp = setTimeout(() => {
    warmUp = undefined;
    // Load, and run the tokenizer once so its first real count is not slowed by compilation.
    try {
      for (const _ of tokenizer()?.encodeGenerator(WARM_UP_TEXT, { disallowedSpecial: NO_SPECIAL }) ?? []) void _;
    } catch {
      // Counting falls back to the byte bound.
    }
  }, 0);
  warmUp.unref?.();
}
let warmUp: ReturnType<typeof setTimeout> | undefined;
const NO_SPECIAL = new Set<string>();
const WARM_UP_TEXT = 'The committee reviewed the quarterly figures, 12,345 of them, and agreed: publish next week! '.repeat(40);

function tokenizer(): Tokenizer | null {
  if (tokenizerModule === undefined) {
    try {
      tokenizerModule = req('gpt-tokenizer/encoding/o200k_base') as Tokenizer;
    } catch {
      tokenizerModule = null;
    }
  }
  return tokenizerModule;
}

/** Whether `model` uses the `o200k_base` encoding (exact counts with gpt-tokenizer). */
export function usesO200k(model: string): boolean {
  return O200K_MODELS.test(model);
}

/**
 * An upper bound on the tokens of `texts` for `model`: exact o200k_base counts
 * (cached) within {@link EXACT_COUNT_BUDGET} characters and
 * {@link EXACT_COUNT_WORK} of new text per call, the UTF-8 size for the rest,
 * for texts with a run longer than {@link MAX_EXACT_RUN}, and for models
 * without an exact tokenizer here.
 */
export function countTextTokens(model: string, texts: string[]): number {
  const encoder = usesO200k(model) ? tokenizer() : null;
  let budget = EXACT_COUNT_BUDGET;
  const work = { left: EXACT_COUNT_WORK };
  let deadline = 0;
  let n = 0;
  for (const t of texts) {
    if (!t) continue;
    if (encoder) {
      const { key, hit } = cachedCount(t);
      if (hit !== undefined) {
        n += hit;
        continue;
      }
      if (t.length <= budget && !hasLongRun(t)) {
        budget -= t.length;
        deadline ||= performance.now() + exactCountTime.ms;
        const exact = exactCount(encoder, t, key, deadline, work);
        if (exact !== undefined) {
          n += exact;
          continue;
        }
      }
    }
    n += utf8Bytes(t);
  }
  return n;
}

/** The exact count, remembered; undefined when the work budget or the deadline ran out first, or the tokenizer threw. */
function exactCount(encoder: Tokenizer, text: string, key: string | null, deadline: number, work: { left: number }): number | undefined {
  let n = 0;
  let pieces = 0;
  try {
    // The API reads `<|endoftext|>` and the like in user text as plain text, not as special tokens.
    for (const tokens of encoder.encodeGenerator(text, { disallowedSpecial: NO_SPECIAL })) {
      n += tokens.length;
      work.left -= tokens.length * tokens.length;
      if (work.left < 0) return undefined;
      if ((++pieces & 7) === 0 && performance.now() > deadline) return undefined;
    }
  } catch {
    return undefined;
  }
  remember(key, n);
  return n;
}

/**
 * Whether `text` has a run of more than {@link MAX_EXACT_RUN} letters or of
 * punctuation (the tokenizer's pre-tokens are at most that long otherwise).
 * Conservative: any non-ASCII character extends both kinds of run.
 */
function hasLongRun(text: string): boolean {
  let letters = 0;
  let punct = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) {
      letters++;
      punct++;
    } else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
      letters++;
      punct = 0;
    } else if (c <= 32 || (c >= 48 && c <= 57)) {
      letters = 0;
      punct = 0;
    } else {
      punct++;
      letters = 0;
    }
    if (letters > MAX_EXACT_RUN || punct > MAX_EXACT_RUN) return true;
  }
  return false;
}

/**
 * Exact counts of recently seen texts. An agent sends the same system prompt,
 * tool schemas and (growing) history on every turn: only new text is
 * tokenized. Keyed by a digest (V8 hashes a string over 16,383 characters by
 * its length alone, so long texts as keys would all collide), bounded
 * (entries), least recently used dropped first; no text is kept.
 */
const COUNT_CACHE_ENTRIES = 256;
const COUNT_CACHE_MIN_CHARS = 64;
const countCache = new Map<string, number>();

function cacheKey(text: string): string {
  // One-shot: no Hash object per text (Node ≥ 22, as the package requires).
  return hash('sha256', text, 'base64');
}

/** The cached count of `text` and its cache key (null when the text is too short to cache). */
function cachedCount(text: string): { key: string | null; hit: number | undefined } {
  if (text.length < COUNT_CACHE_MIN_CHARS) return { key: null, hit: undefined };
  const key = cacheKey(text);
  const hit = countCache.get(key);
  if (hit !== undefined) {
    countCache.delete(key);
    countCache.set(key, hit);
  }
  return { key, hit };
}

function remember(key: string | null, n: number): void {
  if (key === null) return;
  if (countCache.size >= COUNT_CACHE_ENTRIES) countCache.delete(countCache.keys().next().value!);
  countCache.set(key, n);
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
