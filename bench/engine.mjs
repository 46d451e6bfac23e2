// (2) Engine: decide + settle (two signed entries) with the in-memory stores,
// against 2 × (JCS + SHA-256 + sign) measured in the same run.
import { generateKeypair, InMemoryDecisionLogStore, parsePolicy, SpendGuard } from '../dist/index.js';
import { floorResults } from './floor.mjs';
import { measure, report, round } from './lib.mjs';

/** The engine benchmark's guard: two window caps (day, month) that never fire. */
export function benchGuardConfig(signingKeys) {
  return {
    signingKeys,
    policy: parsePolicy({
      id: 'tenant-daily',
      name: 'Tenant daily',
      scope: { tenantId: 'acme' },
      mode: 'enforce',
      version: 1,
      effectiveFrom: '2026-01-01T00:00:00Z',
      caps: [
        { amountCents: 1e12, window: 'per_day', action: 'block', reason: 'daily' },
        { amountCents: 1e12, window: 'per_month', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'monthly', selector: ['tenantId', 'agentId'] },
      ],
    }),
  };
}

export async function engineResults(iterations = 20000) {
  const floor = floorResults(iterations);
  const entryUs = floor.find((r) => r.name.startsWith('entry:')).meanUs;
  const guard = new SpendGuard({ ...benchGuardConfig(generateKeypair()), logStore: new InMemoryDecisionLogStore(), metrics: false });
  const request = { provider: 'openai', model: 'gpt-4o', scope: { tenantId: 'acme', agentId: 'agent-7' }, estimatedInputTokens: 1000, maxOutputTokens: 500 };
  const usage = { inputTokens: 900, outputTokens: 300, cachedInputTokens: 100 };
  const r = await measure(
    'decide + settle (2 signed entries, in-memory)',
    async () => {
      const d = await guard.decide(request);
      await guard.settle(d, usage);
    },
    { iterations },
  );
  const floorPair = 2 * entryUs;
  return {
    results: [...floor, r],
    ratioToFloor: round(r.meanUs / floorPair),
    signedEntriesPerSec: r.opsPerSec * 2,
    targets: { ratioToFloor: 1.4, signedEntriesPerSec: 16000 },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { results, ...summary } = await engineResults();
  report('engine', results, summary);
}
