import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePolicy, SpendGuard, type SpendGuardConfig, type SpendPolicy } from '../../src/index.js';

/** A fresh temp directory, removed by the returned cleanup. */
export function tempDir(prefix = 'agentguard-log-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Known prices: `big` is $10/$30 per Mtok (1000 in + 1000 out = 4 cents),
 * `small` $1/$3 (0.4 cent, charged as 1 cent).
 */
export const PRICES = {
  overrides: {
    openai: {
      big: { inputPerMTok: 10, outputPerMTok: 30 },
      small: { inputPerMTok: 1, outputPerMTok: 3 },
    },
  },
};

/** A policy allowing everything for tenant `t`. */
export function openPolicy(): SpendPolicy {
  return parsePolicy({ id: 'open', name: 'open', scope: { tenantId: 't' }, mode: 'enforce', version: 1, effectiveFrom: '2020-01-01T00:00:00Z', caps: [] });
}

/** A guard with known prices. */
export function guardWith(config: Omit<SpendGuardConfig, 'pricing'>): SpendGuard {
  return new SpendGuard({ ...config, pricing: PRICES });
}

/** One allowed, settled call for tenant `t` (2 entries). */
export async function oneCall(guard: SpendGuard, model = 'big'): Promise<void> {
  const r = await guard.decide({ provider: 'openai', model, scope: { tenantId: 't' }, estimatedInputTokens: 1000, maxOutputTokens: 1000 });
  await guard.settle(r, { inputTokens: 1000, outputTokens: 1000 });
}
