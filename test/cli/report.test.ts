import { afterEach, describe, expect, it } from 'vitest';
import { FileDecisionLogStore } from '../../src/stores.js';
import { buildReport } from '../../src/cli/report.js';
import { generateKeypair, parsePolicies } from '../../src/index.js';
import { guardWith, tempDir } from '../helpers/log.js';

let cleanup = () => {};
afterEach(() => cleanup());

describe('report of a shadow policy inside an enforced decision', () => {
  it('counts a shadow cap that fired under an enforce policy as what enforcement would have done', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const policies = parsePolicies([
      { id: 'enforced', name: 'e', scope: { tenantId: 't' }, mode: 'enforce', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', caps: [] },
      {
        id: 'trial',
        name: 's',
        scope: { tenantId: 't', agentId: 'a' },
        mode: 'shadow',
        version: 1,
        effectiveFrom: '2026-01-01T00:00:00Z',
        caps: [{ amountCents: 2, window: 'per_call', action: 'downgrade', downgradeTo: 'small', reason: 'per-call soft' }],
      },
    ]);
    const store = await FileDecisionLogStore.open({ dir: t.dir });
    const guard = guardWith({ signingKeys: generateKeypair(), logStore: store, policies });
    const r = await guard.decide({ provider: 'openai', model: 'big', scope: { tenantId: 't', agentId: 'a' }, estimatedInputTokens: 1000, maxOutputTokens: 1000 });
    expect(r.decision).toMatchObject({ enforcementMode: 'enforce', action: 'shadow', modelResolved: 'big', projectedCents: 4, projectedCentsIfEnforced: 1, triggeredCap: { action: 'downgrade' } });
    await guard.settle(r, { inputTokens: 1000, outputTokens: 1000 });
    await store.close();
    const report = await buildReport(t.dir);
    expect(report.total).toEqual({ decisions: 1, allowed: 0, downgraded: 0, blocked: 0, shadowed: 1, wouldDowngrade: 1, wouldBlock: 0, savedCents: 0, wouldSaveCents: 3, outcomes: 1, actualCents: 4 });
  });
});
