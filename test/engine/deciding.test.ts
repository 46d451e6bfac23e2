import { describe, expect, it } from 'vitest';
import { AgentGuardBlockedError, InMemorySpendStore, SpendGuard, type SpendDecision } from '../../src/index.js';
import { verifyChain } from '../../src/audit.js';
import { windowAt } from '../../src/engine/windows.js';
import type { ReserveRequest } from '../../src/engine/spend-store.js';
import { call, KEYS, makeGuard, policy, T0 } from '../helpers/engine.js';

// gpt-4o: 1000 output tokens = 1c. gpt-4o-mini: 100 000 output tokens = 6c.
const out = (cents: number) => ({ maxOutputTokens: cents * 1000 });
const day = windowAt('per_day', T0).label;
const decisions = (entries: { decision: unknown }[]) => entries.map((e) => e.decision as SpendDecision).filter((d) => d.entryType === 'decision');

describe('clamp beside downgrade', () => {
  // The classic pair: a soft daily cap that sends calls to the cheaper model, and a hard daily cap that clamps.
  const pair = policy({
    caps: [
      { id: 'soft', amountCents: 5, window: 'per_day', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'after 5c, gpt-4o-mini' },
      { id: 'hard', amountCents: 10, window: 'per_day', action: 'block', clampMaxTokens: true, clampMinTokens: 1000, reason: '10c a day' },
    ],
  });

  it('goes to the downgrade target and clamps there; blocks once not even clampMinTokens fit; every decision is signed', async () => {
    const { guard, spendStore, logStore, clock } = makeGuard({ policy: pair });
    // 200c at gpt-4o: both caps fire. At gpt-4o-mini 200 000 tokens = 12c: the hard cap clamps to 10c = 166 666 tokens.
    const first = await guard.decide(call({ maxOutputTokens: 200_000 }));
    expect([first.action, first.modelResolved, first.maxOutputTokens]).toEqual(['downgrade', 'gpt-4o-mini', 166_666]);
    expect(first.decision).toMatchObject({
      projectedCents: 10,
      projectedCentsRequested: 200,
      requestedMaxOutputTokens: 200_000,
      clampedMaxOutputTokens: 166_666,
      estimatedOutputTokens: 166_666,
    });
    expect(first.decision.reasons).toEqual([
      'downgrade to gpt-4o-mini: p-1/soft per_day cap 5c: after 5c, gpt-4o-mini',
      'block at gpt-4o (clampMaxTokens): p-1/hard per_day cap 10c: 10c a day; clamping at gpt-4o-mini if needed',
      'clamped max output tokens 200000 → 166666 at gpt-4o-mini: p-1/hard per_day cap 10c: 10c a day',
    ]);
    const keys = [`p-1:soft|tenantId=acme|per_day@${day}`, `p-1:hard|tenantId=acme|per_day@${day}`];
    expect(await spendStore.read(keys, clock.nowMs)).toEqual([10, 10]);

    // Settled at 4c: 6c left in the hard cap → 100 000 tokens at gpt-4o-mini.
    await guard.settle(first, { inputTokens: 0, outputTokens: 66_666 });
    const second = await guard.decide(call({ maxOutputTokens: 200_000 }));
    expect([second.action, second.modelResolved, second.maxOutputTokens, second.decision.projectedCents]).toEqual(['downgrade', 'gpt-4o-mini', 100_000, 6]);

    // 0c left: not even 1000 tokens fit at the cheapest permitted model.
    const third = await guard.decide(call({ maxOutputTokens: 200_000 }));
    expect(third.action).toBe('block');
    expect(third.decision).toMatchObject({ modelResolved: 'gpt-4o', projectedCents: 200, triggeredCap: { action: 'block', reason: '10c a day' } });
    expect(third.decision.reasons[0]).toBe('block: p-1/hard per_day cap 10c: 10c a day');
    expect(third.decision.reasons).toContain('clampMaxTokens: not even 1000 output tokens fit at gpt-4o-mini');
    expect(await spendStore.read(keys, clock.nowMs)).toEqual([10, 10]);
    expect(spendStore.openReservations).toBe(1);

    expect(decisions(logStore.entries()).map((d) => [d.action, d.modelResolved, d.estimatedOutputTokens])).toEqual([
      ['downgrade', 'gpt-4o-mini', 166_666],
      ['downgrade', 'gpt-4o-mini', 100_000],
      ['block', 'gpt-4o', 200_000],
    ]);
    expect(verifyChain(logStore.entries(), KEYS.publicKey)).toEqual({ ok: true, count: 4 });
  });

  it('a block cap that does not clamp still wins beside a downgrade', async () => {
    const { guard } = makeGuard({
      policy: policy({
        caps: [...pair.caps, { id: 'strict', amountCents: 50, window: 'per_day', action: 'block', reason: 'strict' }],
      }),
    });
    const r = await guard.decide(call({ maxOutputTokens: 200_000 }));
    expect(r.action).toBe('block');
    expect(r.decision.triggeredCap).toMatchObject({ reason: '10c a day' });
    expect(r.decision.reasons.slice(0, 3)).toEqual([
      'block: p-1/hard per_day cap 10c: 10c a day',
      'block: p-1/strict per_day cap 50c: strict',
      'downgrade: p-1/soft per_day cap 5c: after 5c, gpt-4o-mini',
    ]);
  });
});

