import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileDecisionLogStore } from '../../src/stores.js';
import { generateKeypair, InMemorySpendStore, parsePolicy, SpendGuard, type SpendCap, type SpendPolicy } from '../../src/index.js';
import { PRICES } from './log.js';

export { PRICES };

/**
 * Prices (test/helpers/log.ts): `big` $10/$30 per Mtok = 0.001c per input
 * token, 0.003c per output token; `small` $1/$3 = a tenth of that.
 *
 * Every call: 1000 input tokens estimated, max 2000 output → 1c + 6c = 7c
 * projected at big, 0.7c → 1c at small. Reported usage 1000 in, 1500 out →
 * 1c + 4.5c = 5.5c → 6c at big, 0.55c → 1c at small.
 */
export const ESTIMATE = { estimatedInputTokens: 1000, maxOutputTokens: 2000 };
export const USAGE = { inputTokens: 1000, outputTokens: 1500 };

/** A policy for tenant `t` with the given caps. */
export function tenantPolicy(id: string, caps: Partial<SpendCap>[], mode: 'enforce' | 'shadow' = 'enforce'): SpendPolicy {
  return parsePolicy({
    id,
    name: id,
    scope: { tenantId: 't' },
    mode,
    version: 1,
    effectiveFrom: '2026-01-01T00:00:00Z',
    caps: caps.map((c) => ({ reason: `${id} budget`, action: 'block', window: 'per_day', ...c })),
  });
}

/** A call at `at` (ISO) on one chain, settled `settleAfterMs` later when it is not blocked. */
export interface ScriptedCall {
  chain: 'a' | 'b';
  at: string;
  settleAfterMs?: number;
  /** The call never reports back (crash): no outcome entry. */
  noOutcome?: boolean;
}

/**
 * Writes a real decision log: one `SpendGuard` + `FileDecisionLogStore` per
 * chain (chain id = agent id), sharing one spend store and a clock set to each
 * scripted time, as two agents of one tenant would. Returns what the guards decided.
 */
export async function writeLog(dir: string, policy: SpendPolicy, calls: ScriptedCall[], options: { modeOverride?: 'shadow' } = {}) {
  let now = 0;
  const spendStore = new InMemorySpendStore();
  const keys = generateKeypair();
  const stores = new Map<string, FileDecisionLogStore>();
  const guards = new Map<string, SpendGuard>();
  for (const chain of ['a', 'b']) {
    const store = await FileDecisionLogStore.open({ dir, chainId: chain });
    stores.set(chain, store);
    guards.set(
      chain,
      new SpendGuard({ policy, signingKeys: keys, logStore: store, spendStore, pricing: PRICES, clock: () => now, metrics: false, ...options }),
    );
  }
  const actions: string[] = [];
  // Decisions and settlements interleaved in time order, as they happened.
  type Step = { ms: number; run: () => Promise<void> };
  const steps: Step[] = calls.map((c) => ({
    ms: Date.parse(c.at),
    run: async () => {
      const guard = guards.get(c.chain)!;
      const r = await guard.decide({ provider: 'openai', model: 'big', scope: { tenantId: 't', agentId: c.chain }, ...ESTIMATE });
      actions.push(r.action);
      if (r.action !== 'block' && !c.noOutcome)
        queue.push({ ms: Date.parse(c.at) + (c.settleAfterMs ?? 60_000), run: () => guard.settle(r, USAGE).then(() => undefined) });
    },
  }));
  const queue: Step[] = [...steps];
  while (queue.length > 0) {
    // Earliest first; on equal times, the one queued first.
    let k = 0;
    for (let j = 1; j < queue.length; j++) if (queue[j]!.ms < queue[k]!.ms) k = j;
    const [next] = queue.splice(k, 1);
    now = next!.ms;
    await next!.run();
  }
  for (const s of stores.values()) await s.close();
  return { actions, keys };
}

/**
 * Seven calls over two UTC days: agent a at 10:00, 10:10, 10:20 and agent b at
 * 10:05, 10:15 on 2 March, then a at 09:00 and b at 09:30 on 3 March.
 */
export const SEVEN_CALLS: ScriptedCall[] = [
  { chain: 'a', at: '2026-03-02T10:00:00.000Z' },
  { chain: 'a', at: '2026-03-02T10:10:00.000Z' },
  { chain: 'a', at: '2026-03-02T10:20:00.000Z' },
  { chain: 'a', at: '2026-03-03T09:00:00.000Z' },
  { chain: 'b', at: '2026-03-02T10:05:00.000Z' },
  { chain: 'b', at: '2026-03-02T10:15:00.000Z' },
  { chain: 'b', at: '2026-03-03T09:30:00.000Z' },
];

/** Writes `value` as JSON to `dir/name` and returns the path. */
export function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value, null, 2));
  return path;
}
