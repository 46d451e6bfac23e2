import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { SpendStoreError } from '../../src/index.js';
import { RedisSpendStore, spendStoreFromUrl } from '../../src/stores.js';
import { hasRedisServerBinary, startRedisServer, testRedis } from '../helpers/redis-server.js';

const root = join(import.meta.dirname, '..', '..');
const haveBinary = hasRedisServerBinary();
const shared = await testRedis();

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

const DAY = 86_400_000;
const nowMs = Date.now();
const hold = (limitCents: number) => [{ key: 'daily|tenantId=t', limitCents, expiresAtMs: nowMs + DAY }];

/** A redis-server without persistence that the test can restart on the same port (losing every key, as a real restart does). */
async function restartableRedis() {
  const first = await startRedisServer();
  const port = first.port;
  let stop = first.stop;
  cleanups.push(() => stop());
  return {
    url: first.url,
    async restart() {
      await stop();
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
        cwd: tmpdir(),
      });
      stop = async () => {
        if (child.exitCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      };
      const admin = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => 20, maxRetriesPerRequest: null });
      admin.on('error', () => undefined);
      await admin.ping();
      admin.disconnect();
    },
  };
}

describe.skipIf(!haveBinary)('Redis that lost its counters (restart without persistence)', () => {
  it('onStateLost=fail (default): a store that was counting fails closed instead of starting again from zero', async () => {
    const redis = await restartableRedis();
    const store = new RedisSpendStore({ url: redis.url });
    cleanups.push(() => store.close());
    expect(await store.reserve({ reservationId: 'a', cents: 100, holds: hold(150), nowMs, ttlMs: 60_000 })).toEqual({ ok: true, before: [0] });
    await redis.restart();
    const err = await store.reserve({ reservationId: 'b', cents: 100, holds: hold(150), nowMs, ttlMs: 60_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpendStoreError);
    expect((err as Error).message).toMatch(
      /^redis spend store redis:\/\/127\.0\.0\.1:\d+: the server lost the spend counters under agentguard:\{agentguard\} \(its marker agentguard:\{agentguard\}:epoch is gone: a restart without persistence, FLUSHALL or eviction\); failing closed\./,
    );
    // And stays closed: reads and settles too.
    await expect(store.read(['daily|tenantId=t'], nowMs)).rejects.toThrow(/lost the spend counters/);
    await expect(store.settle({ reservationId: 'a', holds: hold(150), actualCents: 100, nowMs })).rejects.toThrow(/lost the spend counters/);
  });

  it('onStateLost=reseed (URL option): counters come back at what the store last saw, so the cap still holds', async () => {
    const redis = await restartableRedis();
    const store = spendStoreFromUrl(`${redis.url}?onStateLost=reseed`) as RedisSpendStore;
    cleanups.push(() => store.close());
    expect(await store.reserve({ reservationId: 'a', cents: 100, holds: hold(150), nowMs, ttlMs: 60_000 })).toEqual({ ok: true, before: [0] });
    await redis.restart();
    // 100 + 100 > 150: refused, as before the restart.
    expect(await store.reserve({ reservationId: 'b', cents: 100, holds: hold(150), nowMs, ttlMs: 60_000 })).toEqual({
      ok: false,
      before: [100],
      exceeded: [0],
    });
    expect(await store.read(['daily|tenantId=t'], nowMs)).toEqual([100]);
    const admin = new Redis(redis.url);
    expect(await admin.pttl('agentguard:{agentguard}:c:daily|tenantId=t')).toBeGreaterThan(DAY - 10_000);
    expect(await admin.get('agentguard:{agentguard}:epoch')).toMatch(/^[0-9a-f-]{36}$/);
    await admin.quit();
  });

  it('rejects an unknown onStateLost naming it', () => {
    expect(() => spendStoreFromUrl('redis://127.0.0.1:1/?onStateLost=ignore')).toThrow(
      'spend store URL redis://127.0.0.1:1/?onStateLost=ignore: onStateLost must be fail or reseed, got ignore',
    );
    expect(() => new RedisSpendStore({ url: 'redis://127.0.0.1:1', onStateLost: 'x' as never })).toThrow(
      'RedisSpendStore: onStateLost must be fail or reseed, got "x"',
    );
  });
});

describe.skipIf(!shared)('Redis connection and the application lifetime', () => {
  for (const [name, url] of [
    ['a live server', () => shared!.url],
    ['a server that is down', () => 'redis://127.0.0.1:1?timeoutMs=300'],
  ] as const) {
    it(`an application using the Redis store exits by itself when its work is done (${name})`, async () => {
      const child = spawn(process.execPath, [join(root, 'test', 'fixtures', 'stores', 'redis-exit-child.mjs')], {
        env: { ...process.env, AGENTGUARD_CHILD_STORE: url() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const exited = await Promise.race([
        new Promise<number | null>((r) => child.once('exit', (code) => r(code))),
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 8_000)),
      ]);
      if (exited === 'hung') child.kill('SIGKILL');
      if (name === 'a live server') {
        expect({ exited, out }).toEqual({ exited: 0, out: 'done true\n' });
      } else {
        // Fails closed (the reserve rejects), and still exits rather than hanging on reconnects.
        expect(exited).not.toBe('hung');
        expect(out).toMatch(/SpendStoreError/);
      }
    }, 15_000);
  }
});
