import { describe, expect, it } from 'vitest';
import { resolveCapSet } from '../../src/engine/cap-set.js';
import { modelInSet, modelSetKey } from '../../src/engine/model-set.js';
import { planCall, sameReservation, type PlanInput } from '../../src/engine/planner.js';
import type { TokenRates } from '../../src/engine/pricing.js';
import type { CallRequest, SpendPolicy } from '../../src/index.js';
import { call, policy, T0, usd } from '../helpers/engine.js';

// No store, no clock, no chain: caps × a snapshot of counters × prices → a plan.
const rate = (input: number, output: number): TokenRates => ({ input: usd(input), output: usd(output), cachedInput: 0, cacheWrite: 0, reasoning: 0 });
const PRICES: Record<string, TokenRates> = {
  'gpt-4o': rate(2.5, 10), // 1000 output tokens = 1c
  'gpt-4o-mini': rate(0.15, 0.6),
  'claude-opus-4-1': rate(15, 75),
  'claude-sonnet-4-5': rate(3, 15),
};
const prices = (model: string) => PRICES[model] ?? null;

/** Output tokens costing `cents` at gpt-4o (no input). */
const out = (cents: number) => ({ maxOutputTokens: cents * 1000 });

function input(policies: SpendPolicy[], request: CallRequest, spent: number[] = [], extra: Partial<PlanInput> = {}): PlanInput {
  const caps = resolveCapSet(policies, request, T0, extra.caps?.enforcementMode === 'shadow' ? 'shadow' : undefined);
  return { request, caps, spent: caps.slots.map((_, i) => spent[i] ?? 0), prices, onUnknownModel: 'block', costBasis: 'test-prices', ...extra };
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

describe('planCall: pure', () => {
  it('the same inputs give the same plan, and no input is changed (all frozen)', () => {
    const p = [policy({ caps: [{ id: 'day', amountCents: 10, window: 'per_day', action: 'block', clampMaxTokens: true }] })];
    const i = deepFreeze(input(p, call(out(20)), [4]));
    const a = planCall(i);
    expect(planCall(i)).toEqual(a);
    expect(a.maxOutputTokens).toBe(6000);
  });
});

describe('planCall: caps at the requested model', () => {
  it('within every cap: allow, reserve at the requested model with each counter limited by its binding caps', () => {
    const p = [
      policy({
        caps: [
          { id: 'day', amountCents: 100, window: 'per_day', action: 'block' },
          { id: 'soft', amountCents: 50, window: 'per_day', action: 'shadow' },
        ],
      }),
    ];
    const plan = planCall(input(p, call(out(3)), [10, 10]));
    expect(plan.action).toBe('allow');
    expect(plan.reservation).toMatchObject({ cents: 3, slots: [0, 1] });
    expect(plan.reservation!.holds.map((h) => h.limitCents)).toEqual([100, null]);
    expect(plan.decision).toMatchObject({ action: 'allow', projectedCents: 3, windowSpendBefore: 10, windowSpendAfter: 13, triggeredCap: null });
    expect(plan.decision.reasons).toEqual(['within all caps (projected 3c, model gpt-4o)']);
    expect(plan.readsCounters).toBe(true);
  });

  it('a window block cap passed at the snapshot: block, nothing to reserve, the snapshot is reported', () => {
    const p = [policy({ caps: [{ id: 'day', amountCents: 10, window: 'per_day', action: 'block', reason: 'R-day' }] })];
    const plan = planCall(input(p, call(out(3)), [8]));
    expect(plan.reservation).toBeNull();
    expect(plan.decision).toMatchObject({ action: 'block', windowSpendBefore: 8, windowSpendAfter: 8, triggeredCap: { reason: 'R-day' } });
    expect(plan.decision.reasons[0]).toBe('block: p-1/day per_day cap 10c: R-day');
  });

  it('a per_call cap fires whatever the counters say', () => {
    const p = [policy({ caps: [{ amountCents: 2, window: 'per_call', action: 'block' }] })];
    const plan = planCall(input(p, call(out(3))));
    expect([plan.action, plan.readsCounters]).toEqual(['block', false]);
  });

  it('a downgrade cap: the target is reserved, where the downgrade cap only counts (no limit)', () => {
    const p = [policy({ caps: [{ id: 'down', amountCents: 10, window: 'per_day', action: 'downgrade', downgradeTo: 'gpt-4o-mini' }] })];
    const plan = planCall(input(p, call(out(20)), [5]));
    expect([plan.action, plan.modelResolved]).toEqual(['downgrade', 'gpt-4o-mini']);
    expect(plan.reservation!.holds.map((h) => h.limitCents)).toEqual([null]);
    expect(plan.decision).toMatchObject({ projectedCents: 2, projectedCentsRequested: 20 });
  });

  it('block beats downgrade at the requested model', () => {
    const p = [
      policy({
        caps: [
          { amountCents: 5, window: 'per_call', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'R-call' },
          { id: 'day', amountCents: 12, window: 'per_day', action: 'block', reason: 'R-day' },
        ],
      }),
    ];
    const plan = planCall(input(p, call(out(13))));
    expect(plan.action).toBe('block');
    expect(plan.decision.triggeredCap).toMatchObject({ reason: 'R-day' });
  });

  it('a downgrade target without a price blocks', () => {
    const p = [policy({ caps: [{ amountCents: 1, window: 'per_call', action: 'downgrade', downgradeTo: 'nope' }] })];
    const plan = planCall(input(p, call(out(3))));
    expect(plan.action).toBe('block');
    expect(plan.decision.reasons[0]).toBe('unknown model: no price for downgrade target openai/nope; blocking');
  });
});

describe('planCall: clamp', () => {
  const clampDay = (amountCents: number, extra = {}) => ({
    id: 'day',
    amountCents,
    window: 'per_day' as const,
    action: 'block' as const,
    clampMaxTokens: true,
    ...extra,
  });

  it('lowers the bound to what the remaining budget pays for', () => {
    const plan = planCall(input([policy({ caps: [clampDay(10)] })], call({ ...out(20), estimatedInputTokens: 4000 }), [0]));
    expect([plan.action, plan.maxOutputTokens, plan.decision.projectedCents]).toEqual(['allow', 9000, 10]);
    expect(plan.decision).toMatchObject({ requestedMaxOutputTokens: 20_000, clampedMaxOutputTokens: 9000, estimatedOutputTokens: 9000 });
    expect(plan.decision.reasons[0]).toMatch(/^clamped max output tokens 20000 → 9000: /);
  });

  it('blocks below clampMinTokens, and says so', () => {
    const plan = planCall(input([policy({ caps: [clampDay(10, { clampMinTokens: 8000 })] })], call(out(20)), [3]));
    expect(plan.action).toBe('block');
    expect(plan.decision.reasons).toContain('clampMaxTokens: not even 8000 output tokens fit at gpt-4o');
  });

  it('a block cap that does not clamp wins', () => {
    const p = [policy({ caps: [clampDay(10), { id: 'hard', amountCents: 15, window: 'per_day', action: 'block' }] })];
    expect(planCall(input(p, call(out(20)))).action).toBe('block');
  });

  it('beside a downgrade cap: the call goes to the target and is clamped there', () => {
    const p = [
      policy({
        caps: [
          { id: 'down', amountCents: 5, window: 'per_day', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'R-down' },
          clampDay(10, { reason: 'R-clamp' }),
        ],
      }),
    ];
    // gpt-4o-mini: 0.00006c per output token; 9c left in the clamping cap → 150 000 tokens.
    const plan = planCall(input(p, call({ maxOutputTokens: 200_000 }), [0, 1]));
    expect([plan.action, plan.modelResolved, plan.maxOutputTokens]).toEqual(['downgrade', 'gpt-4o-mini', 150_000]);
    expect(plan.decision).toMatchObject({ projectedCents: 9, clampedMaxOutputTokens: 150_000, triggeredCap: { action: 'downgrade', reason: 'R-down' } });
    expect(plan.decision.reasons).toEqual([
      'downgrade to gpt-4o-mini: p-1/down per_day cap 5c: R-down',
      'block at gpt-4o (clampMaxTokens): p-1/day per_day cap 10c: R-clamp; clamping at gpt-4o-mini if needed',
      'clamped max output tokens 200000 → 150000 at gpt-4o-mini: p-1/day per_day cap 10c: R-clamp',
    ]);
    // The clamping cap still limits at the target; the downgrade cap only counts there.
    expect(plan.reservation!.holds.map((h) => h.limitCents)).toEqual([null, 10]);
  });

  it('beside a downgrade cap: unclamped at the target when the full bound fits there', () => {
    const p = [policy({ caps: [{ id: 'down', amountCents: 5, window: 'per_day', action: 'downgrade', downgradeTo: 'gpt-4o-mini' }, clampDay(10)] })];
    const plan = planCall(input(p, call(out(20)), [0, 0]));
    expect([plan.action, plan.maxOutputTokens, plan.decision.clampedMaxOutputTokens]).toEqual(['downgrade', 20_000, undefined]);
  });

  it('beside a downgrade cap: blocks when not even clampMinTokens fit at the target', () => {
    const p = [
      policy({
        caps: [{ id: 'down', amountCents: 5, window: 'per_day', action: 'downgrade', downgradeTo: 'gpt-4o-mini' }, clampDay(10, { clampMinTokens: 100_000 })],
      }),
    ];
    const plan = planCall(input(p, call({ maxOutputTokens: 200_000 }), [0, 9]));
    expect(plan.action).toBe('block');
    expect(plan.decision).toMatchObject({ modelResolved: 'gpt-4o', projectedCents: 200, triggeredCap: { action: 'block' } });
    expect(plan.decision.reasons[0]).toBe('block: p-1/day per_day cap 10c: test cap');
    expect(plan.decision.reasons).toContain('clampMaxTokens: not even 100000 output tokens fit at gpt-4o-mini');
  });

  it('beside a downgrade cap, a block cap that does not clamp still wins', () => {
    const p = [
      policy({
        caps: [
          { id: 'down', amountCents: 5, window: 'per_day', action: 'downgrade', downgradeTo: 'gpt-4o-mini' },
          clampDay(10),
          { id: 'hard', amountCents: 15, window: 'per_day', action: 'block' },
        ],
      }),
    ];
    expect(planCall(input(p, call(out(20)))).action).toBe('block');
  });
});

describe('planCall: caps on models', () => {
  const opusSoftCap = policy({
    caps: [
      {
        id: 'opus',
        amountCents: 500,
        window: 'per_day',
        action: 'downgrade',
        downgradeTo: 'claude-sonnet-4-5',
        models: ['claude-opus-*'],
        reason: 'Opus daily soft cap',
      },
      { id: 'all', amountCents: 2000, window: 'per_day', action: 'block' },
    ],
  });
  const opus = (fields: Partial<CallRequest> = {}) => call({ provider: 'anthropic', model: 'claude-opus-4-1', maxOutputTokens: 1000, ...fields });

  it('matching: exact names and * patterns', () => {
    expect(modelInSet(undefined, 'x')).toBe(true);
    expect(modelInSet(['claude-opus-*'], 'claude-opus-4-1')).toBe(true);
    expect(modelInSet(['claude-opus-*'], 'claude-sonnet-4-5')).toBe(false);
    expect(modelInSet(['gpt-4o'], 'gpt-4o-mini')).toBe(false);
    expect(modelInSet(['*-mini'], 'gpt-4o-mini')).toBe(true);
    expect(modelInSet(['a.c'], 'abc')).toBe(false);
  });

  it('counter keys carry the set, sorted, deduplicated and encoded', () => {
    expect(modelSetKey(['b', 'a', 'b'])).toBe('models=a,b');
    expect(modelSetKey(['a,b'])).not.toBe(modelSetKey(['a', 'b']));
    expect(modelSetKey(['a|x'])).toBe('models=a%7Cx');
    const caps = resolveCapSet([opusSoftCap], opus(), T0, undefined);
    expect(caps.slots.map((s) => s.key)).toEqual([
      'p-1:opus|tenantId=acme|models=claude-opus-*|per_day@2026-05-24',
      'p-1:all|tenantId=acme|per_day@2026-05-24',
    ]);
  });

  it('Opus under its soft cap: allowed, counted in both windows', () => {
    const plan = planCall(input([opusSoftCap], opus(), [100, 100]));
    expect(plan.action).toBe('allow');
    expect(plan.reservation!.slots).toEqual([0, 1]);
    expect(plan.reservation!.holds.map((h) => h.limitCents)).toEqual([500, 2000]);
  });

  it('Opus past its soft cap: downgraded to Sonnet, which the Opus cap neither counts nor limits', () => {
    const plan = planCall(input([opusSoftCap], opus(), [499, 600]));
    expect([plan.action, plan.modelResolved]).toEqual(['downgrade', 'claude-sonnet-4-5']);
    expect(plan.reservation!.slots).toEqual([1]);
    expect(plan.decision.triggeredCap).toEqual({
      amountCents: 500,
      window: 'per_day',
      action: 'downgrade',
      downgradeTo: 'claude-sonnet-4-5',
      reason: 'Opus daily soft cap',
      models: ['claude-opus-*'],
    });
    // The Opus window is reported, and this call does not charge it.
    expect(plan.decision).toMatchObject({ windowSpendBefore: 499, windowSpendAfter: 499 });
    expect([plan.reportHold, plan.reportFixed]).toEqual([-1, 499]);
  });

  it('a Sonnet call is not limited by the Opus cap, however far past it', () => {
    const plan = planCall(input([opusSoftCap], opus({ model: 'claude-sonnet-4-5' }), [10_000, 0]));
    expect(plan.action).toBe('allow');
    expect(plan.reservation!.slots).toEqual([1]);
  });

  it('a shadow cap on models records only calls to those models', () => {
    const p = [policy({ caps: [{ id: 'mini', amountCents: 0, window: 'per_day', action: 'shadow', models: ['gpt-4o-mini'] }] })];
    expect(planCall(input(p, call(out(1)))).action).toBe('allow');
    expect(planCall(input(p, call({ ...out(100), model: 'gpt-4o-mini' }))).action).toBe('shadow');
  });
});

describe('planCall: calls that send no output bound', () => {
  const noBound = (fields: Partial<CallRequest> = {}) => call({ maxOutputTokens: 16_384, outputBoundSent: false, ...fields });
  const blockAt = (extra: Partial<SpendPolicy> = {}) => [policy({ ...extra, caps: [{ id: 'day', amountCents: 16, window: 'per_day', action: 'block' }] })];

  it('the policy default becomes the bound; the decision says the guard set it', () => {
    const plan = planCall(input(blockAt({ defaultMaxOutputTokens: 2000 }), noBound(), [0]));
    expect([plan.action, plan.maxOutputTokens]).toEqual(['allow', 2000]);
    expect(plan.decision).toMatchObject({ outputBoundSetByGuard: true, estimatedOutputTokens: 2000, requestedMaxOutputTokens: 16_384, projectedCents: 2 });
    expect(plan.decision.clampedMaxOutputTokens).toBeUndefined();
  });

  it('the configured default applies when no policy names one; the smallest policy default wins over it', () => {
    expect(planCall(input(blockAt(), noBound(), [0], { defaultMaxOutputTokens: 3000 })).maxOutputTokens).toBe(3000);
    const two = [...blockAt({ defaultMaxOutputTokens: 2500 }), policy({ id: 'p-2', defaultMaxOutputTokens: 1500 })];
    expect(planCall(input(two, noBound(), [0], { defaultMaxOutputTokens: 3000 })).maxOutputTokens).toBe(1500);
  });

  it('never raises the bound, and leaves calls that sent one alone', () => {
    expect(planCall(input(blockAt({ defaultMaxOutputTokens: 99_999 }), noBound(), [0])).maxOutputTokens).toBe(16_384);
    const sent = planCall(input(blockAt({ defaultMaxOutputTokens: 2000 }), call({ maxOutputTokens: 4000 }), [0]));
    expect([sent.maxOutputTokens, sent.decision.outputBoundSetByGuard]).toEqual([4000, undefined]);
  });

  it('without a default: projected at the model maximum, and a block says why and how to fix it', () => {
    const plan = planCall(input(blockAt(), noBound(), [0]));
    expect(plan.action).toBe('block');
    expect(plan.decision.reasons[0]).toBe(
      "block: p-1/day per_day cap 16c: test cap; no output bound sent; projected at the model's maximum of 16384 output tokens; set defaultMaxOutputTokens (policy) or AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS",
    );
  });

  it('shadow mode records the bound enforcement would set, and sends the call unchanged', () => {
    const p = blockAt({ defaultMaxOutputTokens: 2000, mode: 'shadow' });
    const plan = planCall(input(p, noBound(), [0]));
    expect([plan.action, plan.maxOutputTokens]).toEqual(['allow', 16_384]);
    expect(plan.decision).toMatchObject({ enforcementMode: 'shadow', outputBoundSetByGuard: true, estimatedOutputTokens: 2000 });
  });
});

describe('planCall: gates before caps', () => {
  it('capability: an enforcing policy blocks a call that claims too little; nothing is read or reserved', () => {
    const p = [policy({ requiredCapability: 'payment_execute', caps: [{ amountCents: 100, window: 'per_day', action: 'block' }] })];
    const plan = planCall(input(p, call({ capabilityClaim: 'read_only' })));
    expect([plan.action, plan.readsCounters, plan.reservation]).toEqual(['block', false, null]);
    expect(plan.decision.triggeredScopeKey).toBe('capability:p-1');
  });

  it('an unknown model fails closed in enforce, passes unpriced when allowed, and is a would-be block in shadow', () => {
    const p = [policy({ caps: [{ amountCents: 100, window: 'per_day', action: 'block' }] })];
    const unknown = call({ model: 'mystery', ...out(5) });
    expect(planCall(input(p, unknown)).decision).toMatchObject({ action: 'block', projectedCents: 0 });
    expect(planCall(input(p, unknown, [], { onUnknownModel: 'allow' })).decision).toMatchObject({ action: 'allow', projectedCents: 0 });
    const shadow = planCall(input([{ ...p[0]!, mode: 'shadow' }], unknown));
    expect([shadow.action, shadow.decision.action]).toEqual(['shadow', 'block']);
  });
});

describe('sameReservation', () => {
  it('tells a plan that reserves the same from one the counters moved elsewhere', () => {
    const p = [policy({ caps: [{ id: 'down', amountCents: 10, window: 'per_day', action: 'downgrade', downgradeTo: 'gpt-4o-mini' }] })];
    const at = (spent: number) => planCall(input(p, call(out(3)), [spent]));
    expect(sameReservation(at(0), at(5))).toBe(true);
    expect(sameReservation(at(0), at(9))).toBe(false);
    expect(sameReservation(at(9), at(20))).toBe(true);
  });
});

describe('planCall: what is only recorded', () => {
  it("a shadow policy's downgrade cap: the call passes unchanged, the decision names what enforcement would have done and cost", () => {
    const p = [policy({ mode: 'shadow', caps: [{ id: 'down', amountCents: 5, window: 'per_day', action: 'downgrade', downgradeTo: 'gpt-4o-mini' }] })];
    const plan = planCall(input(p, call(out(20)), [0]));
    expect([plan.action, plan.modelResolved, plan.maxOutputTokens]).toEqual(['shadow', 'gpt-4o', 20_000]);
    expect(plan.decision).toMatchObject({ action: 'downgrade', enforcementMode: 'shadow', projectedCents: 20, projectedCentsIfEnforced: 2 });
    // Nothing binds in shadow: the window is charged unconditionally.
    expect(plan.reservation!.holds.map((h) => h.limitCents)).toEqual([null]);
  });

  it('selectors key one counter per selected scope value', () => {
    const p = [policy({ caps: [{ id: 'agent', amountCents: 10, window: 'per_hour', action: 'block', selector: ['tenantId', 'agentId'] }] })];
    const keyOf = (agentId?: string) => resolveCapSet(p, call({ scope: { tenantId: 'acme', ...(agentId ? { agentId } : {}) } }), T0, undefined).slots[0]!.key;
    expect(keyOf('a,b')).toBe('p-1:agent|tenantId=acme,agentId=a%2Cb|per_hour@2026-05-24T18:00');
    expect(keyOf()).toBe('p-1:agent|tenantId=acme,agentId|per_hour@2026-05-24T18:00');
  });
});

describe('planCall: a downgrade target the call cannot be sent to', () => {
  const down = (amountCents: number, downgradeTo: string, id = 'down') => ({
    id,
    amountCents,
    window: 'per_day' as const,
    action: 'downgrade' as const,
    downgradeTo,
  });
  const clampDay = (amountCents: number, extra = {}) => ({
    id: 'day',
    amountCents,
    window: 'per_day' as const,
    action: 'block' as const,
    clampMaxTokens: true,
    ...extra,
  });
  const onAzure = (fields: Partial<CallRequest> = {}) => call({ ...out(20), routableModels: ['gpt-4o', 'claude-sonnet-4-5'], ...fields });
  const NOT_TAKEN =
    'downgrade to gpt-4o-mini not taken: no deployment this call can be sent to serves gpt-4o-mini (routable: gpt-4o, claude-sonnet-4-5); p-1/down per_day cap 5c: test cap';

  it('is not taken: allowed at the requested model, where the downgrade cap only counts; the reasons say why', () => {
    const plan = planCall(input([policy({ caps: [down(5, 'gpt-4o-mini')] })], onAzure(), [9]));
    expect([plan.action, plan.modelResolved, plan.maxOutputTokens]).toEqual(['allow', 'gpt-4o', 20_000]);
    expect(plan.decision).toMatchObject({ action: 'allow', modelResolved: 'gpt-4o', projectedCents: 20, windowSpendBefore: 9, windowSpendAfter: 29 });
    expect(plan.decision.triggeredCap).toMatchObject({ action: 'downgrade', downgradeTo: 'gpt-4o-mini' });
    expect(plan.decision.reasons).toEqual([NOT_TAKEN]);
    expect(plan.decision.projectedCentsRequested).toBeUndefined();
    // The store must accept the reservation: the downgrade cap does not limit the counter.
    expect(plan.reservation).toMatchObject({ cents: 20 });
    expect(plan.reservation!.holds.map((h) => h.limitCents)).toEqual([null]);
  });

  it('the same call without routableModels is downgraded (any model can be called)', () => {
    const plan = planCall(input([policy({ caps: [down(5, 'gpt-4o-mini')] })], call(out(20)), [9]));
    expect([plan.action, plan.modelResolved]).toEqual(['downgrade', 'gpt-4o-mini']);
  });

  it('a routable target is taken as before', () => {
    const plan = planCall(input([policy({ caps: [down(5, 'claude-sonnet-4-5')] })], onAzure(), [9]));
    expect([plan.action, plan.modelResolved]).toEqual(['downgrade', 'claude-sonnet-4-5']);
    expect(plan.decision.reasons).toEqual(['downgrade to claude-sonnet-4-5: p-1/down per_day cap 5c: test cap']);
  });

  it('chains: the next firing downgrade cap whose target is routable is taken, the skipped one is noted', () => {
    const p = [policy({ caps: [down(5, 'gpt-4o-mini'), down(8, 'claude-sonnet-4-5', 'down2')] })];
    const plan = planCall(input(p, onAzure(), [9, 9]));
    expect([plan.action, plan.modelResolved]).toEqual(['downgrade', 'claude-sonnet-4-5']);
    expect(plan.decision.triggeredCap).toMatchObject({ downgradeTo: 'claude-sonnet-4-5' });
    expect(plan.decision.reasons).toEqual([NOT_TAKEN, 'downgrade to claude-sonnet-4-5: p-1/down2 per_day cap 8c: test cap']);
    // At the target both downgrade caps only count.
    expect(plan.reservation!.holds.map((h) => h.limitCents)).toEqual([null, null]);
  });

  it('beside a clamping block cap: clamped at the requested model, as without the downgrade cap', () => {
    const p = [policy({ caps: [down(5, 'gpt-4o-mini'), clampDay(10)] })];
    const plan = planCall(input(p, onAzure(), [0, 4]));
    expect([plan.action, plan.modelResolved, plan.maxOutputTokens]).toEqual(['allow', 'gpt-4o', 6000]);
    expect(plan.decision).toMatchObject({ projectedCents: 6, clampedMaxOutputTokens: 6000, triggeredCap: { action: 'downgrade' } });
    expect(plan.decision.reasons).toEqual([NOT_TAKEN, 'clamped max output tokens 20000 → 6000: p-1/day per_day cap 10c: test cap']);
    expect(plan.reservation!.holds.map((h) => h.limitCents)).toEqual([null, 10]);
    // Without the downgrade cap, the same clamp.
    const alone = planCall(input([policy({ caps: [clampDay(10)] })], onAzure(), [4]));
    expect([alone.action, alone.maxOutputTokens, alone.decision.projectedCents]).toEqual(['allow', 6000, 6]);
  });

  it('beside a clamping block cap that cannot fit clampMinTokens: blocked at the requested model, the reasons say both', () => {
    const p = [policy({ caps: [down(5, 'gpt-4o-mini'), clampDay(10, { clampMinTokens: 8000 })] })];
    const plan = planCall(input(p, onAzure(), [0, 4]));
    expect(plan.action).toBe('block');
    expect(plan.reservation).toBeNull();
    expect(plan.decision).toMatchObject({ modelResolved: 'gpt-4o', projectedCents: 20, triggeredCap: { action: 'block' } });
    expect(plan.decision.reasons).toEqual(['block: p-1/day per_day cap 10c: test cap', 'clampMaxTokens: not even 8000 output tokens fit at gpt-4o', NOT_TAKEN]);
  });

  it('a block cap that does not clamp still wins', () => {
    const p = [policy({ caps: [down(5, 'gpt-4o-mini'), { id: 'hard', amountCents: 15, window: 'per_day', action: 'block' }] })];
    expect(planCall(input(p, onAzure(), [0, 0])).action).toBe('block');
  });

  it('an unroutable target without a price is skipped, not a block', () => {
    const plan = planCall(input([policy({ caps: [down(5, 'nope')] })], onAzure(), [9]));
    expect([plan.action, plan.modelResolved]).toEqual(['allow', 'gpt-4o']);
  });

  it('a shadow policy records that enforcement would not take it either', () => {
    const p = [policy({ mode: 'shadow', caps: [down(5, 'gpt-4o-mini')] })];
    const plan = planCall(input(p, onAzure(), [9]));
    expect([plan.action, plan.modelResolved]).toEqual(['allow', 'gpt-4o']);
    expect(plan.decision).toMatchObject({ action: 'allow', enforcementMode: 'shadow' });
    expect(plan.decision.projectedCentsIfEnforced).toBeUndefined();
    expect(plan.decision.reasons).toEqual([`shadow: ${NOT_TAKEN.replace('not taken', 'would not be taken')}`]);
  });

  it('a long list of routable models is cut in the reason', () => {
    const many = Array.from({ length: 40 }, (_, i) => `m-${i}`);
    const plan = planCall(input([policy({ caps: [down(5, 'gpt-4o-mini')] })], onAzure({ routableModels: many }), [9]));
    expect(plan.decision.reasons[0]).toContain('(routable: gpt-4o, m-0, m-1, m-2, m-3 and 36 more)');
  });
});
