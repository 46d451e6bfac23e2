/**
 * Policy replay over real logs: written by real `SpendGuard`s into a real
 * `FileDecisionLogStore` (two chains, shadow and enforce mode), read back with
 * the exporter's reader, replayed against candidate policies. Every figure is
 * worked out by hand in the comments (prices and sizes: ./helpers.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readDecisionLog } from '../../exporters/file/reader.js';
import { replayDecisions, type ReplayOptions } from '../../src/cli/replay/index.js';
import { tempDir } from '../helpers/log.js';
import { PRICES, SEVEN_CALLS, tenantPolicy, writeLog, type ScriptedCall } from '../helpers/replay.js';

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});
function dir(): string {
  const t = tempDir('agentguard-replay-');
  cleanups.push(t.cleanup);
  return t.dir;
}

async function replayDir(path: string, options: Omit<ReplayOptions, 'pricing'> & Partial<Pick<ReplayOptions, 'pricing'>>) {
  const chains = [];
  for await (const { entries } of readDecisionLog(path)) chains.push(entries);
  return replayDecisions(chains, { pricing: PRICES, ...options });
}

/** Shadow log of SEVEN_CALLS under a 10c daily block cap: every call went through (7 × 7c projected, 7 × 6c actual). */
async function shadowLog(): Promise<string> {
  const d = dir();
  const { actions } = await writeLog(d, tenantPolicy('live', [{ amountCents: 10 }]), SEVEN_CALLS, { modeOverride: 'shadow' });
  // In time order: a1 (→ 6c), then b1 (6 + 7 > 10), a2, b2, a3 would have been blocked; 3 March a4
  // (→ 6c) passes and b3 would have been blocked. Shadow: every call went through unchanged.
  expect(actions).toEqual(['allow', 'shadow', 'shadow', 'shadow', 'shadow', 'allow', 'shadow']);
  return d;
}

