import { describe, expect, it } from 'vitest';
import { generateKeypair, parsePolicy, SpendGuard } from '../../src/index.js';

describe('a call that outlives its reservation', () => {
  it('gives the hold back at expiry and still charges the real cost when it settles', async () => {
    let now = Date.parse('2026-11-25T10:00:00Z');
    const guard = new SpendGuard({
      signingKeys: generateKeypair(),
      clock: () => now,
      reservationTtlMs: 1000,
      metrics: false,
      policy: parsePolicy({
        id: 'p',
        name: 'p',
        scope: { tenantId: 't' },
        mode: 'enforce',
        version: 1,
        effectiveFrom: '2026-01-01T00:00:00Z',
        caps: [{ amountCents: 100, window: 'per_day', action: 'block', reason: 'daily' }],
      }),
    });
    const call = { provider: 'openai', model: 'gpt-4o', scope: { tenantId: 't' }, maxOutputTokens: 0 };
    // 40k input tokens of gpt-4o = 10c reserved.
    const long = await guard.decide({ ...call, estimatedInputTokens: 40_000 });
    expect(long.decision.windowSpendAfter).toBe(10);

    now += 5000; // past the TTL: the hold is given back
    const probe = await guard.decide({ ...call, estimatedInputTokens: 0 });
    expect(probe.decision.windowSpendBefore).toBe(0);
    await guard.release(probe, 'probe');

    // The long call ends after its TTL: its 20k input tokens (5c) are still charged.
    const outcome = await guard.settle(long, { inputTokens: 20_000, outputTokens: 0 });
    expect(outcome.decision.actualCents).toBe(5);
    expect(outcome.decision.windowSpendAfter).toBe(5);
    expect(guard.pendingCount).toBe(0);
  });
});

describe('a call no policy applies to', () => {
  it('is recorded in the configured mode: allowed when priced, blocked when the model is unknown', async () => {
    const guard = new SpendGuard({ signingKeys: generateKeypair(), metrics: false, policies: [] });
    const call = { provider: 'openai', scope: { tenantId: 'nobody' }, estimatedInputTokens: 10, maxOutputTokens: 10 };
    const known = await guard.decide({ ...call, model: 'gpt-4o' });
    expect(known.decision).toMatchObject({ action: 'allow', enforcementMode: 'enforce', policyId: 'none', policyVersion: 0 });
    const unknown = await guard.decide({ ...call, model: 'no-such-model' });
    expect(unknown.decision).toMatchObject({ action: 'block', enforcementMode: 'enforce' });
    const shadow = new SpendGuard({ signingKeys: generateKeypair(), metrics: false, policies: [], modeOverride: 'shadow' });
    const passed = await shadow.decide({ ...call, model: 'no-such-model' });
    expect([passed.action, passed.decision.enforcementMode]).toEqual(['allow', 'shadow']);
  });
});

describe('cap ids', () => {
  it('must be unique within a policy (they key the counters)', () => {
    expect(() =>
      parsePolicy({
        id: 'p',
        name: 'p',
        scope: { tenantId: 't' },
        mode: 'enforce',
        version: 1,
        effectiveFrom: '2026-01-01T00:00:00Z',
        caps: [
          { id: 'daily', amountCents: 1, window: 'per_day', action: 'block', reason: 'a' },
          { id: 'daily', amountCents: 2, window: 'per_day', action: 'block', reason: 'b' },
        ],
      }),
    ).toThrow(/caps\[1\]\.id: duplicate cap id "daily"/);
  });
});

describe('counter keys', () => {
  it('keep scopes apart even when a value contains the key separators', async () => {
    const guard = new SpendGuard({
      signingKeys: generateKeypair(),
      metrics: false,
      policy: parsePolicy({
        id: 'p',
        name: 'p',
        scope: { tenantId: 't' },
        mode: 'enforce',
        version: 1,
        effectiveFrom: '2026-01-01T00:00:00Z',
        caps: [{ amountCents: 100, window: 'per_day', action: 'block', reason: 'daily', selector: ['tenantId', 'teamId', 'userId'] }],
      }),
    });
    const call = { provider: 'openai', model: 'gpt-4o', estimatedInputTokens: 40_000, maxOutputTokens: 0 };
    // Unencoded, both spelled the counter key "…|tenantId=t,teamId=x,userId=y,userId=z|…".
    const a = await guard.decide({ ...call, scope: { tenantId: 't', teamId: 'x,userId=y', userId: 'z' } });
    const b = await guard.decide({ ...call, scope: { tenantId: 't', teamId: 'x', userId: 'y,userId=z' } });
    expect(a.decision.windowSpendAfter).toBe(10);
    expect(b.decision.windowSpendBefore).toBe(0);
  });
});
