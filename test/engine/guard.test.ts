import { describe, expect, it } from 'vitest';
import {
  AgentGuardBlockedError,
  AgentGuardError,
  generateKeypair,
  InMemoryDecisionLogStore,
  InMemorySpendStore,
  SpendGuard,
  type DecisionLogEntry,
  type SpendDecision,
  type SpendWindow,
} from '../../src/index.js';
import { verifyChain } from '../../src/audit.js';
import { windowAt } from '../../src/engine/windows.js';
import type { DecisionLogStore, ReserveRequest } from '../../src/stores.js';
import { call, KEYS, makeGuard, policy, T0, TestClock } from '../helpers/engine.js';

// gpt-4o: $2.50 / $10 per Mtok → 1000 output tokens = 1 cent exactly.
// gpt-4o-mini: $0.15 / $0.60 per Mtok → 10 000 output tokens = 0.6 cent → 1 cent charged.
const out = (cents: number) => ({ maxOutputTokens: cents * 1000 });

/** A spend store that counts what it is asked to do. */
class SpyStore extends InMemorySpendStore {
  reserves: ReserveRequest[] = [];
  override async reserve(req: ReserveRequest) {
    this.reserves.push(structuredClone(req));
    return super.reserve(req);
  }
}

/** Counter key as the guard writes it (and as `triggeredScopeKey` shows it). */
const counterKey = (policyId: string, capId: string, scope: string, window: Exclude<SpendWindow, 'per_call'>, nowMs: number) =>
  `${policyId}:${capId}|${scope}|${window}@${windowAt(window, nowMs).label}`;

