import { describe, expect, it } from 'vitest';
import { generateKeypair, InMemoryDecisionLogStore, parsePolicy, PolicyValidationError, SpendGuard, type SpendCap } from '../../src/index.js';
import { verifyChain } from '../../src/audit.js';

// gpt-4o: $2.50 / Mtok input (0.00025c per token), $10 / Mtok output (0.001c per token).
const NOW = Date.parse('2026-11-25T12:00:00Z');
const call = { provider: 'openai', model: 'gpt-4o', scope: { tenantId: 't' }, estimatedInputTokens: 4000, maxOutputTokens: 20_000 };

function guardWith(caps: Partial<SpendCap>[]) {
  const keys = generateKeypair();
  const log = new InMemoryDecisionLogStore();
  const policy = parsePolicy({
    id: 'p',
    name: 'p',
    scope: { tenantId: 't' },
    mode: 'enforce',
    version: 1,
    effectiveFrom: '2026-01-01T00:00:00Z',
    caps: caps.map((c) => ({ reason: 'budget', action: 'block', ...c })),
  });
  return { guard: new SpendGuard({ policy, signingKeys: keys, logStore: log, clock: () => NOW, metrics: false }), log, keys };
}

describe('clampMaxTokens', () => {
  it('lowers the output bound so the worst case fits the remaining daily budget, then blocks when nothing fits', async () => {
    const { guard, log, keys } = guardWith([{ amountCents: 10, window: 'per_day', clampMaxTokens: true }]);
    // Worst case 1c input + 20c output = 21c > 10c. 10c − 1c input leaves 9c = 9000 output tokens.
    const first = await guard.decide(call);
    expect(first.action).toBe('allow');
    expect(first.maxOutputTokens).toBe(9000);
    expect(first.decision).toMatchObject({
      projectedCents: 10,
      requestedMaxOutputTokens: 20_000,
      clampedMaxOutputTokens: 9000,
      estimatedOutputTokens: 9000,
      windowSpendAfter: 10,
    });
    expect(first.decision.reasons[0]).toMatch(/clamped max output tokens 20000 → 9000/);

    // The window is fully reserved: not even one output token fits.
    const second = await guard.decide(call);
    expect(second.action).toBe('block');
    expect(second.maxOutputTokens).toBe(20_000);
    expect(second.decision.clampedMaxOutputTokens).toBeUndefined();

    // Settling at 1c input + 1c output frees 8c: 8c − 1c input = 7000 output tokens.
    await guard.settle(first, { inputTokens: 4000, outputTokens: 1000 });
    const third = await guard.decide(call);
    expect([third.action, third.maxOutputTokens, third.decision.projectedCents]).toEqual(['allow', 7000, 8]);
    expect(verifyChain(log.entries(), keys.publicKey)).toEqual({ ok: true, count: 4 });
  });

  it('clamps to a per-call cap and leaves calls that fit untouched', async () => {
    const { guard } = guardWith([{ amountCents: 5, window: 'per_call', clampMaxTokens: true }]);
    const clamped = await guard.decide(call);
    expect([clamped.action, clamped.maxOutputTokens, clamped.decision.projectedCents]).toEqual(['allow', 4000, 5]);
    const small = await guard.decide({ ...call, maxOutputTokens: 100 });
    expect(small.maxOutputTokens).toBe(100);
    expect(small.decision.requestedMaxOutputTokens).toBeUndefined();
  });

  it('blocks instead when the clamp would go below clampMinTokens, or when a firing cap does not clamp', async () => {
    const min = guardWith([{ amountCents: 8, window: 'per_day', clampMaxTokens: true, clampMinTokens: 8000 }]);
    // 8c − 1c input = 7000 tokens < 8000 minimum.
    expect((await min.guard.decide(call)).action).toBe('block');

    const mixed = guardWith([
      { amountCents: 10, window: 'per_day', clampMaxTokens: true },
      { amountCents: 15, window: 'per_day' },
    ]);
    expect((await mixed.guard.decide(call)).action).toBe('block');
  });

  it('is rejected on caps that do not block', () => {
    const policy = (cap: object) => ({
      id: 'p',
      name: 'p',
      scope: { tenantId: 't' },
      mode: 'enforce',
      version: 1,
      effectiveFrom: '2026-01-01T00:00:00Z',
      caps: [cap],
    });
    expect(() =>
      parsePolicy(policy({ amountCents: 1, window: 'per_day', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'r', clampMaxTokens: true })),
    ).toThrow(/caps\[0\]\.clampMaxTokens: applies only to caps whose action is "block"/);
    expect(() => parsePolicy(policy({ amountCents: 1, window: 'per_day', action: 'block', reason: 'r', clampMinTokens: 3 }))).toThrow(PolicyValidationError);
  });
});
