import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeypair, parsePolicy, SpendGuard, SpendStoreError } from '../../src/index.js';
import { RedisSpendStore, TENANT_HASH_TAG } from '../../src/stores.js';
import { spendStoreConformance } from '../helpers/store-conformance.js';
import { freePort, testRedis } from '../helpers/redis-server.js';

const redis = await testRedis();
const url = redis?.url ?? 'redis://unused';
afterAll(() => redis?.stop());

describe.skipIf(!redis)('RedisSpendStore (real redis-server)', () => {
  const admin = new Redis(url);
  afterAll(() => admin.quit());
  const prefix = () => `agtest:${randomUUID()}:`;

  spendStoreConformance('RedisSpendStore', () => new RedisSpendStore({ url, prefix: prefix() }));
  spendStoreConformance('RedisSpendStore (tenant hash tags)', () => new RedisSpendStore({ url, prefix: prefix(), hashTag: () => 't1' }));

  const nowMs = Date.now();
  const hold = (key: string, limitCents: number | null = 100, expiresAtMs = nowMs + 3_600_000) => ({ key, limitCents, expiresAtMs });

  it('keeps every key of a store under its prefix and one hash tag, with counters expiring at the window end', async () => {
    const p = prefix();
    const s = new RedisSpendStore({ url, prefix: p });
    await s.reserve({ reservationId: 'r1', cents: 7, holds: [hold('a'), hold('b', null, nowMs + 60_000)], nowMs, ttlMs: 30_000 });
    const keys = (await admin.keys(`${p}*`)).sort();
    expect(keys).toEqual([`${p}{agentguard}:c:a`, `${p}{agentguard}:c:b`, `${p}{agentguard}:epoch`, `${p}{agentguard}:rdl`, `${p}{agentguard}:res`]);
    // PEXPIRE = window remaining (by the caller's clock) + 60 s grace for clock skew.
    const ttlA = await admin.pttl(`${p}{agentguard}:c:a`);
    const ttlB = await admin.pttl(`${p}{agentguard}:c:b`);
    expect(ttlA).toBeGreaterThan(3_600_000 + 60_000 - 5_000);
    expect(ttlA).toBeLessThanOrEqual(3_600_000 + 60_000);
    expect(ttlB).toBeGreaterThan(120_000 - 5_000);
    expect(ttlB).toBeLessThanOrEqual(120_000);
    expect(await admin.hgetall(`${p}{agentguard}:c:a`)).toEqual({ v: '7', e: String(nowMs + 3_600_000) });
    await s.settle({ reservationId: 'r1', holds: [hold('a'), hold('b', null, nowMs + 60_000)], actualCents: 3, nowMs });
    // Settled: no reservation bookkeeping is left behind.
    expect((await admin.keys(`${p}*`)).sort()).toEqual([`${p}{agentguard}:c:a`, `${p}{agentguard}:c:b`, `${p}{agentguard}:epoch`]);
    await s.close();
  });

  it('an ended window vanishes from the server (PEXPIRE), not only reads 0', async () => {
    const p = prefix();
    const s = new RedisSpendStore({ url, prefix: p, graceMs: 0 });
    await s.reserve({ reservationId: 'r1', cents: 7, holds: [hold('short', 100, nowMs + 150)], nowMs, ttlMs: 100 });
    expect(await admin.exists(`${p}{agentguard}:c:short`)).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    expect(await admin.exists(`${p}{agentguard}:c:short`)).toBe(0);
    await s.close();
  });

  it('loads its scripts again after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const s = new RedisSpendStore({ url, prefix: prefix() });
    expect((await s.reserve({ reservationId: 'r1', cents: 1, holds: [hold('a')], nowMs, ttlMs: 1_000 })).ok).toBe(true);
    await admin.script('FLUSH');
    expect((await s.reserve({ reservationId: 'r2', cents: 1, holds: [hold('a')], nowMs, ttlMs: 1_000 })).ok).toBe(true);
    expect(await s.read(['a'], nowMs)).toEqual([2]);
    await s.close();
  });

  it('works on a client the caller owns, and leaves it open on close', async () => {
    const client = new Redis(url);
    const s = new RedisSpendStore({ client, prefix: prefix() });
    expect((await s.reserve({ reservationId: 'r1', cents: 1, holds: [hold('a')], nowMs, ttlMs: 1_000 })).ok).toBe(true);
    await s.close();
    expect(await client.ping()).toBe('PONG');
    await client.quit();
  });

  it('TENANT_HASH_TAG puts each tenant in its own tag and rejects a key without a tenant', async () => {
    const p = prefix();
    const s = new RedisSpendStore({ url, prefix: p, hashTag: TENANT_HASH_TAG });
    const k1 = 'pol:0|tenantId=acme,teamId=x|per_day@2026-11-25';
    const k2 = 'pol2:0|tenantId=acme|per_month@2026-11';
    const k3 = 'pol3:0|tenantId=glob{ex}|per_day@2026-11-25';
    await s.reserve({ reservationId: 'r1', cents: 5, holds: [hold(k1), hold(k2)], nowMs, ttlMs: 1_000 });
    await s.reserve({ reservationId: 'r2', cents: 6, holds: [hold(k3)], nowMs, ttlMs: 1_000 });
    expect(await s.read([k1, k3, k2], nowMs)).toEqual([5, 6, 5]);
    expect((await admin.keys(`${p}*`)).filter((k) => k.includes(':c:')).sort()).toEqual(
      [`${p}{acme}:c:${k1}`, `${p}{acme}:c:${k2}`, `${p}{glob%7Bex%7D}:c:${k3}`].sort(),
    );
    await expect(s.reserve({ reservationId: 'r3', cents: 1, holds: [hold('pol4:0|teamId=x|per_day@2026-11-25')], nowMs, ttlMs: 1_000 })).rejects.toThrow(
      /hashTag 'tenant' needs tenantId/,
    );
    const mixed = new RedisSpendStore({ url, prefix: p, hashTag: (k) => k.slice(0, 1) });
    await expect(mixed.reserve({ reservationId: 'r4', cents: 1, holds: [hold('a1'), hold('b1')], nowMs, ttlMs: 1_000 })).rejects.toThrow(SpendStoreError);
    await Promise.all([s.close(), mixed.close()]);
  });

  it('fails closed with a SpendStoreError naming the server (no password) when Redis is unreachable', async () => {
    const dead = `redis://agent:s3cret@127.0.0.1:${await freePort()}`;
    const s = new RedisSpendStore({ url: dead, commandTimeoutMs: 200 });
    const started = Date.now();
    const err = await s.reserve({ reservationId: 'r1', cents: 1, holds: [hold('a')], nowMs, ttlMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpendStoreError);
    expect((err as Error).message).toMatch(/redis spend store redis:\/\/agent:\*\*\*@127\.0\.0\.1:\d+.*failing closed/);
    expect((err as Error).message).not.toContain('s3cret');
    expect(Date.now() - started).toBeLessThan(5_000);

    // Through the engine: the call fails instead of spending uncounted.
    const guard = new SpendGuard({
      signingKeys: generateKeypair(),
      spendStore: s,
      pricing: { overrides: { openai: { m: { inputPerMTok: 1, outputPerMTok: 1 } } } },
      policy: parsePolicy({
        id: 'p',
        name: 'p',
        scope: { tenantId: 't' },
        mode: 'enforce',
        version: 1,
        effectiveFrom: '2020-01-01T00:00:00Z',
        caps: [{ amountCents: 100, window: 'per_day', action: 'block', reason: 'r' }],
      }),
    });
    await expect(guard.decide({ provider: 'openai', model: 'm', scope: { tenantId: 't' }, estimatedInputTokens: 10, maxOutputTokens: 10 })).rejects.toThrow(
      SpendStoreError,
    );
    await s.close();
  });

  it('a Redis that stops answering mid-flight fails closed within commandTimeoutMs', async () => {
    const { startRedisServer } = await import('../helpers/redis-server.js');
    const own = await startRedisServer();
    const s = new RedisSpendStore({ url: own.url, prefix: prefix(), commandTimeoutMs: 300 });
    expect((await s.reserve({ reservationId: 'r1', cents: 1, holds: [hold('a')], nowMs, ttlMs: 1_000 })).ok).toBe(true);
    own.process.kill('SIGSTOP'); // alive but silent: the worst case for a client
    try {
      const started = Date.now();
      await expect(s.reserve({ reservationId: 'r2', cents: 1, holds: [hold('a')], nowMs, ttlMs: 1_000 })).rejects.toThrow(/timed out.*failing closed/i);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      own.process.kill('SIGCONT');
    }
    await s.close();
    await own.stop();
  });
});