describe('replayDecisions on a shadow-mode log', () => {
  it('merges both chains in time order so the daily window fills as it did: a 13c cap blocks a2, b2, a3', async () => {
    // 2 March: a1 10:00 reserves 7 (settles to 6 at 10:01); b1 10:05: 6 + 7 = 13 ≤ 13, settles to 12;
    // a2 10:10, b2 10:15, a3 10:20: 12 + 7 > 13, blocked. 3 March: a4 (6), b3 (6 + 7 = 13) pass.
    // Chain by chain (a's calls first) would have blocked a3, b1, b2 instead.
    const r = await replayDir(await shadowLog(), { policies: [tenantPolicy('cand', [{ amountCents: 13 }])] });
    expect(r.log).toEqual({ chains: 2, entries: 14, decisions: 7, outcomes: 7, skipped: {}, orphanOutcomes: 0, otherCostBasis: {}, unpriced: {} });
    expect(r.warnings).toEqual([]);
    expect(r.total).toEqual({
      calls: 7,
      changed: 3,
      blocked: 0,
      downgraded: 0,
      clamped: 0,
      wouldBlock: 3,
      wouldDowngrade: 0,
      wouldClamp: 0,
      newlyBlocked: 3,
      unblocked: 0,
      projectedCents: 49,
      wouldProjectCents: 28,
      savedProjectedCents: 21,
      actualCents: 42,
      wouldSpendCents: 24,
      savedActualCents: 18,
      projectionOnly: 0,
    });
    expect(Object.keys(r.byScope)).toEqual(['tenantId=t,agentId=a', 'tenantId=t,agentId=b']);
    expect([
      r.byScope['tenantId=t,agentId=a']!.calls,
      r.byScope['tenantId=t,agentId=a']!.wouldBlock,
      r.byScope['tenantId=t,agentId=a']!.savedActualCents,
    ]).toEqual([4, 2, 12]);
    expect([
      r.byScope['tenantId=t,agentId=b']!.calls,
      r.byScope['tenantId=t,agentId=b']!.wouldBlock,
      r.byScope['tenantId=t,agentId=b']!.savedActualCents,
    ]).toEqual([3, 1, 6]);
    expect(Object.keys(r.byDay)).toEqual(['2026-03-02', '2026-03-03']);
    expect([r.byDay['2026-03-02']!.calls, r.byDay['2026-03-02']!.wouldBlock, r.byDay['2026-03-02']!.savedProjectedCents]).toEqual([5, 3, 21]);
    expect([r.byDay['2026-03-03']!.calls, r.byDay['2026-03-03']!.changed, r.byDay['2026-03-03']!.savedProjectedCents]).toEqual([2, 0, 0]);
    expect(Object.keys(r.byPolicy)).toEqual(['cand']);
    expect(r.candidate.policies).toEqual([{ id: 'cand', version: 1, mode: 'enforce' }]);
  });

  it('clamps max output tokens and cuts the recorded output to the clamped bound when pricing it', async () => {
    // 16c cap, clampMaxTokens. a1 → 6, b1 → 12. a2: 12 + 7 > 16; 4c left − 1c input = 3c = 1000
    // output tokens, projected 4c. Its recorded 1500 output tokens become 1000: 1c + 3c = 4c (→ 16).
    // b2, a3: nothing left, blocked. 3 March passes. Projected 7+7+4+7+7 = 32, actual 6+6+4+6+6 = 28.
    const r = await replayDir(await shadowLog(), { policies: [tenantPolicy('cand', [{ amountCents: 16, clampMaxTokens: true }])] });
    expect(r.total).toMatchObject({
      calls: 7,
      changed: 3,
      wouldClamp: 1,
      wouldBlock: 2,
      projectedCents: 49,
      wouldProjectCents: 32,
      actualCents: 42,
      wouldSpendCents: 28,
      savedActualCents: 14,
    });
  });

  it('downgrades: the recorded usage is priced at the target model', async () => {
    // 13c cap, downgrade to small. a2, b2, a3 go to small: 1c projected, 1000/1500 tokens = 0.55c → 1c actual.
    // Projected 4 × 7 + 3 × 1 = 31; actual 4 × 6 + 3 × 1 = 27.
    const r = await replayDir(await shadowLog(), { policies: [tenantPolicy('cand', [{ amountCents: 13, action: 'downgrade', downgradeTo: 'small' }])] });
    expect(r.total).toMatchObject({
      changed: 3,
      wouldDowngrade: 3,
      wouldBlock: 0,
      wouldProjectCents: 31,
      savedProjectedCents: 18,
      wouldSpendCents: 27,
      savedActualCents: 15,
    });
  });

  it('replays a shadow candidate as enforced by default; with enforce: false it changes nothing', async () => {
    const log = await shadowLog();
    const shadowCandidate = tenantPolicy('cand', [{ amountCents: 13 }], 'shadow');
    expect((await replayDir(log, { policies: [shadowCandidate] })).total.wouldBlock).toBe(3);
    const asWritten = await replayDir(log, { policies: [shadowCandidate], enforce: false });
    expect(asWritten.total).toMatchObject({ calls: 7, changed: 0, wouldBlock: 0, savedActualCents: 0 });
    expect(asWritten.candidate.policies[0]!.mode).toBe('shadow');
  });
});

