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

describe('report by cap', () => {
  it('names the cap that decided, with its model set; outcomes are not counted there', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const policies = parsePolicies([
      {
        id: 'budget',
        name: 'b',
        scope: { tenantId: 't' },
        mode: 'enforce',
        version: 1,
        effectiveFrom: '2026-01-01T00:00:00Z',
        caps: [{ amountCents: 2, window: 'per_call', action: 'downgrade', downgradeTo: 'small', models: ['big*'], reason: 'big calls over 2c go small' }],
      },
    ]);
    const store = await FileDecisionLogStore.open({ dir: t.dir });
    const guard = guardWith({ signingKeys: generateKeypair(), logStore: store, policies });
    const call = { provider: 'openai', scope: { tenantId: 't' }, estimatedInputTokens: 1000, maxOutputTokens: 1000 };
    const down = await guard.decide({ ...call, model: 'big' });
    expect(down.action).toBe('downgrade');
    await guard.settle(down, { inputTokens: 1000, outputTokens: 1000 });
    expect((await guard.decide({ ...call, model: 'small' })).action).toBe('allow');
    await store.close();
    const report = await buildReport(t.dir);
    expect(Object.keys(report.byCap)).toEqual(['(no cap)', 'budget: downgrade per_call 2c → small [models big*]']);
    expect(report.byCap['budget: downgrade per_call 2c → small [models big*]']).toMatchObject({ decisions: 1, downgraded: 1, savedCents: 3, outcomes: 0 });
    expect(report.byCap['(no cap)']).toMatchObject({ decisions: 1, allowed: 1, outcomes: 0 });
  });
});
