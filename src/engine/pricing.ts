import { createRequire } from 'node:module';
import { canonicalJson } from '../audit/canonical-json.js';
import { sha256Hex } from '../audit/hash.js';
import { GENAI_PRICES_DATA_VERSION } from './genai-prices-data.js';
import { ASK_LIBRARY, dataModelPrice } from './genai-prices-lookup.js';
import { installedPackageVersion } from './installed-version.js';

/**
 * Money inside the engine is integer nanocents (1e-9 cent) so that fractional
 * per-token prices add up exactly; the log and the caps use whole cents,
 * rounded up (see {@link nanocentsToCentsCeil}).
 */
export const NANOCENTS_PER_CENT = 1_000_000_000;

/** Prices of one model in USD per million tokens, as providers publish them. */
export interface ModelPriceUsd {
  inputPerMTok: number;
  outputPerMTok: number;
  /** Cache-read input; defaults to the input price. */
  cachedInputPerMTok?: number;
  /** Cache-write input; defaults to the input price. */
  cacheWritePerMTok?: number;
  /** Reasoning output, if billed differently from output; defaults to the output price. */
  reasoningPerMTok?: number;
}

/** Integer nanocents per token for each billed kind of token. */
export interface TokenRates {
  input: number;
  output: number;
  cachedInput: number;
  cacheWrite: number;
  reasoning: number;
}

/** Where prices come from. `basis` names the table so a replay prices the same way. */
export interface PriceTable {
  readonly basis: string;
  /** Rates for a model at a given input size (long-context tiers), or null when unknown. */
  rates(provider: string, model: string, inputTokens: number): TokenRates | null;
}

/** Token counts billed for a call. `inputTokens` includes cached and cache-write tokens. */
export interface UsageTokens {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
  cacheWriteTokens?: number;
  /** Part of `outputTokens` (never added on top). */
  reasoningTokens?: number;
}

/** Nanocents per token for a USD-per-million price: $1/Mtok = 100 cents/1e6 tok = 1e5 nanocents/tok. */
export function usdPerMTokToRate(usdPerMTok: number): number {
  return Math.round(usdPerMTok * 100_000);
}

/** Whole cents for nanocents, rounded up: a fraction of a cent is charged as a cent. */
export function nanocentsToCentsCeil(nanocents: number): number {
  return Math.ceil(nanocents / NANOCENTS_PER_CENT);
}

/** Rates of a {@link ModelPriceUsd}. */
export function ratesFromUsd(price: ModelPriceUsd): TokenRates {
  const input = usdPerMTokToRate(price.inputPerMTok);
  const output = usdPerMTokToRate(price.outputPerMTok);
  return {
    input,
    output,
    cachedInput: price.cachedInputPerMTok === undefined ? input : usdPerMTokToRate(price.cachedInputPerMTok),
    cacheWrite: price.cacheWritePerMTok === undefined ? input : usdPerMTokToRate(price.cacheWritePerMTok),
    reasoning: price.reasoningPerMTok === undefined ? output : usdPerMTokToRate(price.reasoningPerMTok),
  };
}

/**
 * Worst-case cost of a call before it is made: every input token at the full
 * input rate and every allowed output token at the output rate.
 */
export function projectNanocents(rates: TokenRates, estimatedInputTokens: number, maxOutputTokens: number): number {
  return estimatedInputTokens * rates.input + maxOutputTokens * Math.max(rates.output, rates.reasoning);
}

/**
 * Cost of a call from the provider's reported usage. Cached and cache-write
 * tokens are billed at their own rates and not again at the input rate;
 * reasoning tokens are part of the output and billed once.
 */
export function usageNanocents(rates: TokenRates, usage: UsageTokens): number {
  const cached = usage.cachedInputTokens ?? 0;
  const written = usage.cacheWriteTokens ?? 0;
  const reasoning = Math.min(usage.reasoningTokens ?? 0, usage.outputTokens);
  const uncached = Math.max(0, usage.inputTokens - cached - written);
  return (
    uncached * rates.input +
    cached * rates.cachedInput +
    written * rates.cacheWrite +
    (usage.outputTokens - reasoning) * rates.output +
    reasoning * rates.reasoning
  );
}

/** Provider names of this package → provider ids of `@pydantic/genai-prices`. */
const GENAI_PRICES_PROVIDER: Record<string, string> = { openai: 'openai', anthropic: 'anthropic', bedrock: 'aws' };

type Tiered = { base: number; tiers: { start: number; price: number }[] };
type GenaiPrice = Record<string, number | Tiered | undefined>;

/** A price field at an input size: the last tier whose start the input reaches, or the base; `fallback` when the model has no such field. */
function tierPrice(price: GenaiPrice, field: string, inputTokens: number, fallback?: number): number | undefined {
  const v = price[field];
  if (v === undefined) return fallback;
  if (typeof v === 'number') return v;
  let chosen = v.base;
  for (const tier of v.tiers) if (inputTokens >= tier.start) chosen = tier.price;
  return chosen;
}