describe('replayDecisions on an enforce-mode log', () => {
  const CALLS: ScriptedCall[] = [
    { chain: 'a', at: '2026-03-02T10:00:00.000Z' },
    { chain: 'a', at: '2026-03-02T10:10:00.000Z' },
    { chain: 'a', at: '2026-03-02T10:20:00.000Z' },
  ];

  async function enforceLog(): Promise<string> {
    const d = dir();
    // 10c daily block: call 1 reserves 7 and settles to 6; calls 2 and 3 (6 + 7 > 10) are blocked.
    const { actions } = await writeLog(d, tenantPolicy('live', [{ amountCents: 10 }]), CALLS);
    expect(actions).toEqual(['allow', 'block', 'block']);
    return d;
  }

  it('re-deciding with the policy the log was written under changes nothing', async () => {
    const r = await replayDir(await enforceLog(), { policies: [tenantPolicy('live', [{ amountCents: 10 }])] });
    expect(r.total).toMatchObject({
      calls: 3,
      changed: 0,
      blocked: 2,
      wouldBlock: 2,
      projectedCents: 7,
      wouldProjectCents: 7,
      actualCents: 6,
      wouldSpendCents: 6,
      projectionOnly: 0,
    });
  });

  it('replays calls that were blocked with their projection only, since they never ran', async () => {
    // 16c cap with clamp. Call 1: 7, settles to 6. Call 2 (blocked live): 6 + 7 = 13, charged its
    // worst case 7c at once (→ 13). Call 3: 3c left − 1c input = 2c = 666 output tokens,
    // 1c + 1.998c → 3c, charged at once (→ 16). Projected and actual: 7 → 17 and 6 → 16.
    const r = await replayDir(await enforceLog(), { policies: [tenantPolicy('cand', [{ amountCents: 16, clampMaxTokens: true }])] });
    expect(r.total).toEqual({
      calls: 3,
      changed: 2,
      blocked: 2,
      downgraded: 0,
      clamped: 0,
      wouldBlock: 0,
      wouldDowngrade: 0,
      wouldClamp: 1,
      newlyBlocked: 0,
      unblocked: 2,
      projectedCents: 7,
      wouldProjectCents: 17,
      savedProjectedCents: -10,
      actualCents: 6,
      wouldSpendCents: 16,
      savedActualCents: -10,
      projectionOnly: 2,
    });
    expect(r.warnings).toEqual(['2 calls had no recorded usage and are counted at their projection']);
  });

  it('a call that enforcement downgraded is priced at the requested model when the candidate does not downgrade', async () => {
    const d = dir();
    // Enforced 13c downgrade cap: a2, b2, a3 ran on small (1c projected, 1c actual each).
    const { actions } = await writeLog(d, tenantPolicy('live', [{ amountCents: 13, action: 'downgrade', downgradeTo: 'small' }]), SEVEN_CALLS);
    expect(actions).toEqual(['allow', 'allow', 'downgrade', 'downgrade', 'downgrade', 'allow', 'allow']);
    // No caps: all seven on big. Projected 4 × 7 + 3 × 1 = 31 → 49; actual 4 × 6 + 3 × 1 = 27 → 42.
    const r = await replayDir(d, { policies: [tenantPolicy('open', [])] });
    expect(r.total).toMatchObject({
      calls: 7,
      changed: 3,
      downgraded: 3,
      wouldDowngrade: 0,
      projectedCents: 31,
      wouldProjectCents: 49,
      savedProjectedCents: -18,
      actualCents: 27,
      wouldSpendCents: 42,
      savedActualCents: -15,
    });
  });

  it('a call whose outcome is missing keeps its hold until the reservation TTL, as it did live', async () => {
    const d = dir();
    // Call 1 never reports back; live, its 7c hold blocked call 2 (7 + 7 > 10) and was given back
    // after 15 minutes, so call 3 at 10:20 passed.
    const calls: ScriptedCall[] = [{ ...CALLS[0]!, noOutcome: true }, CALLS[1]!, CALLS[2]!];
    const { actions } = await writeLog(d, tenantPolicy('live', [{ amountCents: 10 }]), calls);
    expect(actions).toEqual(['allow', 'block', 'allow']);
    const r = await replayDir(d, { policies: [tenantPolicy('live', [{ amountCents: 10 }])] });
    expect(r.total).toMatchObject({ calls: 3, changed: 0, blocked: 1, wouldBlock: 1, projectionOnly: 1, actualCents: 7 + 6, wouldSpendCents: 7 + 6 });
  });
});

