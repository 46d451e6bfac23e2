/** Money correctness: implausible usage, unanswered attempts, failed settlements, unpriced downgrade targets. */
import { describe, expect, it } from 'vitest';
import { windowAt } from '../../src/engine/windows.js';
import { InMemorySpendStore, type SpendPolicy } from '../../src/index.js';
import type { SettleRequest } from '../../src/engine/spend-store.js';
import { call, makeGuard, policy } from '../helpers/engine.js';

/** $1 per Mtok input, $10 per Mtok output: 1e4 input tokens = 1c, 1e3 output tokens = 1c. */
const pricing = { overrides: { openai: { m: { inputPerMTok: 1, outputPerMTok: 10 }, cheap: { inputPerMTok: 0.1, outputPerMTok: 1 } } } };
const dayCap = policy({ caps: [{ id: 'day', amountCents: 1_000_000, window: 'per_day', action: 'block' }] });
const dayKey = (nowMs: number) => `p-1:day|tenantId=acme|per_day@${windowAt('per_day', nowMs).label}`;
const setup = (extra: Parameters<typeof makeGuard>[0] = {}) => makeGuard({ policy: dayCap, pricing, ...extra });

describe('implausible usage is capped at the call’s bound and flagged', () => {
  it('1e15 tokens on a 100-token call: charged at the bound, the outcome says what was reported', async () => {
    const { guard, spendStore, clock } = setup({ maxTokensPerCall: 1_000_000 });
    const r = await guard.decide(call({ model: 'm', estimatedInputTokens: 100, maxOutputTokens: 100 }));
    const entry = await guard.settle(r, { inputTokens: 1e15, outputTokens: 1e15, cachedInputTokens: 1e14, reasoningTokens: 1e14 });
    // Input at the per-call ceiling (1e6 tokens = 100c), output at the bound it was sent with (100 tokens = 0.1c).
    expect(entry.decision).toMatchObject({
      actualCents: 101,
      actualInputTokens: 1_000_000,
      actualOutputTokens: 100,
      reportedInputTokens: 1e15,
      reportedOutputTokens: 1e15,
    });
    expect(entry.decision.actualCachedInputTokens).toBeLessThanOrEqual(1_000_000);
    expect(entry.decision.actualReasoningTokens).toBe(100);
    expect(entry.decision.reasons.join('\n')).toMatch(/usage capped: 1000000000000000 output tokens reported, above the call's bound of 100/);
    expect(await spendStore.read([dayKey(clock.nowMs)], clock.nowMs)).toEqual([101]);
  });

  it('the default ceiling keeps a runaway report in the tens of dollars, not 6·10¹⁰ cents', async () => {
    const { guard } = setup();
    const r = await guard.decide(call({ model: 'm', estimatedInputTokens: 100, maxOutputTokens: 100 }));
    const entry = await guard.settle(r, { inputTokens: 1e15, outputTokens: 50 });
    expect(entry.decision.actualCents).toBe(1001); // 1e7 input tokens at $1/Mtok, plus 50 output tokens
    expect(entry.decision.reportedInputTokens).toBe(1e15);
    expect(entry.decision.reportedOutputTokens).toBeUndefined();
  });

  it('usage within the bound is charged as reported, with no flag', async () => {
    const { guard } = setup();
    const r = await guard.decide(call({ model: 'm', estimatedInputTokens: 100, maxOutputTokens: 100 }));
    const entry = await guard.settle(r, { inputTokens: 50_000, outputTokens: 100 });
    expect(entry.decision).toMatchObject({ actualInputTokens: 50_000, actualOutputTokens: 100, actualCents: 6 });
    expect(entry.decision).not.toHaveProperty('reportedInputTokens');
    expect(entry.decision).not.toHaveProperty('reportedOutputTokens');
  });

  it('a call sent without an output bound is capped at the per-call ceiling, not at the model maximum it was projected with', async () => {
    const { guard } = setup({ maxTokensPerCall: 5_000 });
    const r = await guard.decide(call({ model: 'm', estimatedInputTokens: 10, maxOutputTokens: 1_000, outputBoundSent: false }));
    const entry = await guard.settle(r, { inputTokens: 10, outputTokens: 3_000 });
    expect(entry.decision).toMatchObject({ actualOutputTokens: 3_000 });
    const over = await guard.settle(await guard.decide(call({ model: 'm', estimatedInputTokens: 10, maxOutputTokens: 1_000, outputBoundSent: false })), {
      inputTokens: 10,
      outputTokens: 9_000,
    });
    expect(over.decision).toMatchObject({ actualOutputTokens: 5_000, reportedOutputTokens: 9_000 });
  });

  it('release caps reported usage the same way', async () => {
    const { guard } = setup({ maxTokensPerCall: 1_000 });
    const r = await guard.decide(call({ model: 'm', estimatedInputTokens: 10, maxOutputTokens: 10 }));
    const entry = await guard.release(r, 'StreamAbandoned', { inputTokens: 10, outputTokens: 1e12 });
    expect(entry.decision).toMatchObject({ outcome: 'released', actualOutputTokens: 10, reportedOutputTokens: 1e12 });
  });
});

describe('unanswered attempts are charged the projection each', () => {
  it('settle: the reported attempt plus two that timed out', async () => {
    const { guard } = setup();
    const r = await guard.decide(call({ model: 'm', estimatedInputTokens: 10_000, maxOutputTokens: 1_000 })); // projection 2c
    const entry = await guard.settle(r, { inputTokens: 10_000, outputTokens: 500 }, { unansweredAttempts: 2 });
    expect(entry.decision).toMatchObject({ actualInputTokens: 30_000, actualOutputTokens: 2_500, actualCents: 6, unansweredAttempts: 2 });
    expect(entry.decision.reasons.join('\n')).toContain('charged 2 unanswered attempts at the projection');
  });

  it('release: every attempt timed out, none reported usage', async () => {
    const { guard } = setup();
    const r = await guard.decide(call({ model: 'm', estimatedInputTokens: 10_000, maxOutputTokens: 1_000 }));
    const entry = await guard.release(r, 'APIConnectionTimeoutError', undefined, { unansweredAttempts: 3 });
    expect(entry.decision).toMatchObject({ outcome: 'released', actualInputTokens: 30_000, actualOutputTokens: 3_000, actualCents: 6, unansweredAttempts: 3 });
  });

  it('rejects a bad count', async () => {
    const { guard } = setup();
    const r = await guard.decide(call({ model: 'm', estimatedInputTokens: 1, maxOutputTokens: 1 }));
    await expect(guard.release(r, 'x', undefined, { unansweredAttempts: -1 })).rejects.toThrow(/unansweredAttempts: expected a non-negative integer, got -1/);
  });
});

/** A spend store whose settle fails `failures` times (e.g. SQLite busy) before it works again. */
class FlakySettleStore extends InMemorySpendStore {
  settles = 0;
  constructor(public failures: number) {
    super();
  }
  override async settle(req: SettleRequest) {
    this.settles++;
    if (this.failures-- > 0) throw Object.assign(new Error('database is locked (path /secret/spend.db)'), { name: 'SpendStoreError' });
    return super.settle(req);
  }
}

describe('a failed settlement is retried, and its outcome always logged', () => {
  it('a store that recovers: settled on a retry, the counter holds the actual cost', async () => {
    const spendStore = new FlakySettleStore(2);
    const { guard, logStore, clock } = setup({ spendStore });
    const r = await guard.decide(call({ model: 'm', estimatedInputTokens: 0, maxOutputTokens: 50_000 })); // 50c reserved
    const entry = await guard.settle(r, { inputTokens: 0, outputTokens: 1_000 });
    expect(spendStore.settles).toBe(3);
    expect(entry.decision).toMatchObject({ outcome: 'settled', actualCents: 1, windowSpendAfter: 1 });
    expect(await spendStore.read([dayKey(clock.nowMs)], clock.nowMs)).toEqual([1]);
    expect(logStore.entries().map((e) => (e.decision as { entryType: string }).entryType)).toEqual(['decision', 'outcome']);
  });

  it('a store that stays down: the outcome is logged all the same, saying so (class name only)', async () => {
    const spendStore = new FlakySettleStore(Infinity);
    const { guard, logStore } = setup({ spendStore });
    const r = await guard.decide(call({ model: 'm', estimatedInputTokens: 0, maxOutputTokens: 50_000 }));
    const entry = await guard.settle(r, { inputTokens: 0, outputTokens: 1_000 });
    expect(spendStore.settles).toBe(4);
    expect(entry.decision).toMatchObject({ entryType: 'outcome', outcome: 'settled', actualCents: 1, windowSpendAfter: 50 });
    const reasons = entry.decision.reasons.join('\n');
    expect(reasons).toContain('spend store did not settle after 4 attempts (SpendStoreError)');
    expect(reasons).not.toContain('/secret');
    expect(logStore.entries()).toHaveLength(2);
  });
});

describe('a downgrade target without a price', () => {
  const downgradeTo = (target: string, scope: SpendPolicy['scope'] = { tenantId: 'acme' }) =>
    policy({ scope, caps: [{ id: 'soft', amountCents: 5, window: 'per_day', action: 'downgrade', downgradeTo: target, reason: 'soft limit' }] });

  it('is refused when the guard is built, naming the policy, the cap and the model', () => {
    expect(() => setup({ policy: downgradeTo('gpt-nonexistent') })).toThrow(
      'policy p-1: caps[0] (per_day, 5c, "soft limit") downgrades to "gpt-nonexistent", which has no price for any of the providers openai, anthropic, bedrock',
    );
  });

  it('is checked for the provider the policy is scoped to', () => {
    expect(() => setup({ policy: downgradeTo('cheap', { tenantId: 'acme', provider: 'anthropic' }) })).toThrow(
      /downgrades to "cheap", which has no price for provider anthropic/,
    );
    expect(() => setup({ policy: downgradeTo('cheap', { tenantId: 'acme', provider: 'openai' }) })).not.toThrow();
    expect(() => setup({ policy: downgradeTo('gpt-4o-mini') })).not.toThrow(); // the bundled table prices it
  });

  it('is refused by setPolicies, which keeps the policies in force', () => {
    const { guard } = setup();
    expect(() => guard.setPolicies([downgradeTo('gpt-nonexistent')])).toThrow(/no price/);
    expect(guard.policies).toEqual([dayCap]);
  });

  it('is accepted with onUnknownModel: allow', () => {
    const { guard } = setup({ policy: downgradeTo('gpt-nonexistent'), onUnknownModel: 'allow' });
    expect(() => guard.setPolicies([downgradeTo('another-unknown')])).not.toThrow();
  });
});