/**
 * The price table of `@pydantic/genai-prices` (MIT, maintained by Pydantic),
 * read from the data bundled in the installed package; it never fetches prices
 * over the network. Long-context tiers apply by the call's input size.
 *
 * The providers `openai`, `anthropic` and `bedrock` are priced from this
 * package's copy of the library's data for them (`genai-prices-data.ts`,
 * written from the library at build time and held to it by a differential
 * test) when the installed library is the version it was taken from: the
 * same prices, without loading the library's ~480 KB bundle on the first
 * call's path. Any other provider, or another installed version, is priced by
 * the library itself.
 */
export class GenaiPricesTable implements PriceTable {
  readonly basis: string;
  readonly #cache = new Map<string, GenaiPrice | null>();
  /** Whether the package's copy of the data is the installed library's. */
  readonly #data: boolean;

  constructor() {
    const version = genaiPricesVersion();
    this.basis = `@pydantic/genai-prices@${version}`;
    this.#data = version === GENAI_PRICES_DATA_VERSION;
    if (!this.#data) warmGenaiPrices();
  }

  rates(provider: string, model: string, inputTokens: number): TokenRates | null {
    const key = `${provider}\u0000${model}`;
    let price = this.#cache.get(key);
    if (price === undefined) {
      const providerId = GENAI_PRICES_PROVIDER[provider] ?? provider;
      const fromData = this.#data ? dataModelPrice(providerId, model, new Date()) : ASK_LIBRARY;
      if (fromData !== ASK_LIBRARY) price = fromData as GenaiPrice | null;
      else {
        const result = genaiPrices().calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { providerId });
        price = result ? (result.model_price as GenaiPrice) : null;
      }
      this.#cache.set(key, price);
    }
    if (!price) return null;
    const input = tierPrice(price, 'input_mtok', inputTokens);
    if (input === undefined) return null;
    // A model the table prices by input alone (an embedding model) produces no billed output.
    const output = tierPrice(price, 'output_mtok', inputTokens, 0)!;
    return ratesFromUsd({
      inputPerMTok: input,
      outputPerMTok: output,
      cachedInputPerMTok: tierPrice(price, 'cache_read_mtok', inputTokens, input),
      cacheWritePerMTok: tierPrice(price, 'cache_write_mtok', inputTokens, input),
    });
  }
}

/**
 * Per-customer prices over a base table: `overrides[provider][model]`. The
 * basis names the base and a hash of the overrides.
 */
export class OverridePriceTable implements PriceTable {
  readonly basis: string;
  readonly #base: PriceTable | null;
  readonly #overrides: Map<string, TokenRates>;

  constructor(overrides: Record<string, Record<string, ModelPriceUsd>>, base: PriceTable | null) {
    this.#base = base;
    this.#overrides = new Map();
    for (const [provider, models] of Object.entries(overrides)) {
      for (const [model, price] of Object.entries(models)) {
        for (const [field, v] of Object.entries(price ?? {})) {
          if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
            throw new TypeError(
              `pricing.overrides.${provider}.${model}.${field}: expected a non-negative number of USD per million tokens, got ${JSON.stringify(v)}`,
            );
          }
        }
        // The two required prices: a missing one would price every call at NaN.
        for (const field of ['inputPerMTok', 'outputPerMTok'] as const) {
          if (!price || price[field] === undefined) {
            throw new TypeError(`pricing.overrides.${provider}.${model}.${field}: expected a non-negative number of USD per million tokens, got undefined`);
          }
        }
        this.#overrides.set(`${provider}\u0000${model}`, ratesFromUsd(price));
      }
    }
    const digest = sha256Hex(canonicalJson(overrides)).slice(0, 12);
    this.basis = `${base ? base.basis : 'none'}+overrides:${digest}`;
  }

  rates(provider: string, model: string, inputTokens: number): TokenRates | null {
    return this.#overrides.get(`${provider}\u0000${model}`) ?? this.#base?.rates(provider, model, inputTokens) ?? null;
  }
}

type GenaiPrices = typeof import('@pydantic/genai-prices');
let genaiPricesModule: GenaiPrices | undefined;
let genaiPricesWarmUp: ReturnType<typeof setTimeout> | undefined;

/**
 * The library (a large bundle, ~30 ms of CPU to load) is loaded on first use,
 * not at import. A table that prices with it (the data copy is not the
 * installed version's) schedules the load for just after start-up on a timer
 * that does not keep the process alive (the first decision loads it if it
 * comes first).
 */
function genaiPrices(): GenaiPrices {
  return (genaiPricesModule ??= createRequire(import.meta.url)('@pydantic/genai-prices') as GenaiPrices);
}

function warmGenaiPrices(): void {
  if (genaiPricesModule || genaiPricesWarmUp) return;
  genaiPricesWarmUp = setTimeout(() => {
    genaiPricesWarmUp = undefined;
    genaiPrices();
  }, 0);
  genaiPricesWarmUp.unref?.();
}

let cachedVersion: string | undefined;
function genaiPricesVersion(): string {
  return (cachedVersion ??= installedPackageVersion('@pydantic/genai-prices', import.meta.url) ?? 'unknown');
}