describe('replayDecisions input handling', () => {
  const decision = (fields: Record<string, unknown>) => ({
    decision: {
      entryType: 'decision',
      decisionId: 'd1',
      timestamp: '2026-03-02T10:00:00.000Z',
      action: 'allow',
      enforcementMode: 'enforce',
      provider: 'openai',
      modelRequested: 'big',
      modelResolved: 'big',
      projectedCents: 7,
      policyId: 'x',
      costBasis: 'someone-elses-table',
      actor: { tenantId: 't' },
      estimatedInputTokens: 1000,
      estimatedOutputTokens: 2000,
      ...fields,
    },
  });
  const outcome = (original: string) => ({
    decision: {
      entryType: 'outcome',
      decisionId: `o-${original}`,
      originalDecisionId: original,
      timestamp: '2026-03-02T10:01:00.000Z',
      actualCents: 6,
      actualInputTokens: 1000,
      actualOutputTokens: 1500,
    },
  });

  it('names what it skipped and why, and warns about another price table', async () => {
    const r = await replayDecisions(
      [
        [
          decision({ decisionId: 'no-est', estimatedInputTokens: undefined }),
          outcome('no-est'),
          decision({ decisionId: 'ok' }),
          outcome('ok'),
          outcome('unknown'),
        ],
      ],
      { policies: [tenantPolicy('cand', [])], pricing: PRICES },
    );
    expect(r.log).toMatchObject({
      decisions: 2,
      outcomes: 3,
      skipped: { 'no estimatedInputTokens': 1 },
      orphanOutcomes: 1,
      otherCostBasis: { 'someone-elses-table': 1 },
    });
    expect(r.total).toMatchObject({ calls: 1, changed: 0, actualCents: 6, wouldSpendCents: 6 });
    expect(r.warnings).toEqual([
      `1 decision was priced with someone-elses-table; the replay prices with ${r.candidate.costBasis}, so cents may differ`,
      '1 decision could not be replayed: 1 no estimatedInputTokens',
      '1 outcome without their decision in the log were ignored',
    ]);
  });

  it('settles an outcome without a valid timestamp at its decision’s time', async () => {
    const o = outcome('ok');
    (o.decision as Record<string, unknown>).timestamp = 'not a time';
    const r = await replayDecisions([[decision({ decisionId: 'ok' }), o]], { policies: [tenantPolicy('cand', [])], pricing: PRICES });
    expect(r.total).toMatchObject({ calls: 1, actualCents: 6, wouldSpendCents: 6, projectionOnly: 0 });
  });

  it('warns when a candidate policy starts after the first recorded call', async () => {
    const late = { ...tenantPolicy('late', []), effectiveFrom: '2026-03-02T12:00:00Z' };
    const r = await replayDecisions([[decision({})]], { policies: [late], pricing: PRICES });
    expect(r.warnings).toContain('policy late is effective from 2026-03-02T12:00:00Z, after the first recorded call: earlier calls are not subject to it');
  });

  it('refuses to run without candidate policies', async () => {
    await expect(replayDecisions([], { policies: [] })).rejects.toThrow(/options\.policies must be a non-empty list/);
  });
});

describe('replay by cap', () => {
  it('groups calls by the candidate cap that decided, showing its model set', async () => {
    // The shadow log's calls to `big` (7c each); the candidate sends big calls over 5c a day to `small`.
    const r = await replayDir(await shadowLog(), {
      policies: [tenantPolicy('cand', [{ amountCents: 5, action: 'downgrade', downgradeTo: 'small', models: ['big'] }])],
    });
    expect(Object.keys(r.byCap)).toEqual(['cand: downgrade per_day 5c → small [models big]']);
    expect(r.byCap['cand: downgrade per_day 5c → small [models big]']).toMatchObject({ calls: 7, wouldDowngrade: 7 });
  });

  it('replays a call that sent no output bound as one, so the candidate sets its own default', async () => {
    const { recordedCall, recordedFate } = await import('../../src/cli/replay/recorded.js');
    const d = {
      entryType: 'decision',
      provider: 'openai',
      modelRequested: 'big',
      modelResolved: 'big',
      actor: { tenantId: 't' },
      enforcementMode: 'enforce',
      action: 'allow',
      projectedCents: 7,
      estimatedInputTokens: 1000,
      estimatedOutputTokens: 2000,
      requestedMaxOutputTokens: 16_384,
      outputBoundSetByGuard: true,
    } as const;
    const call = recordedCall(d as never);
    expect(call).toMatchObject({ maxOutputTokens: 16_384, outputBoundSent: false });
    expect(recordedFate(d as never, call as never)).toMatchObject({ maxOutputTokens: 2000, clamped: true, blocked: false });
  });
});
