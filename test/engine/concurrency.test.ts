import { describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit.js';
import { windowAt } from '../../src/engine/windows.js';
import { call, KEYS, makeGuard, policy } from '../helpers/engine.js';

describe('concurrency', () => {
  it('1000 concurrent decides against a 1000c cap, 3c each: exactly 333 allowed, the chain of 1000 verifies', async () => {
    const { guard, spendStore, logStore, clock } = makeGuard({
      policy: policy({ caps: [{ id: 'day', amountCents: 1000, window: 'per_day', action: 'block' }] }),
    });
    // gpt-4o output is $10/Mtok: 3000 tokens = exactly 3 cents.
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => guard.decide(call({ maxOutputTokens: 3000, spanId: i.toString(16).padStart(16, '0') }))),
    );
    const allowed = results.filter((r) => r.action === 'allow');
    const blocked = results.filter((r) => r.action === 'block');
    expect(results.every((r) => r.decision.projectedCents === 3)).toBe(true);
    expect(allowed).toHaveLength(Math.floor(1000 / 3));
    expect(blocked).toHaveLength(1000 - Math.floor(1000 / 3));
    const key = `p-1:day|tenantId=acme|per_day@${windowAt('per_day', clock.nowMs).label}`;
    expect(await spendStore.read([key], clock.nowMs)).toEqual([999]);
    expect(spendStore.openReservations).toBe(333);
    // No allowed decision saw a window past the cap; each allowed one raised it by 3.
    const afters = allowed.map((r) => r.decision.windowSpendAfter).sort((a, b) => a - b);
    expect(afters).toEqual(Array.from({ length: 333 }, (_, i) => 3 * (i + 1)));
    for (const b of blocked) expect(b.decision.windowSpendBefore + 3).toBeGreaterThan(1000);

    const entries = logStore.entries();
    expect(entries).toHaveLength(1000);
    entries.forEach((e, i) => expect(e.sequence).toBe(i));
    expect(new Set(entries.map((e) => (e.decision as { decisionId: string }).decisionId)).size).toBe(1000);
    expect(verifyChain(entries, KEYS.publicKey)).toEqual({ ok: true, count: 1000 });

    // Settling all of them concurrently keeps the chain intact and the counter exact.
    await Promise.all(allowed.map((r) => guard.settle(r, { inputTokens: 0, outputTokens: 1000 })));
    expect(await spendStore.read([key], clock.nowMs)).toEqual([333]);
    expect(spendStore.openReservations).toBe(0);
    expect(verifyChain(logStore.entries(), KEYS.publicKey)).toEqual({ ok: true, count: 1333 });
  });

  it('concurrent decides across two windows and two agents never pass either cap', async () => {
    const { guard, spendStore, clock } = makeGuard({
      policy: policy({
        caps: [
          { id: 'agent', amountCents: 100, window: 'per_hour', action: 'block', selector: ['tenantId', 'agentId'] },
          { id: 'tenant', amountCents: 150, window: 'per_day', action: 'block' },
        ],
      }),
    });
    const results = await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        guard.decide(call({ maxOutputTokens: 1000 * (1 + (i % 3)), scope: { tenantId: 'acme', agentId: i % 2 ? 'a' : 'b' } })),
      ),
    );
    const spentBy = (agent: string) =>
      results.filter((r) => r.action === 'allow' && r.decision.actor?.agentId === agent).reduce((s, r) => s + r.decision.projectedCents, 0);
    expect(spentBy('a')).toBeLessThanOrEqual(100);
    expect(spentBy('b')).toBeLessThanOrEqual(100);
    expect(spentBy('a') + spentBy('b')).toBeLessThanOrEqual(150);
    const label = windowAt('per_day', clock.nowMs).label;
    expect(await spendStore.read([`p-1:tenant|tenantId=acme|per_day@${label}`], clock.nowMs)).toEqual([spentBy('a') + spentBy('b')]);
    // The cheapest calls (1c) keep fitting until the tenant cap is exactly full.
    expect(spentBy('a') + spentBy('b')).toBe(150);
  });
});

describe('concurrency with caps on models and downgrades', () => {
  it('300 concurrent Opus calls: the Opus soft cap and the budget both hold, overflow goes to Sonnet, then blocks', async () => {
    const pricing = {
      overrides: { anthropic: { 'claude-opus-4-1': { inputPerMTok: 15, outputPerMTok: 75 }, 'claude-sonnet-4-5': { inputPerMTok: 3, outputPerMTok: 15 } } },
    };
    const { guard, spendStore, logStore, clock } = makeGuard({
      pricing,
      policy: policy({
        caps: [
          { id: 'opus', amountCents: 100, window: 'per_day', action: 'downgrade', downgradeTo: 'claude-sonnet-4-5', models: ['claude-opus-*'] },
          { id: 'all', amountCents: 200, window: 'per_day', action: 'block' },
        ],
      }),
    });
    // Opus 1000 output tokens = 7.5c → 8c; Sonnet 1.5c → 2c.
    const results = await Promise.all(
      Array.from({ length: 300 }, () => guard.decide(call({ provider: 'anthropic', model: 'claude-opus-4-1', maxOutputTokens: 1000 }))),
    );
    const count = (action: string) => results.filter((r) => r.action === action).length;
    // 12 Opus calls (96c) fill the Opus window; then Sonnet, until the budget cannot take an Opus call's
    // 8c: from there the block cap fires at the requested model and wins over the downgrade
    // (96 + 49 × 2 = 194; 194 + 8 > 200). Every other call blocks.
    expect([count('allow'), count('downgrade'), count('block')]).toEqual([12, 49, 239]);
    const label = windowAt('per_day', clock.nowMs).label;
    expect(
      await spendStore.read([`p-1:opus|tenantId=acme|models=claude-opus-*|per_day@${label}`, `p-1:all|tenantId=acme|per_day@${label}`], clock.nowMs),
    ).toEqual([96, 194]);
    expect(spendStore.openReservations).toBe(61);
    expect(verifyChain(logStore.entries(), KEYS.publicKey)).toEqual({ ok: true, count: 300 });
  });
});
