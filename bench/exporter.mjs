// Cost of the file decision log's durability modes. Prints JSON.
//   npm run bench:exporter     (builds first; --quick: a fifth of the counts)
// appendPerSec: pre-signed entries appended one at a time, each awaited (a
//   guard's calls in series); appendConcurrentPerSec: 64 appends in flight
//   (concurrent calls; write/fsync share one write/fdatasync per group).
// guardCallsPerSec: decide + settle (2 entries) through a real SpendGuard, in
//   series, with that store ('memory' = InMemoryDecisionLogStore baseline).
// fsync figures depend entirely on the disk (and on a VM, on the host's cache).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FileDecisionLogStore } from '../dist/stores.js';
import { generateKeypair, InMemoryDecisionLogStore, parsePolicy, SpendGuard } from '../dist/index.js';

const keys = generateKeypair();
const policy = parsePolicy({
  id: 'bench',
  name: 'bench',
  scope: { tenantId: 't' },
  mode: 'enforce',
  version: 1,
  effectiveFrom: '2020-01-01T00:00:00Z',
  caps: [{ amountCents: 1_000_000_000, window: 'per_day', action: 'block', reason: 'daily budget' }],
});
const pricing = { overrides: { openai: { 'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10 } } } };
const request = { provider: 'openai', model: 'gpt-4o', scope: { tenantId: 't', agentId: 'bench-agent' }, estimatedInputTokens: 1200, maxOutputTokens: 800 };

/** Realistic signed entries (decisions and outcomes from a real guard). */
async function signedEntries(n) {
  // Unbounded: the default capacity (10 000) would never reach a larger n.
  const log = new InMemoryDecisionLogStore({ capacity: Infinity });
  const guard = new SpendGuard({ signingKeys: keys, logStore: log, policy, pricing });
  for (let made = 0; made < n; made += 2) {
    const r = await guard.decide(request);
    await guard.settle(r, { inputTokens: 1100, outputTokens: 400 });
  }
  return log.entries().slice(0, n);
}

function tempDir() {
  return mkdtempSync(join(tmpdir(), 'agentguard-bench-'));
}

async function appendSeries(durability, entries) {
  const dir = tempDir();
  const store = await FileDecisionLogStore.open({ dir, durability, batch: { scheduledDelayMillis: 1000 } });
  const lat = [];
  const t0 = performance.now();
  for (const e of entries) {
    const s = performance.now();
    await store.append(e);
    lat.push(performance.now() - s);
  }
  await store.close(); // batch: includes writing what was queued
  const ms = performance.now() - t0;
  rmSync(dir, { recursive: true, force: true });
  lat.sort((a, b) => a - b);
  const q = (p) => Math.round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] * 10_000) / 10;
  return { entries: entries.length, perSec: Math.round(entries.length / (ms / 1000)), p50us: q(0.5), p99us: q(0.99) };
}

async function appendConcurrent(durability, entries, inFlight = 64) {
  const dir = tempDir();
  const store = await FileDecisionLogStore.open({ dir, durability });
  const t0 = performance.now();
  let pending = [];
  for (const e of entries) {
    pending.push(store.append(e));
    if (pending.length >= inFlight) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await store.close();
  const ms = performance.now() - t0;
  rmSync(dir, { recursive: true, force: true });
  return { entries: entries.length, inFlight, perSec: Math.round(entries.length / (ms / 1000)) };
}

async function guardCalls(mode, calls) {
  const dir = tempDir();
  const logStore = mode === 'memory' ? new InMemoryDecisionLogStore() : await FileDecisionLogStore.open({ dir, durability: mode });
  const guard = new SpendGuard({ signingKeys: keys, logStore, policy, pricing });
  for (let i = 0; i < 200; i++) await guard.settle(await guard.decide(request), { inputTokens: 1100, outputTokens: 400 }); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await guard.settle(await guard.decide(request), { inputTokens: 1100, outputTokens: 400 });
  if (logStore.close) await logStore.close();
  const ms = performance.now() - t0;
  rmSync(dir, { recursive: true, force: true });
  return { calls, perSec: Math.round(calls / (ms / 1000)), usPerCall: Math.round((ms * 1000) / calls) };
}

/** Runs the exporter benchmark; `scale` < 1 shrinks every count (for --quick). */
export async function exporterResults({ scale = 1 } = {}) {
  const n = (x) => Math.max(100, Math.round(x * scale));
  const entries = await signedEntries(n(20_000));
  const bytesPerEntry = Math.round(entries.reduce((k, e) => k + JSON.stringify(e).length + 1, 0) / entries.length);
  const fsyncSeries = entries.slice(0, n(2_000));
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    bytesPerEntry,
    appendSeries: {
      batch: await appendSeries('batch', entries),
      write: await appendSeries('write', entries),
      fsync: await appendSeries('fsync', fsyncSeries),
    },
    appendConcurrent: {
      batch: await appendConcurrent('batch', entries),
      write: await appendConcurrent('write', entries),
      fsync: await appendConcurrent('fsync', entries),
    },
    guardCallsPerSec: {
      memory: (await guardCalls('memory', n(3_000)), await guardCalls('memory', n(3_000))), // second run: warm JIT
      batch: await guardCalls('batch', n(3_000)),
      write: await guardCalls('write', n(3_000)),
      fsync: await guardCalls('fsync', n(1_000)),
    },
  };
}

/** One row per durability mode, for the summary table. */
export function exporterRows(r) {
  return ['batch', 'write', 'fsync'].map((mode) => ({
    durability: mode,
    appendPerSec: r.appendSeries[mode].perSec,
    appendP50Us: r.appendSeries[mode].p50us,
    appendP99Us: r.appendSeries[mode].p99us,
    concurrentPerSec: r.appendConcurrent[mode].perSec,
    guardCallsPerSec: r.guardCallsPerSec[mode].perSec,
    usPerGuardCall: r.guardCallsPerSec[mode].usPerCall,
  }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await exporterResults({ scale: process.argv.includes('--quick') ? 0.2 : 1 });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  const { table } = await import('./lib.mjs');
  table('(4) exporter: file decision log by durability', exporterRows(result));
}
