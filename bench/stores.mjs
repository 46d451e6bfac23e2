// Spend-store benchmark: reservations per second and reserve/settle latency
// for each store, in one process and in 4 processes sharing the store.
// Each "reservation" is the store work of one guarded call: reserve across 3
// windows (minute, day, month; one capped), then settle to the actual cost.
// Prints JSON. Usage: npm run bench:stores  [AGENTGUARD_BENCH_MS=3000]
// Redis: AGENTGUARD_BENCH_REDIS_URL, else a redis-server started here if on PATH.
import { fork, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spendStoreFromUrl } from '../dist/stores.js';

const DURATION_MS = Number(process.env.AGENTGUARD_BENCH_MS ?? 3_000);
const PROCESSES = 4;

async function run(url, durationMs, tag) {
  const store = spendStoreFromUrl(url);
  const end = Date.now() + 3_600_000;
  const holds = [
    { key: `bench|${tag}|per_minute`, limitCents: null, expiresAtMs: end },
    { key: `bench|${tag}|per_day`, limitCents: Number.MAX_SAFE_INTEGER, expiresAtMs: end },
    { key: `bench|${tag}|per_month`, limitCents: null, expiresAtMs: end },
  ];
  const reserve = [];
  const settle = [];
  // Warm-up: connection, script load, page cache.
  for (let i = 0; i < 50; i++) {
    await store.reserve({ reservationId: `w-${process.pid}-${i}`, cents: 3, holds, nowMs: Date.now(), ttlMs: 60_000 });
    await store.settle({ reservationId: `w-${process.pid}-${i}`, holds, actualCents: 2, nowMs: Date.now() });
  }
  const started = performance.now();
  const stop = started + durationMs;
  let i = 0;
  while (performance.now() < stop) {
    const id = `${process.pid}-${i++}`;
    const t0 = performance.now();
    const r = await store.reserve({ reservationId: id, cents: 3, holds, nowMs: Date.now(), ttlMs: 60_000 });
    const t1 = performance.now();
    if (!r.ok) throw new Error('bench reservation refused');
    await store.settle({ reservationId: id, holds, actualCents: 2, nowMs: Date.now() });
    settle.push(performance.now() - t1);
    reserve.push(t1 - t0);
  }
  const elapsedMs = performance.now() - started;
  await store.close?.();
  return { count: reserve.length, elapsedMs, reserve, settle };
}

function pct(sorted, p) {
  return +sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(4);
}

function mean(xs) {
  return +(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(4);
}

function summarize(store, processes, parts) {
  const reserve = parts.flatMap((p) => p.reserve).sort((a, b) => a - b);
  const settle = parts.flatMap((p) => p.settle).sort((a, b) => a - b);
  const count = parts.reduce((s, p) => s + p.count, 0);
  const seconds = Math.max(...parts.map((p) => p.elapsedMs)) / 1000;
  return {
    store,
    processes,
    reservations: count,
    reservationsPerSec: Math.round(count / seconds),
    reserveMs: { p50: pct(reserve, 50), p90: pct(reserve, 90), p99: pct(reserve, 99), mean: mean(reserve) },
    settleMs: { p50: pct(settle, 50), p90: pct(settle, 90), p99: pct(settle, 99), mean: mean(settle) },
  };
}

async function inProcesses(url, n) {
  const self = fileURLToPath(import.meta.url);
  const children = Array.from({ length: n }, (_, i) =>
    fork(self, ['--worker', url, String(DURATION_MS), `p${i}`], { execPath: process.execPath, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const ready = children.map((c) => new Promise((r) => c.once('message', r)));
  await Promise.all(ready);
  const results = children.map(
    (c) => new Promise((r, j) => (c.once('message', r), c.once('exit', (code) => code && j(new Error(`bench worker exited ${code}`))))),
  );
  for (const c of children) c.send('go');
  return Promise.all(results);
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function redisUrl() {
  if (process.env.AGENTGUARD_BENCH_REDIS_URL) return { url: process.env.AGENTGUARD_BENCH_REDIS_URL, stop: () => {} };
  if (spawnSync('redis-server', ['--version']).status !== 0) return null;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'agentguard-bench-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const { Redis } = await import('ioredis');
  const probe = new Redis(`redis://127.0.0.1:${port}`, { retryStrategy: () => 20, maxRetriesPerRequest: null });
  await probe.ping();
  await probe.quit();
  return { url: `redis://127.0.0.1:${port}`, stop: () => (proc.kill('SIGTERM'), rmSync(dir, { recursive: true, force: true })) };
}

if (process.argv[2] === '--worker') {
  const [, , , url, ms, tag] = process.argv;
  process.send('ready');
  process.once('message', async () => {
    const result = await run(url, Number(ms), tag);
    // Exit only once the result is handed over (exit right after send can drop it).
    process.send(result, () => process.exit(0));
  });
} else {
  const dir = mkdtempSync(join(tmpdir(), 'agentguard-bench-'));
  const redis = await redisUrl();
  const out = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadavgAtStart: loadavg().map((l) => +l.toFixed(2)),
    durationMs: DURATION_MS,
    results: [],
  };
  try {
    out.results.push(summarize('memory', 1, [await run('memory:', DURATION_MS, 'm')]));
    out.results.push(summarize('sqlite', 1, [await run(join(dir, 'single.db'), DURATION_MS, 's')]));
    out.results.push(summarize('sqlite', PROCESSES, await inProcesses(join(dir, 'multi.db'), PROCESSES)));
    if (redis) {
      const { Redis } = await import('ioredis');
      const admin = new Redis(redis.url);
      out.redis = (await admin.info('server')).match(/redis_version:(\S+)/)?.[1];
      await admin.quit();
      out.results.push(summarize('redis', 1, [await run(`${redis.url}?prefix=bench1:`, DURATION_MS, 'r')]));
      out.results.push(summarize('redis', PROCESSES, await inProcesses(`${redis.url}?prefix=bench4:`, PROCESSES)));
    } else {
      out.redis = 'skipped: no AGENTGUARD_BENCH_REDIS_URL and no redis-server on PATH';
    }
  } finally {
    redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(out, null, 2));
}
