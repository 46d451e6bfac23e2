import { AgentGuardError } from '../audit/errors.js';
import { GenaiPricesTable, OverridePriceTable, type ModelPriceUsd, type PriceTable, type TokenRates } from './pricing.js';

/** Price configuration: a table, per-model overrides over it, or both. */
export interface PricingConfig {
  table?: PriceTable;
  overrides?: Record<string, Record<string, ModelPriceUsd>>;
}

/** The price table a guard prices with: the given one, or the bundled table with any overrides over it. */
export function resolvePricing(pricing: PriceTable | PricingConfig | undefined): PriceTable {
  if (pricing && 'rates' in pricing && typeof pricing.rates === 'function') return pricing as PriceTable;
  const cfg = (pricing ?? {}) as PricingConfig;
  const base = cfg.table ?? new GenaiPricesTable();
  return cfg.overrides ? new OverridePriceTable(cfg.overrides, base) : base;
}

/**
 * The table's rates, checked: a NaN or negative rate would reserve NaN cents,
 * which passes every cap comparison and poisons the window's counter.
 */
export function checkedRates(table: PriceTable, provider: string, model: string, inputTokens: number): TokenRates | null {
  const rates = table.rates(provider, model, inputTokens);
  if (!rates) return null;
  for (const field of ['input', 'output', 'cachedInput', 'cacheWrite', 'reasoning'] as const) {
    const v = rates[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new AgentGuardError(`price table ${table.basis}: rates for ${provider}/${model}: ${field} is ${String(v)}, expected a non-negative integer of nanocents per token`);
    }
  }
  return rates;
}