describe('caps on models', () => {
  const prices = {
    overrides: {
      anthropic: {
        'claude-opus-4-1': { inputPerMTok: 15, outputPerMTok: 75 }, // 1000 output tokens = 7.5c
        'claude-opus-4-1-20250805': { inputPerMTok: 15, outputPerMTok: 75 },
        'claude-sonnet-4-5': { inputPerMTok: 3, outputPerMTok: 15 }, // 1000 output tokens = 1.5c
      },
    },
  };
  const opusSoftCap = policy({
    caps: [
      {
        id: 'opus',
        amountCents: 20,
        window: 'per_day',
        action: 'downgrade',
        downgradeTo: 'claude-sonnet-4-5',
        models: ['claude-opus-*'],
        reason: 'Opus daily soft cap reached',
      },
      { id: 'all', amountCents: 100, window: 'per_day', action: 'block', reason: 'daily budget' },
    ],
  });
  const opus = (model = 'claude-opus-4-1') => call({ provider: 'anthropic', model, maxOutputTokens: 1000 });
  const opusKey = `p-1:opus|tenantId=acme|models=claude-opus-*|per_day@${day}`;
  const allKey = `p-1:all|tenantId=acme|per_day@${day}`;

  it('Opus daily soft cap reached → Sonnet: the Opus cap counts only Opus calls and does not bind at Sonnet', async () => {
    const { guard, spendStore, logStore, clock } = makeGuard({ policy: opusSoftCap, pricing: prices });
    const a = await guard.decide(opus()); // 8c
    const b = await guard.decide(opus()); // 16c
    expect([a.action, b.action]).toEqual(['allow', 'allow']);
    expect(await spendStore.read([opusKey, allKey], clock.nowMs)).toEqual([16, 16]);

    // 16c + 8c > 20c: downgraded; the Sonnet call (2c) counts in the budget, not in the Opus window.
    const c = await guard.decide(opus());
    expect([c.action, c.modelResolved]).toEqual(['downgrade', 'claude-sonnet-4-5']);
    expect(c.decision).toMatchObject({
      triggeredCap: { action: 'downgrade', downgradeTo: 'claude-sonnet-4-5', models: ['claude-opus-*'], reason: 'Opus daily soft cap reached' },
      triggeredScopeKey: opusKey,
      windowSpendBefore: 16,
      windowSpendAfter: 16,
      projectedCents: 2,
      projectedCentsRequested: 8,
    });
    expect(await spendStore.read([opusKey, allKey], clock.nowMs)).toEqual([16, 18]);

    // Sonnet asked for directly is neither counted nor limited by the Opus cap; other Opus models are.
    expect((await guard.decide(opus('claude-sonnet-4-5'))).action).toBe('allow');
    expect((await guard.decide(call({ provider: 'anthropic', model: 'claude-opus-4-1-20250805', maxOutputTokens: 1000 }))).modelResolved).toBe(
      'claude-sonnet-4-5',
    );
    expect(await spendStore.read([opusKey, allKey], clock.nowMs)).toEqual([16, 22]);

    // Settling the downgraded call charges the Sonnet call's windows only; its outcome reports the Opus window unchanged.
    const outcome = await guard.settle(c, { inputTokens: 0, outputTokens: 1000 });
    expect(outcome.decision).toMatchObject({ actualCents: 2, windowSpendBefore: 16, windowSpendAfter: 16 });
    expect(await spendStore.read([opusKey, allKey], clock.nowMs)).toEqual([16, 22]);
    expect(verifyChain(logStore.entries(), KEYS.publicKey)).toEqual({ ok: true, count: 6 });
  });

  it('a first guess of the counters that misses a cap is corrected before the call proceeds (block still beats downgrade)', async () => {
    // Counters the guard has not seen: the budget is nearly spent, the Opus window is not.
    const spendStore = new InMemorySpendStore();
    await spendStore.reserve({
      reservationId: 'earlier',
      cents: 95,
      holds: [{ key: allKey, limitCents: null, expiresAtMs: T0 + 86_400_000 }],
      nowMs: T0,
      ttlMs: 86_400_000,
    });
    const reserves: ReserveRequest[] = [];
    const spy = Object.assign(spendStore, {
      reserve: ((orig) => (req: ReserveRequest) => (reserves.push(structuredClone(req)), orig(req)))(spendStore.reserve.bind(spendStore)),
    });
    const policyWithPerCallDowngrade = policy({
      caps: [
        { id: 'opus', amountCents: 5, window: 'per_call', action: 'downgrade', downgradeTo: 'claude-sonnet-4-5', models: ['claude-opus-*'] },
        { id: 'all', amountCents: 100, window: 'per_day', action: 'block', reason: 'daily budget' },
      ],
    });
    const { guard } = makeGuard({ policy: policyWithPerCallDowngrade, pricing: prices, spendStore: spy });
    // Opus 8c: the per-call downgrade fires. Sonnet (2c) fits the budget (97 ≤ 100), but Opus (103) does not: block wins.
    const r = await guard.decide(opus());
    expect(r.action).toBe('block');
    expect(r.decision).toMatchObject({ triggeredCap: { reason: 'daily budget' }, windowSpendBefore: 95, windowSpendAfter: 95 });
    // The Sonnet reservation made on the first guess was given back.
    expect(await spendStore.read([allKey], T0)).toEqual([95]);
    expect(spendStore.openReservations).toBe(1);
    expect(reserves.map((q) => q.cents)).toEqual([2]);
  });

  it('a model set in another order keys the same counter', async () => {
    const { guard, spendStore, clock } = makeGuard({
      policies: [
        policy({ id: 'a', caps: [{ id: 'c', amountCents: 100, window: 'per_day', action: 'block', models: ['gpt-4o', 'gpt-4o-mini'] }] }),
        policy({ id: 'a', version: 2, caps: [{ id: 'c', amountCents: 100, window: 'per_day', action: 'block', models: ['gpt-4o-mini', 'gpt-4o', 'gpt-4o'] }] }),
      ],
    });
    await guard.decide(call(out(3)));
    // Both policies' caps share one counter, charged once per call.
    expect(await spendStore.read([`a:c|tenantId=acme|models=gpt-4o,gpt-4o-mini|per_day@${day}`], clock.nowMs)).toEqual([3]);
  });
});

