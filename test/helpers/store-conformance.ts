import { afterEach, describe, expect, it } from 'vitest';
import { generateKeypair, parsePolicy, SpendGuard } from '../../src/index.js';
import type { SpendStore, WindowHold } from '../../src/stores.js';

/** Makes a fresh, empty store (its own file, prefix or instance). */
export type StoreFactory = () => SpendStore | Promise<SpendStore>;

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const DAY_END = Date.UTC(2026, 0, 16);
const MONTH_END = Date.UTC(2026, 1, 1);
const TTL = 60_000;

const hold = (key: string, limitCents: number | null, expiresAtMs = DAY_END): WindowHold => ({ key, limitCents, expiresAtMs });

/**
 * The behaviour every {@link SpendStore} must share, as the in-memory store
 * defines it. Run once per implementation with a factory of fresh stores.
 */
export function spendStoreConformance(name: string, factory: StoreFactory): void {
  describe(`SpendStore conformance: ${name}`, () => {
    const open: SpendStore[] = [];
    const make = async () => {
      const s = await factory();
      open.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close?.()));
    });

    it('reserves in every hold and reports the counters before', async () => {
      const s = await make();
      const holds = [hold('a', 100), hold('b', null, MONTH_END)];
      expect(await s.reserve({ reservationId: 'r1', cents: 30, holds, nowMs: T0, ttlMs: TTL })).toEqual({ ok: true, before: [0, 0] });
      expect(await s.reserve({ reservationId: 'r2', cents: 20, holds, nowMs: T0 + 1, ttlMs: TTL })).toEqual({ ok: true, before: [30, 30] });
      expect(await s.read(['a', 'b', 'never-written'], T0 + 2)).toEqual([50, 50, 0]);
    });

    it('is all-or-nothing: one hold over its limit charges none and names every exceeded hold', async () => {
      const s = await make();
      await s.reserve({ reservationId: 'r1', cents: 90, holds: [hold('a', 100), hold('c', 95)], nowMs: T0, ttlMs: TTL });
      const r = await s.reserve({
        reservationId: 'r2',
        cents: 10,
        holds: [hold('a', 100), hold('b', 50), hold('c', 95), hold('d', null)],
        nowMs: T0,
        ttlMs: TTL,
      });
      expect(r).toEqual({ ok: false, before: [90, 0, 90, 0], exceeded: [2] });
      const r2 = await s.reserve({ reservationId: 'r3', cents: 60, holds: [hold('a', 100), hold('b', 50), hold('d', null)], nowMs: T0, ttlMs: TTL });
      expect(r2).toEqual({ ok: false, before: [90, 0, 0], exceeded: [0, 1] });
      expect(await s.read(['a', 'b', 'c', 'd'], T0)).toEqual([90, 0, 90, 0]);
    });

    it('allows reaching a limit exactly and refuses one cent more', async () => {
      const s = await make();
      expect((await s.reserve({ reservationId: 'r1', cents: 100, holds: [hold('a', 100)], nowMs: T0, ttlMs: TTL })).ok).toBe(true);
      expect(await s.reserve({ reservationId: 'r2', cents: 1, holds: [hold('a', 100)], nowMs: T0, ttlMs: TTL })).toEqual({
        ok: false,
        before: [100],
        exceeded: [0],
      });
      expect((await s.reserve({ reservationId: 'r3', cents: 0, holds: [hold('a', 100)], nowMs: T0, ttlMs: TTL })).ok).toBe(true);
    });

    it('charges holds without a limit unconditionally', async () => {
      const s = await make();
      for (let i = 0; i < 3; i++)
        expect((await s.reserve({ reservationId: `r${i}`, cents: 1_000, holds: [hold('a', null)], nowMs: T0, ttlMs: TTL })).ok).toBe(true);
      expect(await s.read(['a'], T0)).toEqual([3_000]);
    });

    it('settles to the actual spend: less gives back, more adds, zero releases', async () => {
      const s = await make();
      const holds = [hold('a', 100), hold('b', 1_000, MONTH_END)];
      for (const id of ['less', 'more', 'zero']) await s.reserve({ reservationId: id, cents: 20, holds, nowMs: T0, ttlMs: TTL });
      expect(await s.settle({ reservationId: 'less', holds, actualCents: 5, nowMs: T0 + 10 })).toEqual({ after: [45, 45] });
      expect(await s.settle({ reservationId: 'more', holds, actualCents: 35, nowMs: T0 + 20 })).toEqual({ after: [60, 60] });
      expect(await s.settle({ reservationId: 'zero', holds, actualCents: 0, nowMs: T0 + 30 })).toEqual({ after: [40, 40] });
      expect(await s.read(['a', 'b'], T0 + 40)).toEqual([40, 40]);
    });

    it('gives an unsettled reservation back at its TTL, not before', async () => {
      const s = await make();
      await s.reserve({ reservationId: 'dead', cents: 70, holds: [hold('a', 100), hold('b', null)], nowMs: T0, ttlMs: 5_000 });
      await s.reserve({ reservationId: 'live', cents: 10, holds: [hold('a', 100)], nowMs: T0 + 1_000, ttlMs: TTL });
      expect(await s.read(['a', 'b'], T0 + 4_999)).toEqual([80, 70]);
      expect(await s.reserve({ reservationId: 'x', cents: 30, holds: [hold('a', 100)], nowMs: T0 + 4_999, ttlMs: TTL })).toEqual({
        ok: false,
        before: [80],
        exceeded: [0],
      });
      expect(await s.reserve({ reservationId: 'y', cents: 30, holds: [hold('a', 100)], nowMs: T0 + 5_000, ttlMs: TTL })).toEqual({ ok: true, before: [10] });
      expect(await s.read(['a', 'b'], T0 + 5_001)).toEqual([40, 0]);
    });

    it('a reservation settled after its TTL charges the actual spend to the live windows', async () => {
      const s = await make();
      const holds = [hold('a', 100), hold('b', null, MONTH_END)];
      await s.reserve({ reservationId: 'slow', cents: 50, holds, nowMs: T0, ttlMs: 1_000 });
      expect(await s.read(['a', 'b'], T0 + 2_000)).toEqual([0, 0]);
      expect(await s.settle({ reservationId: 'slow', holds, actualCents: 12, nowMs: T0 + 3_000 })).toEqual({ after: [12, 12] });
      expect(await s.read(['a', 'b'], T0 + 3_000)).toEqual([12, 12]);
    });

    it('counters read 0 from their window end and a new reservation starts from 0', async () => {
      const s = await make();
      await s.reserve({ reservationId: 'r1', cents: 100, holds: [hold('day', 100, DAY_END), hold('month', 500, MONTH_END)], nowMs: T0, ttlMs: 24 * 3_600_000 });
      expect(await s.read(['day', 'month'], DAY_END - 1)).toEqual([100, 100]);
      expect(await s.read(['day', 'month'], DAY_END)).toEqual([0, 100]);
      const next = await s.reserve({
        reservationId: 'r2',
        cents: 100,
        holds: [hold('day', 100, DAY_END + 86_400_000), hold('month', 500, MONTH_END)],
        nowMs: DAY_END,
        ttlMs: TTL,
      });
      expect(next).toEqual({ ok: true, before: [0, 100] });
    });

    it('settling after a window ended charges only the windows still live (the ended ones read 0)', async () => {
      const s = await make();
      const holds = [hold('day', 100, DAY_END), hold('month', 500, MONTH_END)];
      await s.reserve({ reservationId: 'r1', cents: 40, holds, nowMs: DAY_END - 10, ttlMs: TTL });
      expect(await s.settle({ reservationId: 'r1', holds, actualCents: 60, nowMs: DAY_END + 10 })).toEqual({ after: [0, 60] });
      expect(await s.read(['day', 'month'], DAY_END + 10)).toEqual([0, 60]);
      // The same after the reservation expired.
      const holds2 = [hold('day-b', 100, DAY_END), hold('month', 500, MONTH_END)];
      await s.reserve({ reservationId: 'r2', cents: 40, holds: holds2, nowMs: DAY_END - 10, ttlMs: 5 });
      expect(await s.settle({ reservationId: 'r2', holds: holds2, actualCents: 7, nowMs: DAY_END + 10 })).toEqual({ after: [0, 67] });
    });

    it('refuses a reservation id that is already held, charging nothing', async () => {
      const s = await make();
      await s.reserve({ reservationId: 'dup', cents: 10, holds: [hold('a', 100)], nowMs: T0, ttlMs: TTL });
      await expect(s.reserve({ reservationId: 'dup', cents: 10, holds: [hold('a', 100)], nowMs: T0, ttlMs: TTL })).rejects.toThrow(
        /reservation dup already exists/,
      );
      expect(await s.read(['a'], T0)).toEqual([10]);
    });

    it('keeps keys with any characters apart and large cent values exact', async () => {
      const s = await make();
      const keys = ['p:0|tenantId=t{1},teamId=x|per_day@2026-01-15', 'p:0|tenantId=t{1},teamId=x|per_day@2026-01-16', 'ключ 🔑 %7B}', 'q\'"\\\n'];
      const big = 9_007_199_254_740; // ~$90 billion: far above any cap, still exact
      const r = await s.reserve({ reservationId: 'r1', cents: big, holds: keys.map((k) => hold(k, null)), nowMs: T0, ttlMs: TTL });
      expect(r).toEqual({ ok: true, before: [0, 0, 0, 0] });
      await s.reserve({ reservationId: 'r2', cents: 1, holds: [hold(keys[1]!, null)], nowMs: T0, ttlMs: TTL });
      expect(await s.read(keys, T0)).toEqual([big, big + 1, big, big]);
      expect(await s.settle({ reservationId: 'r1', holds: keys.map((k) => hold(k, null)), actualCents: big - 1, nowMs: T0 })).toEqual({
        after: [big - 1, big, big - 1, big - 1],
      });
    });

    it('1000 concurrent reservations against one cap: exactly floor(cap / cents) get through', async () => {
      const s = await make();
      const holds = [hold('cap', 1_000), hold('month', null, MONTH_END)];
      const results = await Promise.all(Array.from({ length: 1_000 }, (_, i) => s.reserve({ reservationId: `c${i}`, cents: 3, holds, nowMs: T0, ttlMs: TTL })));
      const ok = results.filter((r) => r.ok);
      expect(ok).toHaveLength(333);
      for (const r of ok) expect(r.before[0]! + 3).toBeLessThanOrEqual(1_000);
      expect(await s.read(['cap', 'month'], T0)).toEqual([999, 999]);
      await Promise.all(results.map((r, i) => (r.ok ? s.settle({ reservationId: `c${i}`, holds, actualCents: i % 2 ? 3 : 2, nowMs: T0 + 1 }) : null)));
      const settled = results.reduce((sum, r, i) => sum + (r.ok ? (i % 2 ? 3 : 2) : 0), 0);
      expect(await s.read(['cap', 'month'], T0 + 1)).toEqual([settled, settled]);
      expect(settled).toBeLessThanOrEqual(1_000);
    });

    describe('through SpendGuard with an injected clock', () => {
      const PRICE = { openai: { 'cents-per-token': { inputPerMTok: 10_000, outputPerMTok: 10_000 } } }; // 1 cent per token
      const policy = parsePolicy({
        id: 'edges',
        name: 'window edges',
        scope: { tenantId: 't1' },
        mode: 'enforce',
        version: 1,
        effectiveFrom: '2020-01-01T00:00:00Z',
        caps: [
          { amountCents: 25, window: 'per_day', action: 'block', reason: 'daily' },
          { amountCents: 45, window: 'per_month', action: 'block', reason: 'monthly' },
        ],
      });

      async function guardAt(store: SpendStore) {
        let now = 0;
        const guard = new SpendGuard({ signingKeys: generateKeypair(), policy, spendStore: store, pricing: { overrides: PRICE }, clock: () => now });
        return async (iso: string, settleAt?: string) => {
          now = Date.parse(iso);
          const r = await guard.decide({
            provider: 'openai',
            model: 'cents-per-token',
            scope: { tenantId: 't1' },
            estimatedInputTokens: 10,
            maxOutputTokens: 0,
          });
          if (r.action !== 'block') {
            if (settleAt) now = Date.parse(settleAt);
            await guard.settle(r, { inputTokens: 10, outputTokens: 0 });
          }
          return r.action === 'block' ? `block:${r.decision.triggeredCap?.window}` : r.action;
        };
      }

      it('calls either side of UTC midnight and of a month end land in their own windows', async () => {
        const call = await guardAt(await make());
        expect(await call('2026-01-31T23:59:59.998Z')).toBe('allow'); // day 10, month 10
        expect(await call('2026-01-31T23:59:59.999Z')).toBe('allow'); // day 20, month 20
        expect(await call('2026-01-31T23:59:59.999Z')).toBe('block:per_day'); // day would be 30
        expect(await call('2026-02-01T00:00:00.000Z')).toBe('allow'); // new day 10, new month 10
        expect(await call('2026-02-01T23:59:59.999Z')).toBe('allow'); // day 20, month 20
        expect(await call('2026-02-02T00:00:00.000Z')).toBe('allow'); // day 10, month 30
        expect(await call('2026-02-02T12:00:00.000Z')).toBe('allow'); // day 20, month 40
        expect(await call('2026-02-03T00:00:00.000Z')).toBe('block:per_month'); // month would be 50
        expect(await call('2026-02-28T23:59:59.999Z')).toBe('block:per_month');
        expect(await call('2026-03-01T00:00:00.000Z')).toBe('allow'); // February over
      });

      it('a call reserved before midnight and settled after does not charge the new day', async () => {
        const call = await guardAt(await make());
        expect(await call('2026-12-31T23:59:59.990Z')).toBe('allow'); // day 10
        expect(await call('2026-12-31T23:59:59.995Z', '2027-01-01T00:00:00.005Z')).toBe('allow'); // settled in the new year
        expect(await call('2027-01-01T00:00:00.010Z')).toBe('allow'); // day 10
        expect(await call('2027-01-01T00:00:00.020Z')).toBe('allow'); // day 20
        expect(await call('2027-01-01T00:00:00.030Z')).toBe('block:per_day');
      });
    });
  });
}
