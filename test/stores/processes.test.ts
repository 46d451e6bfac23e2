import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { spendStoreFromUrl } from '../../src/stores.js';
import { testRedis } from '../helpers/redis-server.js';

// Real processes against one SQLite file and one Redis, through the built dist/
// (npm test builds first). Each child is `node` (process.execPath) with IPC.
const CHILD = fileURLToPath(new URL('../fixtures/stores/store-child.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'agentguard-procs-'));
const redis = await testRedis();
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Child {
  proc: ChildProcess;
  next(): Promise<Record<string, unknown>>;
}

async function spawnChild(storeUrl: string): Promise<Child> {
  const proc = fork(CHILD, [], {
    execPath: process.execPath,
    env: { ...process.env, AGENTGUARD_CHILD_STORE: storeUrl },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  const inbox: Record<string, unknown>[] = [];
  const waiters: ((m: Record<string, unknown>) => void)[] = [];
  proc.on('message', (m: Record<string, unknown>) => (waiters.length ? waiters.shift()!(m) : inbox.push(m)));
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      if (inbox.length) return resolve(inbox.shift()!);
      const onExit = (code: number | null) => reject(new Error(`child exited (${code}) before replying: ${stderr}`));
      proc.once('exit', onExit);
      waiters.push((m) => {
        proc.off('exit', onExit);
        if (m.error) reject(new Error(`child failed: ${m.error}`));
        else resolve(m);
      });
    });
  expect(await next()).toEqual({ ready: true });
  return { proc, next };
}

const stores: [string, () => string][] = [
  ['SQLite file', () => join(dir, `${randomUUID()}.db`)],
  ...(redis ? ([['Redis', () => `${redis.url}?prefix=${encodeURIComponent(`agtest:${randomUUID()}:`)}`]] as [string, () => string][]) : []),
];

describe.each(stores)('%s shared by 4 processes', (_name, makeUrl) => {
  it('1000 concurrent reservations (250 per process) against a 1000-cent cap: exactly 333 of 3 cents get through', async () => {
    const url = makeUrl();
    const expiresAtMs = Date.now() + 3_600_000;
    const children = await Promise.all(Array.from({ length: 4 }, () => spawnChild(url)));
    try {
      // All children are loaded before any starts, so the bursts really overlap.
      for (const c of children) c.proc.send({ cmd: 'burst', n: 250, cents: 3, limit: 1_000, key: 'shared-cap', expiresAtMs, ttlMs: 60_000 });
      const reports = (await Promise.all(children.map((c) => c.next()))) as { ok: number; rejected: number; overCap: number }[];
      expect(reports.reduce((s, r) => s + r.ok, 0)).toBe(333);
      expect(reports.reduce((s, r) => s + r.rejected, 0)).toBe(667);
      expect(reports.every((r) => r.overCap === 0)).toBe(true);
      expect(reports.filter((r) => r.ok > 0).length).toBeGreaterThan(1); // 333 > 250: several processes won budget
      const store = spendStoreFromUrl(url);
      expect(await store.read(['shared-cap', 'shared-cap:uncapped'], Date.now())).toEqual([999, 999]);

      for (const c of children) c.proc.send({ cmd: 'settle' });
      const settled = ((await Promise.all(children.map((c) => c.next()))) as { settled: number }[]).reduce((s, r) => s + r.settled, 0);
      expect(settled).toBeLessThanOrEqual(1_000);
      expect(await store.read(['shared-cap', 'shared-cap:uncapped'], Date.now())).toEqual([settled, settled]);
      await store.close?.();
    } finally {
      for (const c of children) c.proc.kill('SIGKILL');
    }
  });

  it('a process killed (SIGKILL) between reserve and settle gives its budget back after the reservation TTL', async () => {
    const url = makeUrl();
    const expiresAtMs = Date.now() + 3_600_000;
    const child = await spawnChild(url);
    child.proc.send({ cmd: 'hold', cents: 400, key: 'crash-cap', expiresAtMs, ttlMs: 800 });
    expect(await child.next()).toEqual({ reserved: true });
    const exited = new Promise((r) => child.proc.once('exit', (_code, signal) => r(signal)));
    child.proc.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const store = spendStoreFromUrl(url);
    const hold = [{ key: 'crash-cap', limitCents: 1_000, expiresAtMs }];
    // Still held while the dead process's reservation is live: 400 + 700 > 1000.
    expect(await store.read(['crash-cap'], Date.now())).toEqual([400]);
    expect((await store.reserve({ reservationId: 'too-soon', cents: 700, holds: hold, nowMs: Date.now(), ttlMs: 60_000 })).ok).toBe(false);
    await new Promise((r) => setTimeout(r, 900));
    expect(await store.read(['crash-cap'], Date.now())).toEqual([0]);
    expect(await store.reserve({ reservationId: 'after-ttl', cents: 700, holds: hold, nowMs: Date.now(), ttlMs: 60_000 })).toEqual({ ok: true, before: [0] });
    await store.close?.();
  });
});
