import { AgentGuardError } from '../audit/errors.js';
import { shownPath } from '../audit/hex.js';
import { readJsonOrYaml } from './config-file.js';
import type { ModelPriceUsd } from './pricing.js';

/** Per-customer prices: `{ provider: { model: ModelPriceUsd } }`, in USD per million tokens. */
export type PriceOverrides = Record<string, Record<string, ModelPriceUsd>>;

/** A price file failed validation; the message names the file, the field and its value. */
export class PriceFileError extends AgentGuardError {
  /** Dotted path of the bad field, e.g. `openai.prod-chat.outputPerMTok`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(`invalid prices: ${field}: ${message}`);
    this.field = field;
  }
}

const REQUIRED = ['inputPerMTok', 'outputPerMTok'] as const;
const OPTIONAL = ['cachedInputPerMTok', 'cacheWritePerMTok', 'reasoningPerMTok'] as const;
const FIELDS: readonly string[] = [...REQUIRED, ...OPTIONAL];

/**
 * Validates price overrides (`{ openai: { 'prod-chat': { inputPerMTok: 2.5, outputPerMTok: 10 } } }`):
 * every price a finite, non-negative number of USD per million tokens, the
 * input and output prices present, no unknown field.
 * @throws PriceFileError naming the first bad field.
 */
export function parsePriceOverrides(value: unknown): PriceOverrides {
  const out: PriceOverrides = {};
  for (const [provider, models] of entriesOf(value, '$')) {
    out[provider] = {};
    for (const [model, price] of entriesOf(models, provider)) {
      const at = `${provider}.${model}`;
      const fields = new Map(entriesOf(price, at));
      for (const field of fields.keys()) if (!FIELDS.includes(field)) throw new PriceFileError(`${at}.${field}`, `unknown field (known: ${FIELDS.join(', ')})`);
      for (const field of REQUIRED) if (!fields.has(field)) throw new PriceFileError(`${at}.${field}`, 'is required');
      for (const [field, v] of fields) {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
          throw new PriceFileError(`${at}.${field}`, `expected a non-negative number of USD per million tokens, got ${JSON.stringify(v) ?? String(v)}`);
      }
      out[provider][model] = Object.fromEntries(fields) as unknown as ModelPriceUsd;
    }
  }
  return out;
}

/**
 * Reads and validates a price file (JSON by `.json`, else YAML), the same
 * shape as `SpendGuardConfig.pricing.overrides`. Errors name the file and field.
 */
export function loadPriceFile(path: string): PriceOverrides {
  const value = readJsonOrYaml(path, 'price file', (message) => new PriceFileError('$', message));
  try {
    return parsePriceOverrides(value);
  } catch (err) {
    if (err instanceof PriceFileError) throw new PriceFileError(err.field, `${err.message.replace(/^invalid prices: [^:]*: /, '')} (in ${shownPath(path)})`);
    throw err;
  }
}

function entriesOf(value: unknown, at: string): [string, unknown][] {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new PriceFileError(at, `expected an object, got ${JSON.stringify(value) ?? String(value)}`);
  return Object.entries(value);
}
