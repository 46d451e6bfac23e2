import { AgentGuardError } from '../audit/errors.js';
import type { SpendPolicy } from './policy.js';
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
      throw new AgentGuardError(
        `price table ${table.basis}: rates for ${provider}/${model}: ${field} is ${String(v)}, expected a non-negative integer of nanocents per token`,
      );
    }
  }
  return rates;
}

/** Providers a downgrade target is looked up for when a policy's scope names none. */
export const BUILT_IN_PROVIDERS: readonly string[] = ['openai', 'anthropic', 'bedrock'];

/**
 * Throws an {@link AgentGuardError} naming the policy, the cap and the model
 * when a cap's `downgradeTo` has no price: for the provider the policy's scope
 * names, else for every built-in provider. Such a downgrade could only block
 * (or, unpriced, let spend through uncounted), so it is refused when the guard
 * is built or policies are replaced, unless the guard allows unknown models.
 */
export function checkDowngradeTargets(policies: readonly SpendPolicy[], table: PriceTable): void {
  for (const policy of policies) {
    policy.caps.forEach((cap, i) => {
      const target = cap.downgradeTo;
      if (!target) return;
      const providers = policy.scope.provider ? [policy.scope.provider] : BUILT_IN_PROVIDERS;
      if (providers.some((provider) => pricedOrBroken(table, provider, target))) return;
      const where = providers.length === 1 ? `provider ${providers[0]}` : `any of the providers ${providers.join(', ')}`;
      throw new AgentGuardError(
        `policy ${policy.id}: caps[${i}] (${cap.window}, ${cap.amountCents}c${cap.reason ? `, ${JSON.stringify(cap.reason)}` : ''}) downgrades to ${JSON.stringify(target)}, which has no price for ${where} in ${table.basis}; ` +
          `add pricing.overrides for it, or set onUnknownModel: 'allow'`,
      );
    });
  }
}

/** Whether the table knows the model (a table that throws for it counts as knowing: `checkedRates` reports that at decision time). */
function pricedOrBroken(table: PriceTable, provider: string, model: string): boolean {
  try {
    return table.rates(provider, model, 0) !== null;
  } catch {
    return true;
  }
}