describe('windows (UTC calendar windows)', () => {
  it('windowAt: start, end and label of each window', () => {
    const t = Date.parse('2026-12-31T23:59:59.999Z');
    expect(windowAt('per_minute', t)).toEqual({
      startMs: Date.parse('2026-12-31T23:59:00Z'),
      endMs: Date.parse('2027-01-01T00:00:00Z'),
      label: '2026-12-31T23:59',
    });
    expect(windowAt('per_hour', t)).toEqual({
      startMs: Date.parse('2026-12-31T23:00:00Z'),
      endMs: Date.parse('2027-01-01T00:00:00Z'),
      label: '2026-12-31T23:00',
    });
    expect(windowAt('per_day', t)).toEqual({ startMs: Date.parse('2026-12-31T00:00:00Z'), endMs: Date.parse('2027-01-01T00:00:00Z'), label: '2026-12-31' });
    expect(windowAt('per_month', t)).toEqual({ startMs: Date.parse('2026-12-01T00:00:00Z'), endMs: Date.parse('2027-01-01T00:00:00Z'), label: '2026-12' });
    expect(windowAt('per_month', Date.parse('2028-02-29T12:00:00Z'))).toMatchObject({ endMs: Date.parse('2028-03-01T00:00:00Z'), label: '2028-02' });
    expect(windowAt('per_month', Date.parse('2026-02-28T23:59:59.999Z'))).toMatchObject({ endMs: Date.parse('2026-03-01T00:00:00Z'), label: '2026-02' });
    expect(windowAt('per_day', Date.parse('2026-03-01T00:00:00Z')).label).toBe('2026-03-01');
  });

  it('windowAt is UTC whatever the process time zone', () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'Pacific/Kiritimati'; // UTC+14
      expect(new Date(T0).getDate()).toBe(25); // local date differs from the UTC date...
      expect(windowAt('per_day', T0).label).toBe('2026-05-24'); // ...the window does not
      expect(windowAt('per_hour', T0).label).toBe('2026-05-24T18:00');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  const boundaries: [SpendWindow, string, string][] = [
    ['per_minute', '2026-05-24T18:00:30.000Z', '2026-05-24T18:01:00.000Z'],
    ['per_hour', '2026-05-24T18:10:00.000Z', '2026-05-24T19:00:00.000Z'],
    ['per_day', '2026-05-24T01:00:00.000Z', '2026-05-25T00:00:00.000Z'],
    ['per_month', '2026-02-03T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
    ['per_month', '2026-12-15T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
  ];
  it.each(boundaries)('%s cap resets exactly at the boundary (%s → %s), not a millisecond early', async (window, start, boundary) => {
    const { guard, clock } = makeGuard({ policy: policy({ caps: [{ amountCents: 10, window, action: 'block' }] }) });
    clock.set(start);
    const first = await guard.decide(call(out(10)));
    expect(first.action).toBe('allow');
    // Settled, so the spend stays counted (an unsettled hold would expire after its TTL).
    await guard.settle(first, { inputTokens: 0, outputTokens: 10_000 });
    expect((await guard.decide(call(out(1)))).action).toBe('block');
    clock.nowMs = Date.parse(boundary) - 1;
    const late = await guard.decide(call(out(1)));
    expect(late.action).toBe('block');
    expect(late.decision.windowSpendBefore).toBe(10);
    clock.nowMs = Date.parse(boundary);
    const fresh = await guard.decide(call(out(10)));
    expect(fresh.action).toBe('allow');
    expect(fresh.decision.windowSpendBefore).toBe(0);
    expect(fresh.decision.windowSpendAfter).toBe(10);
  });

  it('per_call bounds one call and keeps no counter', async () => {
    const { guard, spendStore } = makeGuard({
      spendStore: new SpyStore(),
      policy: policy({ caps: [{ amountCents: 10, window: 'per_call', action: 'block' }] }),
    });
    for (let i = 0; i < 5; i++) expect((await guard.decide(call(out(10)))).action).toBe('allow');
    const big = await guard.decide(call(out(11)));
    expect(big.action).toBe('block');
    expect(big.decision.projectedCents).toBe(11);
    expect(big.decision.triggeredCap).toEqual({ amountCents: 10, window: 'per_call', action: 'block', reason: 'test cap' });
    expect((spendStore as SpyStore).reserves).toHaveLength(0);
  });
});

describe('actions', () => {
  it('allow: within every cap, the window is charged and reported', async () => {
    const { guard, spendStore, clock } = makeGuard({ policy: policy({ caps: [{ id: 'day', amountCents: 100, window: 'per_day', action: 'block' }] }) });
    const r = await guard.decide(call({ estimatedInputTokens: 4000, maxOutputTokens: 2000 })); // 1c + 2c
    expect(r.action).toBe('allow');
    expect(r.modelResolved).toBe('gpt-4o');
    expect(r.decision).toMatchObject({
      entryType: 'decision',
      action: 'allow',
      projectedCents: 3,
      windowSpendBefore: 0,
      windowSpendAfter: 3,
      triggeredCap: null,
      triggeredScopeKey: null,
      modelRequested: 'gpt-4o',
      modelResolved: 'gpt-4o',
      policyId: 'p-1',
      policyVersion: 1,
      enforcementMode: 'enforce',
      estimatedInputTokens: 4000,
      estimatedOutputTokens: 2000,
      actor: { tenantId: 'acme' },
      timestamp: '2026-05-24T18:00:00.000Z',
    });
    expect(r.decision.decisionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await spendStore.read([counterKey('p-1', 'day', 'tenantId=acme', 'per_day', clock.nowMs)], clock.nowMs)).toEqual([3]);
    expect(r.entry.decision).toBe(r.decision);
  });

  it('an allow cap that is passed is noted but changes nothing', async () => {
    const { guard } = makeGuard({ policy: policy({ caps: [{ amountCents: 1, window: 'per_day', action: 'allow', reason: 'just noting' }] }) });
    const r = await guard.decide(call(out(5)));
    expect(r.action).toBe('allow');
    expect(r.decision.action).toBe('allow');
    expect(r.decision.reasons.join('\n')).toContain('just noting');
    expect(r.decision.windowSpendAfter).toBe(5);
  });

  it('downgrade: model rewritten, projected cost recomputed at the cheaper model', async () => {
    const { guard } = makeGuard({
      policy: policy({
        caps: [{ id: 'soft', amountCents: 10, window: 'per_day', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'over soft budget' }],
      }),
    });
    expect((await guard.decide(call(out(10)))).action).toBe('allow');
    const r = await guard.decide(call({ estimatedInputTokens: 20_000, maxOutputTokens: 10_000 }));
    // gpt-4o would be 20 000 × $2.50/M + 10 000 × $10/M = 5c + 10c = 15c;
    // gpt-4o-mini is 20 000 × $0.15/M + 10 000 × $0.60/M = 0.3c + 0.6c = 0.9c → 1c.
    expect(r.action).toBe('downgrade');
    expect(r.modelResolved).toBe('gpt-4o-mini');
    expect(r.decision).toMatchObject({
      action: 'downgrade',
      modelRequested: 'gpt-4o',
      modelResolved: 'gpt-4o-mini',
      projectedCents: 1,
      windowSpendBefore: 10,
      windowSpendAfter: 11,
      triggeredCap: { amountCents: 10, window: 'per_day', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'over soft budget' },
    });
    expect(r.decision.triggeredScopeKey).toBe(counterKey('p-1', 'soft', 'tenantId=acme', 'per_day', T0));
    expect(r.decision.reasons[0]).toMatch(/^downgrade to gpt-4o-mini: p-1\/soft per_day cap 10c: over soft budget$/);
    // Settling charges the cheaper model's prices.
    const outcome = await guard.settle(r, { inputTokens: 20_000, outputTokens: 10_000 });
    expect(outcome.decision.actualCents).toBe(1);
  });

  it('block: nothing reserved, AgentGuardBlockedError carries decision, cap and reason', async () => {
    const { guard, spendStore, clock } = makeGuard({
      policy: policy({ caps: [{ id: 'day', amountCents: 10, window: 'per_day', action: 'block', reason: 'daily ceiling' }] }),
    });
    await guard.decide(call(out(8)));
    const r = await guard.decide(call(out(3)));
    expect(r.action).toBe('block');
    expect(r.decision).toMatchObject({ action: 'block', projectedCents: 3, windowSpendBefore: 8, windowSpendAfter: 8 });
    expect(await spendStore.read([counterKey('p-1', 'day', 'tenantId=acme', 'per_day', clock.nowMs)], clock.nowMs)).toEqual([8]);
    expect(spendStore.openReservations).toBe(1);
    expect(guard.pendingCount).toBe(1);
    const err = new AgentGuardBlockedError(r.decision);
    expect(err).toBeInstanceOf(AgentGuardError);
    expect(err.name).toBe('AgentGuardBlockedError');
    expect(err.decision).toBe(r.decision);
    expect(err.cap).toEqual({ amountCents: 10, window: 'per_day', action: 'block', reason: 'daily ceiling' });
    expect(err.reason).toBe('block: p-1/day per_day cap 10c: daily ceiling');
    expect(err.message).toBe('agentguard: call blocked: block: p-1/day per_day cap 10c: daily ceiling');
    // A call that exactly reaches the cap is allowed.
    expect((await guard.decide(call(out(2)))).action).toBe('allow');
  });

  it('a shadow cap passes the call unchanged and records what fired', async () => {
    const { guard } = makeGuard({ policy: policy({ caps: [{ amountCents: 5, window: 'per_hour', action: 'shadow', reason: 'watching' }] }) });
    const r = await guard.decide(call(out(6)));
    expect(r.action).toBe('shadow');
    expect(r.modelResolved).toBe('gpt-4o');
    expect(r.decision).toMatchObject({ action: 'shadow', enforcementMode: 'enforce', windowSpendAfter: 6, triggeredCap: { action: 'shadow', amountCents: 5 } });
    expect(r.decision.reasons.join('\n')).toContain('watching');
  });
});

describe('shadow mode', () => {
  const caps = [
    { id: 'call', amountCents: 5, window: 'per_call' as const, action: 'downgrade' as const, downgradeTo: 'gpt-4o-mini' },
    { id: 'day', amountCents: 20, window: 'per_day' as const, action: 'block' as const },
  ];

  it('policy mode shadow: logs what enforce would have done, the call passes unchanged', async () => {
    const { guard } = makeGuard({ policy: policy({ mode: 'shadow', caps }) });
    const small = await guard.decide(call(out(3)));
    expect(small.action).toBe('allow');
    expect(small.decision).toMatchObject({ action: 'allow', enforcementMode: 'shadow' });

    const down = await guard.decide(call(out(10)));
    expect(down.action).toBe('shadow');
    expect(down.modelResolved).toBe('gpt-4o');
    expect(down.decision).toMatchObject({ action: 'downgrade', enforcementMode: 'shadow', modelResolved: 'gpt-4o', projectedCents: 10, windowSpendAfter: 13 });
    expect(down.decision.triggeredCap).toMatchObject({ action: 'downgrade', downgradeTo: 'gpt-4o-mini' });

    const blocked = await guard.decide(call(out(8)));
    expect(blocked.action).toBe('shadow');
    expect(blocked.modelResolved).toBe('gpt-4o');
    expect(blocked.decision).toMatchObject({ action: 'block', enforcementMode: 'shadow', windowSpendBefore: 13, windowSpendAfter: 21 });
    expect(blocked.decision.reasons.some((r) => r.startsWith('shadow: would block'))).toBe(true);
    // The call went ahead, so it is pending and settles like any other.
    const o = await guard.settle(blocked, { inputTokens: 0, outputTokens: 8000 });
    expect(o.decision.actualCents).toBe(8);
  });

  it('shadow records what enforce would do, on its own (undowngraded) counters', async () => {
    const actions = async (mode: 'enforce' | 'shadow', modeOverride?: 'shadow') => {
      const { guard } = makeGuard({ policy: policy({ mode, caps }), ...(modeOverride ? { modeOverride } : {}) });
      const list: string[] = [];
      for (const c of [3, 10, 6, 1, 13]) list.push((await guard.decide(call(out(c)))).decision.action);
      return list;
    };
    const enforced = await actions('enforce');
    // Enforce: day counter 3, 4 (10c downgraded to 1c), 5 (6c → 1c), 6, 7 (13c → 1c; 6 + 13 ≤ 20 so no block).
    expect(enforced).toEqual(['allow', 'downgrade', 'downgrade', 'allow', 'downgrade']);
    // Shadow does not downgrade, so its counters grow faster: 3, 13, 19, 20, and 33 > 20 → block.
    expect(await actions('shadow')).toEqual(['allow', 'downgrade', 'downgrade', 'allow', 'block']);
    expect(await actions('enforce', 'shadow')).toEqual(await actions('shadow'));
  });

  it('modeOverride shadow turns an enforce policy into shadow', async () => {
    const { guard } = makeGuard({ modeOverride: 'shadow', policy: policy({ caps: [{ amountCents: 1, window: 'per_day', action: 'block' }] }) });
    const r = await guard.decide(call(out(5)));
    expect(r.action).toBe('shadow');
    expect(r.decision).toMatchObject({ action: 'block', enforcementMode: 'shadow', modelResolved: 'gpt-4o' });
  });
});

describe('several caps: the most restrictive wins, every reason is recorded', () => {
  it('block beats downgrade and shadow', async () => {
    const { guard } = makeGuard({
      policy: policy({
        caps: [
          { id: 'watch', amountCents: 1, window: 'per_hour', action: 'shadow', reason: 'R-shadow' },
          { id: 'soft', amountCents: 2, window: 'per_day', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'R-downgrade' },
          { id: 'hard', amountCents: 3, window: 'per_month', action: 'block', reason: 'R-block' },
        ],
      }),
    });
    const r = await guard.decide(call(out(5)));
    expect(r.action).toBe('block');
    expect(r.decision.triggeredCap).toMatchObject({ action: 'block', reason: 'R-block' });
    const text = r.decision.reasons.join('\n');
    expect(text).toContain('R-block');
    expect(text).toContain('R-downgrade');
    expect(text).toContain('R-shadow');
  });

  it('downgrade beats shadow; both reasons recorded', async () => {
    const { guard } = makeGuard({
      policy: policy({
        caps: [
          // 0c: still passed by the downgraded call (1c), which is what the shadow cap sees.
          { id: 'watch', amountCents: 0, window: 'per_hour', action: 'shadow', reason: 'R-shadow' },
          { id: 'soft', amountCents: 2, window: 'per_day', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'R-downgrade' },
        ],
      }),
    });
    const r = await guard.decide(call(out(5)));
    expect(r.action).toBe('downgrade');
    expect(r.decision.triggeredCap).toMatchObject({ action: 'downgrade' });
    expect(r.decision.reasons.join('\n')).toMatch(/R-downgrade[\s\S]*R-shadow/);
  });

  it('shadow beats allow', async () => {
    const { guard } = makeGuard({
      policy: policy({
        caps: [
          { amountCents: 1, window: 'per_day', action: 'allow', reason: 'R-allow' },
          { amountCents: 1, window: 'per_hour', action: 'shadow', reason: 'R-shadow' },
        ],
      }),
    });
    const r = await guard.decide(call(out(5)));
    expect(r.action).toBe('shadow');
    expect(r.decision.reasons.join('\n')).toMatch(/R-allow[\s\S]*R-shadow/);
  });

  it('caps from two policies both apply; a per_call block and a window block both give reasons', async () => {
    const { guard } = makeGuard({
      policies: [
        policy({ id: 'p-call', caps: [{ amountCents: 4, window: 'per_call', action: 'block', reason: 'R-call' }] }),
        policy({ id: 'p-day', caps: [{ amountCents: 4, window: 'per_day', action: 'block', reason: 'R-day' }] }),
      ],
    });
    const r = await guard.decide(call(out(5)));
    expect(r.action).toBe('block');
    const text = r.decision.reasons.join('\n');
    expect(text).toContain('R-call');
    expect(text).toContain('R-day');
  });

  it('a per_call downgrade with a window block: block if the call passes both, else downgrade (and the block cap still binds after)', async () => {
    const { guard, spendStore, clock } = makeGuard({
      policy: policy({
        caps: [
          { amountCents: 5, window: 'per_call', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'R-call' },
          { id: 'day', amountCents: 12, window: 'per_day', action: 'block', reason: 'R-day' },
        ],
      }),
    });
    const both = await guard.decide(call(out(13)));
    expect(both.action).toBe('block');
    expect(both.decision.triggeredCap).toMatchObject({ reason: 'R-day' });
    expect(both.decision.reasons.join('\n')).toMatch(/R-day[\s\S]*R-call/);
    const down = await guard.decide(call(out(10)));
    expect(down.action).toBe('downgrade');
    expect(down.decision.projectedCents).toBe(1);
    const key = counterKey('p-1', 'day', 'tenantId=acme', 'per_day', clock.nowMs);
    expect(await spendStore.read([key], clock.nowMs)).toEqual([1]);
    expect((await guard.decide(call(out(5)))).action).toBe('allow'); // 6
    expect((await guard.decide(call(out(5)))).action).toBe('allow'); // 11
    expect((await guard.decide(call(out(2)))).action).toBe('block'); // 13 > 12
  });
});

describe('attribution and reasons', () => {
  it('policyId/policyVersion name the policy whose cap decided, not merely the first that applied', async () => {
    const { guard } = makeGuard({
      policies: [policy({ id: 'p-first', version: 4 }), policy({ id: 'p-second', version: 9, caps: [{ amountCents: 2, window: 'per_day', action: 'block' }] })],
    });
    const ok = await guard.decide(call(out(1)));
    expect(ok.decision).toMatchObject({ action: 'allow', policyId: 'p-first', policyVersion: 4 });
    const blocked = await guard.decide(call(out(5)));
    expect(blocked.decision).toMatchObject({ action: 'block', policyId: 'p-second', policyVersion: 9 });
  });

  it('a capability block names the policy that requires the capability', async () => {
    const { guard } = makeGuard({ policies: [policy({ id: 'p-open' }), policy({ id: 'p-pay', version: 2, requiredCapability: 'payment_execute' })] });
    expect((await guard.decide(call(out(1)))).decision).toMatchObject({ action: 'block', policyId: 'p-pay', policyVersion: 2 });
  });

  it('a shadow cap that decides the action is attributed to its policy', async () => {
    const { guard } = makeGuard({
      policies: [policy({ id: 'p-enf' }), policy({ id: 'p-watch', mode: 'shadow', caps: [{ amountCents: 1, window: 'per_day', action: 'block' }] })],
    });
    const r = await guard.decide(call(out(5)));
    expect(r.action).toBe('shadow');
    expect(r.decision).toMatchObject({ action: 'shadow', enforcementMode: 'enforce', policyId: 'p-watch' });
  });

  it('when a downgrade is tried and then blocked, the blocking reason comes first (it is what the error shows)', async () => {
    // A misconfigured downgrade to a dearer model: o1 is $60/M output, so 10k tokens cost 60c.
    const { guard } = makeGuard({
      policy: policy({
        caps: [
          { amountCents: 5, window: 'per_call', action: 'downgrade', downgradeTo: 'o1', reason: 'R-call' },
          { amountCents: 30, window: 'per_day', action: 'block', reason: 'R-day' },
        ],
      }),
    });
    const r = await guard.decide(call(out(10)));
    expect(r.action).toBe('block');
    expect(r.decision.triggeredCap).toMatchObject({ reason: 'R-day' });
    expect(new AgentGuardBlockedError(r.decision).reason).toMatch(/R-day$/);
    expect(r.decision.reasons.join('\n')).toContain('R-call');
  });
});

describe('bad input never leaks a reservation', () => {
  const capped = () => makeGuard({ policy: policy({ caps: [{ id: 'day', amountCents: 100, window: 'per_day', action: 'block' }] }) });
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['a lone surrogate in scope.agentId', { scope: { tenantId: 'acme', agentId: 'bot-\ud83d' } }, /^CallRequest\.scope\.agentId: /],
    ['a number as scope.teamId', { scope: { tenantId: 'acme', teamId: 42 } }, /^CallRequest\.scope\.teamId: expected a non-empty string, got 42/],
    ['a lone surrogate in the model', { model: 'gpt-4o\udc00' }, /^CallRequest\.model: /],
    [
      'a 2 MB scope value',
      { scope: { tenantId: 'acme', agentId: 'x'.repeat(2_000_000) } },
      /^CallRequest\.scope\.agentId: 2000000 bytes of UTF-8, more than the 256 allowed \("x{37}\.\.\."\)$/,
    ],
    ['a model name over 256 bytes', { model: 'é'.repeat(129) }, /^CallRequest\.model: 258 bytes of UTF-8, more than the 256 allowed/],
    ['a non-string traceId', { traceId: 123 }, /^CallRequest\.traceId: expected a string, got 123/],
    ['an object spanId', { spanId: { id: 1 } }, /^CallRequest\.spanId: expected a string/],
  ];
  it.each(bad)('%s is rejected before anything is reserved', async (_what, fields, message) => {
    const { guard, spendStore } = capped();
    await expect(guard.decide({ ...call(out(10)), ...fields } as never)).rejects.toThrow(message);
    expect(spendStore.openReservations).toBe(0);
    expect(guard.pendingCount).toBe(0);
  });

  it('a decision that cannot be signed gives its reservation back', async () => {
    // A policy built without parsePolicy (setPolicies trusts its input) whose id cannot be canonicalized.
    const { guard, spendStore, logStore } = capped();
    guard.setPolicies([{ ...policy({ caps: [{ id: 'day', amountCents: 100, window: 'per_day', action: 'block' }] }), id: 'p-\ud800' }]);
    await expect(guard.decide(call(out(10)))).rejects.toThrow(/lone surrogate/);
    expect(spendStore.openReservations).toBe(0);
    expect(guard.pendingCount).toBe(0);
    expect(logStore.entries()).toHaveLength(0);
    guard.setPolicies([policy()]);
    expect((await guard.decide(call(out(1)))).entry.sequence).toBe(0);
  });

  it('parsePolicy rejects lone surrogates in policy strings, naming the field', async () => {
    expect(() => policy({ name: 'n\udc00' })).toThrow(/^invalid policy: name: /);
    expect(() => policy({ caps: [{ amountCents: 1, window: 'per_day', action: 'block', reason: 'r\ud800' }] })).toThrow(/^invalid policy: caps\[0\]\.reason: /);
  });
});

describe('capability tiers', () => {
  const tiers = [undefined, 'read_only', 'data_write', 'payment_initiate', 'payment_execute'] as const;
  it.each(tiers.map((t, i) => [t, i >= 3] as const))('claim %s against requiredCapability payment_initiate → allowed: %s', async (claim, allowed) => {
    const spendStore = new SpyStore();
    const { guard } = makeGuard({
      spendStore,
      policy: policy({ requiredCapability: 'payment_initiate', caps: [{ amountCents: 1000, window: 'per_day', action: 'block' }] }),
    });
    const r = await guard.decide(call({ ...out(1), ...(claim ? { capabilityClaim: claim } : {}) }));
    if (allowed) {
      expect(r.action).toBe('allow');
      expect(spendStore.reserves).toHaveLength(1);
      expect(r.decision.capabilityClaim).toBe(claim);
    } else {
      expect(r.action).toBe('block');
      expect(r.decision.reasons[0]).toBe(`capability: policy p-1 requires payment_initiate, call claims ${claim ?? 'nothing'}`);
      expect(r.decision.triggeredScopeKey).toBe('capability:p-1');
      expect(r.decision.windowSpendAfter).toBe(0);
      // Blocked before any spend was reserved.
      expect(spendStore.reserves).toHaveLength(0);
      expect(spendStore.openReservations).toBe(0);
      expect(guard.pendingCount).toBe(0);
      expect(new AgentGuardBlockedError(r.decision).reason).toMatch(/^capability:/);
    }
  });

  it('in a shadow policy a missing capability is logged as a would-be block', async () => {
    const { guard } = makeGuard({ policy: policy({ mode: 'shadow', requiredCapability: 'data_write' }) });
    const r = await guard.decide(call(out(1)));
    expect(r.action).toBe('shadow');
    expect(r.decision.action).toBe('block');
  });

  it('a policy without requiredCapability does not look at the claim', async () => {
    const { guard } = makeGuard({ policy: policy() });
    expect((await guard.decide(call(out(1)))).action).toBe('allow');
  });
});

describe('scope matching and selectors', () => {
  it('a policy applies only when every scope field it sets matches the call', async () => {
    const { guard } = makeGuard({
      policy: policy({ scope: { tenantId: 'acme', teamId: 'research', provider: 'openai' }, caps: [{ amountCents: 0, window: 'per_day', action: 'block' }] }),
    });
    const decide = async (scope: Record<string, string>, provider = 'openai') =>
      (await guard.decide(call({ ...out(1), provider, scope: scope as { tenantId: string } }))).decision;
    expect(await decide({ tenantId: 'acme', teamId: 'research' })).toMatchObject({ action: 'block', policyId: 'p-1' });
    expect(await decide({ tenantId: 'acme', teamId: 'research', agentId: 'x' })).toMatchObject({ action: 'block' });
    expect(await decide({ tenantId: 'acme', teamId: 'sales' })).toMatchObject({ action: 'allow', policyId: 'none', policyVersion: 0 });
    expect(await decide({ tenantId: 'acme' })).toMatchObject({ action: 'allow', policyId: 'none' });
    expect(await decide({ tenantId: 'other', teamId: 'research' })).toMatchObject({ action: 'allow', policyId: 'none' });
    // provider in the policy scope matches the call's provider (claude-3-5-haiku-latest is priced)
    const anth = (
      await guard.decide({
        provider: 'anthropic',
        model: 'claude-3-5-haiku-latest',
        scope: { tenantId: 'acme', teamId: 'research' },
        estimatedInputTokens: 0,
        maxOutputTokens: 10,
      })
    ).decision;
    expect(anth).toMatchObject({ action: 'allow', policyId: 'none' });
  });

  it('a selector keeps a separate counter per agent inside one tenant policy', async () => {
    const { guard, spendStore, clock } = makeGuard({
      policy: policy({
        caps: [
          { id: 'agent-day', amountCents: 10, window: 'per_day', action: 'block', selector: ['tenantId', 'agentId'] },
          { id: 'tenant-day', amountCents: 25, window: 'per_day', action: 'block' },
        ],
      }),
    });
    const agent = (agentId: string, cents: number) => guard.decide(call({ ...out(cents), scope: { tenantId: 'acme', agentId } }));
    expect((await agent('a', 10)).action).toBe('allow');
    const aBlocked = await agent('a', 1);
    expect(aBlocked.action).toBe('block');
    expect(aBlocked.decision.triggeredScopeKey).toBe(counterKey('p-1', 'agent-day', 'tenantId=acme,agentId=a', 'per_day', clock.nowMs));
    expect((await agent('b', 10)).action).toBe('allow');
    expect((await agent('c', 5)).action).toBe('allow');
    // The tenant-wide counter (default selector: the policy's scope fields) sees them all.
    const cBlocked = await agent('c', 1);
    expect(cBlocked.action).toBe('block');
    expect(cBlocked.decision.triggeredScopeKey).toBe(counterKey('p-1', 'tenant-day', 'tenantId=acme', 'per_day', clock.nowMs));
    const keys = ['a', 'b', 'c'].map((a) => counterKey('p-1', 'agent-day', `tenantId=acme,agentId=${a}`, 'per_day', clock.nowMs));
    expect(await spendStore.read([...keys, counterKey('p-1', 'tenant-day', 'tenantId=acme', 'per_day', clock.nowMs)], clock.nowMs)).toEqual([10, 10, 5, 25]);
    // A call without an agentId shares the '*' counter.
    expect((await guard.decide(call(out(0)))).decision.triggeredScopeKey).toBeNull();
  });
});

describe('effectiveFrom', () => {
  it('a policy not yet effective does not apply; it applies from that instant on', async () => {
    const { guard, clock } = makeGuard({
      policy: policy({ effectiveFrom: '2026-05-24T19:00:00Z', caps: [{ amountCents: 0, window: 'per_day', action: 'block' }] }),
    });
    clock.set('2026-05-24T18:59:59.999Z');
    expect((await guard.decide(call(out(1)))).decision).toMatchObject({ action: 'allow', policyId: 'none' });
    clock.set('2026-05-24T19:00:00.000Z');
    expect((await guard.decide(call(out(1)))).decision).toMatchObject({ action: 'block', policyId: 'p-1' });
  });

  it('an offset in effectiveFrom is honoured', async () => {
    const { guard, clock } = makeGuard({
      policy: policy({ effectiveFrom: '2026-05-24T20:00:00+02:00', caps: [{ amountCents: 0, window: 'per_day', action: 'block' }] }),
    });
    clock.set('2026-05-24T17:59:59.999Z');
    expect((await guard.decide(call(out(1)))).action).toBe('allow');
    clock.set('2026-05-24T18:00:00.000Z');
    expect((await guard.decide(call(out(1)))).action).toBe('block');
  });
});

describe('unknown models', () => {
  const unknown = call({ model: 'gpt-99-imaginary', maxOutputTokens: 1000 });

  it('enforce: fail closed, nothing reserved', async () => {
    const spendStore = new SpyStore();
    const { guard } = makeGuard({ spendStore, policy: policy({ caps: [{ amountCents: 100, window: 'per_day', action: 'block' }] }) });
    const r = await guard.decide(unknown);
    expect(r.action).toBe('block');
    expect(r.decision.reasons[0]).toMatch(/^unknown model: no price for openai\/gpt-99-imaginary in @pydantic\/genai-prices@/);
    expect(spendStore.reserves).toHaveLength(0);
    await expect(guard.settle(r, { inputTokens: 1, outputTokens: 1 })).rejects.toThrow(/was a block/);
  });

  it("onUnknownModel: 'allow' passes at zero projected cost and settles at zero", async () => {
    const { guard } = makeGuard({ onUnknownModel: 'allow', policy: policy({ caps: [{ amountCents: 100, window: 'per_day', action: 'block' }] }) });
    const r = await guard.decide(unknown);
    expect(r.action).toBe('allow');
    expect(r.decision.projectedCents).toBe(0);
    expect(r.decision.reasons[0]).toMatch(/^unknown model/);
    const o = await guard.settle(r, { inputTokens: 10, outputTokens: 10 });
    expect(o.decision.actualCents).toBe(0);
  });

  it('shadow: the call passes, and the log says enforce would have blocked it', async () => {
    const { guard } = makeGuard({ policy: policy({ mode: 'shadow' }) });
    const r = await guard.decide(unknown);
    expect(r.action).toBe('shadow');
    expect(r.modelResolved).toBe('gpt-99-imaginary');
    expect(r.decision).toMatchObject({ action: 'block', enforcementMode: 'shadow' });
  });

  it('a downgrade target without a price is refused when the guard is built', () => {
    const caps = [{ amountCents: 1, window: 'per_call' as const, action: 'downgrade' as const, downgradeTo: 'no-such-model' }];
    expect(() => makeGuard({ policy: policy({ caps }) })).toThrow(
      /policy p-1: caps\[0\] \(per_call, 1c, "test cap"\) downgrades to "no-such-model", which has no price/,
    );
  });
});

describe('settle and release', () => {
  const setup = () => makeGuard({ policy: policy({ caps: [{ id: 'day', amountCents: 1000, window: 'per_day', action: 'block' }] }) });
  const dayKey = (nowMs: number) => counterKey('p-1', 'day', 'tenantId=acme', 'per_day', nowMs);

  it('settle replaces the reservation with the actual cost and signs an outcome entry', async () => {
    const { guard, spendStore, clock, logStore } = setup();
    await guard.decide(call(out(5)));
    const r = await guard.decide(call({ ...out(40), traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), scope: { tenantId: 'acme', agentId: 'bot' } }));
    expect(await spendStore.read([dayKey(clock.nowMs)], clock.nowMs)).toEqual([45]);
    clock.nowMs += 2500;
    const entry = await guard.settle(r, { inputTokens: 1000, outputTokens: 12_000 }); // 0.25c + 12c → 13c
    expect(await spendStore.read([dayKey(clock.nowMs)], clock.nowMs)).toEqual([18]);
    expect(entry.sequence).toBe(2);
    expect(entry.decision).toMatchObject({
      entryType: 'outcome',
      outcome: 'settled',
      originalDecisionId: r.decision.decisionId,
      actualCents: 13,
      deltaCents: 13 - 40,
      projectedCents: 40,
      actualInputTokens: 1000,
      actualOutputTokens: 12_000,
      windowSpendBefore: 45,
      windowSpendAfter: 18,
      timestamp: '2026-05-24T18:00:02.500Z',
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      actor: { tenantId: 'acme', agentId: 'bot' },
      costBasis: guard.costBasis,
    });
    expect(entry.decision.decisionId).not.toBe(r.decision.decisionId);
    expect(entry.decision.actor).not.toBe(r.decision.actor);
    expect(verifyChain(logStore.entries(), KEYS.publicKey)).toEqual({ ok: true, count: 3 });
    expect(guard.pendingCount).toBe(1);
  });

  it('release gives the whole reservation back and says so', async () => {
    const { guard, spendStore, clock } = setup();
    await guard.decide(call(out(7)));
    const r = await guard.decide(call(out(300)));
    expect(await spendStore.read([dayKey(clock.nowMs)], clock.nowMs)).toEqual([307]);
    const entry = await guard.release(r, 'provider returned 503');
    expect(await spendStore.read([dayKey(clock.nowMs)], clock.nowMs)).toEqual([7]);
    expect(entry.decision).toMatchObject({
      entryType: 'outcome',
      outcome: 'released',
      actualCents: 0,
      deltaCents: -300,
      originalDecisionId: r.decision.decisionId,
    });
    expect(entry.decision.reasons).toEqual(['released: provider returned 503']);
    // The budget is really back: a call for the rest of the cap fits.
    expect((await guard.decide(call(out(993)))).action).toBe('allow');
  });

  it('release with partial usage (a stream cut short) charges what was reported', async () => {
    const { guard, spendStore, clock } = setup();
    const r = await guard.decide(call(out(300)));
    const entry = await guard.release(r, 'aborted', { inputTokens: 0, outputTokens: 2500 });
    expect(entry.decision).toMatchObject({ outcome: 'released', actualCents: 3, actualOutputTokens: 2500 });
    expect(await spendStore.read([dayKey(clock.nowMs)], clock.nowMs)).toEqual([3]);
  });

  it('double settle, settle after release, and settling a block throw', async () => {
    const { guard } = makeGuard({ policy: policy({ caps: [{ amountCents: 10, window: 'per_day', action: 'block' }] }) });
    const a = await guard.decide(call(out(5)));
    await guard.settle(a, { inputTokens: 0, outputTokens: 5000 });
    await expect(guard.settle(a, { inputTokens: 0, outputTokens: 5000 })).rejects.toThrow(AgentGuardError);
    await expect(guard.settle(a.decision, { inputTokens: 0, outputTokens: 5000 })).rejects.toThrow(/is not pending/);
    const b = await guard.decide(call(out(1)));
    await guard.release(b, 'x');
    await expect(guard.settle(b, { inputTokens: 0, outputTokens: 1 })).rejects.toThrow(/is not pending/);
    await expect(guard.release(b, 'again')).rejects.toThrow(/is not pending/);
    const blocked = await guard.decide(call(out(50)));
    expect(blocked.action).toBe('block');
    await expect(guard.settle(blocked, { inputTokens: 0, outputTokens: 1 })).rejects.toThrow(/was a block: nothing was reserved/);
    await expect(guard.release(blocked, 'x')).rejects.toThrow(/was a block/);
  });

  it('a decision from another guard cannot be settled here', async () => {
    const one = makeGuard({ policy: policy() });
    const two = makeGuard({ policy: policy() });
    const r = await one.guard.decide(call(out(1)));
    await expect(two.guard.settle(r, { inputTokens: 0, outputTokens: 1 })).rejects.toThrow(/not made by this guard/);
  });

  it('an unsettled reservation is given back after reservationTtlMs; a late settle still charges what was spent', async () => {
    const { guard, spendStore, clock } = makeGuard({
      reservationTtlMs: 60_000,
      policy: policy({ caps: [{ id: 'day', amountCents: 100, window: 'per_day', action: 'block' }] }),
    });
    const r = await guard.decide(call(out(80)));
    expect((await guard.decide(call(out(30)))).action).toBe('block');
    clock.nowMs += 60_000;
    expect(await spendStore.read([dayKey(clock.nowMs)], clock.nowMs)).toEqual([0]);
    expect(spendStore.openReservations).toBe(0);
    await guard.settle(r, { inputTokens: 0, outputTokens: 20_000 });
    expect(await spendStore.read([dayKey(clock.nowMs)], clock.nowMs)).toEqual([20]);
  });
});

describe('input validation names the field', () => {
  const { guard } = makeGuard({ policy: policy() });
  const bad: [string, unknown, string][] = [
    ['provider', { ...call(), provider: '' }, 'CallRequest.provider: expected a non-empty string, got ""'],
    ['model', { ...call(), model: undefined }, 'CallRequest.model: expected a non-empty string, got undefined'],
    ['scope', { ...call(), scope: undefined }, 'CallRequest.scope.tenantId: expected a non-empty string'],
    ['tenantId', { ...call(), scope: { teamId: 'x' } }, 'CallRequest.scope.tenantId: expected a non-empty string'],
    ['estimatedInputTokens', { ...call(), estimatedInputTokens: -1 }, 'CallRequest.estimatedInputTokens: expected a non-negative integer, got -1'],
    ['maxOutputTokens', { ...call(), maxOutputTokens: 1.5 }, 'CallRequest.maxOutputTokens: expected a non-negative integer, got 1.5'],
    ['maxOutputTokens NaN', { ...call(), maxOutputTokens: Number.NaN }, 'CallRequest.maxOutputTokens: expected a non-negative integer, got null'],
    [
      'capabilityClaim',
      { ...call(), capabilityClaim: 'root' },
      'CallRequest.capabilityClaim: expected one of read_only, data_write, payment_initiate, payment_execute, got "root"',
    ],
    ['routableModels', { ...call(), routableModels: 'gpt-4o' }, 'CallRequest.routableModels: expected an array of model names, got "gpt-4o"'],
    ['routableModels entry', { ...call(), routableModels: ['gpt-4o', ''] }, 'CallRequest.routableModels[1]: expected a non-empty string, got ""'],
    [
      'routableModels length',
      { ...call(), routableModels: Array.from({ length: 1001 }, (_, i) => `m${i}`) },
      'CallRequest.routableModels: 1001 models, more than the 1000 allowed',
    ],
    ['not an object', null, 'CallRequest: expected an object'],
  ];
  it.each(bad)('CallRequest %s', async (_f, req, message) => {
    await expect(guard.decide(req as never)).rejects.toThrow(new TypeError(message));
  });

  const badUsage: [string, unknown, string][] = [
    ['inputTokens', { inputTokens: -1, outputTokens: 0 }, 'usage.inputTokens: expected a non-negative integer, got -1'],
    ['outputTokens', { inputTokens: 0, outputTokens: '5' }, 'usage.outputTokens: expected a non-negative integer, got "5"'],
    ['cachedInputTokens', { inputTokens: 10, outputTokens: 0, cachedInputTokens: 0.5 }, 'usage.cachedInputTokens: expected a non-negative integer, got 0.5'],
    ['cacheWriteTokens', { inputTokens: 10, outputTokens: 0, cacheWriteTokens: -2 }, 'usage.cacheWriteTokens: expected a non-negative integer, got -2'],
    [
      'reasoningTokens',
      { inputTokens: 10, outputTokens: 5, reasoningTokens: 6 },
      'usage.reasoningTokens: exceeds outputTokens (reasoning tokens are part of the output)',
    ],
    [
      'cache sum',
      { inputTokens: 10, outputTokens: 0, cachedInputTokens: 6, cacheWriteTokens: 5 },
      'usage: cachedInputTokens + cacheWriteTokens exceed inputTokens (inputTokens must include cached and cache-write tokens)',
    ],
    ['not an object', undefined, 'usage: expected an object'],
  ];
  it.each(badUsage)('usage %s (the decision stays pending)', async (_f, usage, message) => {
    const r = await guard.decide(call(out(1)));
    await expect(guard.settle(r, usage as never)).rejects.toThrow(new TypeError(message));
    await expect(guard.release(r, 'x', usage === undefined ? { inputTokens: -1, outputTokens: 0 } : (usage as never))).rejects.toThrow(TypeError);
    // Validation failed before anything was taken: the decision can still be settled.
    await expect(guard.settle(r, { inputTokens: 0, outputTokens: 1 })).resolves.toBeTruthy();
  });

  it('SpendGuard needs signing keys, and a matching pair', async () => {
    expect(() => new SpendGuard({} as never)).toThrow('SpendGuardConfig.signingKeys is required');
    const { guard } = makeGuard({ signingKeys: { privateKey: KEYS.privateKey, publicKey: generateKeypair().publicKey }, policy: policy() });
    await expect(guard.decide(call(out(1)))).rejects.toThrow('signing keys: the public key is not the one of the private key');
  });
});

describe('decision log', () => {
  it('a new guard on the same log store continues sequence and previousHash', async () => {
    const logStore = new InMemoryDecisionLogStore();
    const spendStore = new InMemorySpendStore();
    const clock = new TestClock();
    const first = new SpendGuard({ signingKeys: KEYS, logStore, spendStore, clock: clock.fn, policy: policy() });
    for (let i = 0; i < 3; i++) await first.decide(call(out(1)));
    const lastOfFirst = logStore.entries().at(-1)!;
    const second = new SpendGuard({ signingKeys: KEYS, logStore, spendStore, clock: clock.fn, policy: policy() });
    const r = await second.decide(call(out(1)));
    expect(r.entry.sequence).toBe(3);
    expect(r.entry.previousHash).toBe(lastOfFirst.entryHash);
    await second.settle(r, { inputTokens: 0, outputTokens: 1 });
    const all = logStore.entries();
    expect(all.map((e) => e.sequence)).toEqual([0, 1, 2, 3, 4]);
    expect(verifyChain(all, KEYS.publicKey)).toEqual({ ok: true, count: 5 });
  });

  it('the log store refuses out-of-order appends', () => {
    const store = new InMemoryDecisionLogStore();
    expect(() => store.append({ sequence: 1 } as DecisionLogEntry)).toThrow('log append out of order: expected sequence 0, got 1');
  });

  it('a failed log append fails the call, gives its budget back, and does not break the chain', async () => {
    const inner = new InMemoryDecisionLogStore();
    let failNext = false;
    const flaky: DecisionLogStore = {
      head: () => inner.head(),
      append: (e) => {
        if (failNext) {
          failNext = false;
          throw new Error('disk full');
        }
        inner.append(e);
      },
    };
    const { guard, spendStore, clock } = makeGuard({
      logStore: flaky,
      policy: policy({ caps: [{ id: 'day', amountCents: 100, window: 'per_day', action: 'block' }] }),
    });
    await guard.decide(call(out(10)));
    failNext = true;
    await expect(guard.decide(call(out(20)))).rejects.toThrow('decision log append failed: disk full');
    expect(await spendStore.read([counterKey('p-1', 'day', 'tenantId=acme', 'per_day', clock.nowMs)], clock.nowMs)).toEqual([10]);
    expect(guard.pendingCount).toBe(1);
    const next = await guard.decide(call(out(5)));
    expect(next.entry.sequence).toBe(1);
    expect(verifyChain(inner.entries(), KEYS.publicKey)).toEqual({ ok: true, count: 2 });
  });

  it('decisions hold no prompt text or keys: only the documented fields', async () => {
    const { guard } = makeGuard({ policy: policy() });
    const r = await guard.decide(call({ ...out(1), traceId: 't'.repeat(32), capabilityClaim: 'read_only' }));
    const o = await guard.settle(r, { inputTokens: 0, outputTokens: 1, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    const allowed = new Set<keyof SpendDecision>([
      'entryType',
      'decisionId',
      'timestamp',
      'action',
      'triggeredCap',
      'triggeredScopeKey',
      'projectedCents',
      'windowSpendBefore',
      'windowSpendAfter',
      'provider',
      'modelRequested',
      'modelResolved',
      'policyId',
      'policyVersion',
      'enforcementMode',
      'reasons',
      'costBasis',
      'estimatedInputTokens',
      'estimatedOutputTokens',
      'actualInputTokens',
      'actualOutputTokens',
      'actualCachedInputTokens',
      'actualCacheWriteTokens',
      'actualReasoningTokens',
      'actualCents',
      'deltaCents',
      'originalDecisionId',
      'outcome',
      'actor',
      'capabilityClaim',
      'traceId',
      'spanId',
    ]);
    for (const d of [r.decision, o.decision]) for (const k of Object.keys(d)) expect(allowed.has(k as keyof SpendDecision)).toBe(true);
    const json = JSON.stringify([r.entry, o]);
    expect(json).not.toContain(Buffer.from(KEYS.privateKey).toString('hex'));
  });
});