describe('calls that send no output bound', () => {
  const budget = (extra = {}) => policy({ ...extra, caps: [{ id: 'day', amountCents: 16, window: 'per_day', action: 'block', reason: '16c a day' }] });
  // gpt-4o's maximum output: 16 384 tokens ≈ 17c, more than the whole budget.
  const unbounded = call({ maxOutputTokens: 16_384, outputBoundSent: false });

  it('with a policy default the guard sets the bound, reserves exactly that, and signs that it did', async () => {
    const { guard, spendStore, logStore, clock } = makeGuard({ policy: budget({ defaultMaxOutputTokens: 2000 }) });
    const r = await guard.decide(unbounded);
    expect([r.action, r.maxOutputTokens]).toEqual(['allow', 2000]);
    expect(r.decision).toMatchObject({ outputBoundSetByGuard: true, estimatedOutputTokens: 2000, requestedMaxOutputTokens: 16_384, projectedCents: 2 });
    expect(await spendStore.read([`p-1:day|tenantId=acme|per_day@${day}`], clock.nowMs)).toEqual([2]);
    const logged = logStore.entries()[0]!.decision as SpendDecision;
    expect(logged.outputBoundSetByGuard).toBe(true);
    expect(verifyChain(logStore.entries(), KEYS.publicKey)).toEqual({ ok: true, count: 1 });
  });

  it('SpendGuardConfig.defaultMaxOutputTokens applies when no policy names one', async () => {
    const { guard } = makeGuard({ policy: budget(), defaultMaxOutputTokens: 4000 });
    const r = await guard.decide(unbounded);
    expect([r.action, r.maxOutputTokens, r.decision.outputBoundSetByGuard]).toEqual(['allow', 4000, true]);
    // A call that sent its own bound is left alone.
    const sent = await guard.decide(call({ maxOutputTokens: 5000 }));
    expect([sent.maxOutputTokens, sent.decision.outputBoundSetByGuard]).toEqual([5000, undefined]);
  });

  it('without a default the worst case stands, and the block says why and how to fix it', async () => {
    const { guard } = makeGuard({ policy: budget() });
    const r = await guard.decide(unbounded);
    expect(r.action).toBe('block');
    expect(r.decision.outputBoundSetByGuard).toBeUndefined();
    const err = new AgentGuardBlockedError(r.decision);
    expect(err.message).toBe(
      "agentguard: call blocked: block: p-1/day per_day cap 16c: 16c a day; no output bound sent; projected at the model's maximum of 16384 output tokens; set defaultMaxOutputTokens (policy) or AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS",
    );
  });

  it('bad values are rejected naming the field', () => {
    expect(() => new SpendGuard({ signingKeys: KEYS, defaultMaxOutputTokens: 0 })).toThrow(
      'SpendGuardConfig.defaultMaxOutputTokens: expected a positive integer, got 0',
    );
    const { guard } = makeGuard();
    return expect(guard.decide({ ...unbounded, outputBoundSent: 'no' as unknown as boolean })).rejects.toThrow(
      'CallRequest.outputBoundSent: expected a boolean, got "no"',
    );
  });
});
