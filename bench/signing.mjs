// Signing off the caller's thread (batch durability) vs signing on it, for a
// guarded `openai` chat.completions call against the loopback fake provider.
// Three clients in one run, in alternating rounds: direct (unguarded), guarded
// with the file store in batch durability (entries hashed at decide time,
// signed in batches in the signing thread, the outcome settled after the
// caller resumes), and guarded with the same store hidden behind a plain
// DecisionLogStore (what a store without `acceptsDeferred` gets: both entries
// signed on the caller's thread, the outcome awaited).
//
//   npm run build && node bench/signing.mjs [--rounds=20] [--per-round=50]
//
// Prints JSON: per variant p50/p99 latency and main-thread CPU per call
// (`process.threadCpuUsage`: the signing thread is not in it) and process CPU
// per call (all threads), plus the added figures and ratios against direct;
// and the engine alone (decide + settle, no HTTP, a store keeping nothing).
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateKeypair, SpendGuard } from '../dist/index.js';
import { FileDecisionLogStore } from '../dist/stores.js';
import { withSpendGuard } from '../dist/instrumentations/openai/index.js';
import { benchGuardConfig } from './engine.mjs';
import { machine, quantile, report, round } from './lib.mjs';
import { startServerProcess } from './servers.mjs';

const require = createRequire(import.meta.url);
const OpenAI = require('openai');

const arg = (name, fallback) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : fallback;
};
const ROUNDS = arg('rounds', 20);
const PER_ROUND = arg('per-round', 50);
const WARMUP_ROUNDS = 4;
const SCOPE = { tenantId: 'acme', agentId: 'agent-7' };

/** The same store without `acceptsDeferred`: the guard signs on the caller's thread and awaits each append. */
function onCallersThread(store) {
  return {
    head: () => store.head(),
    append: (entry) => store.append(entry),
    attachSigner: (signer) => store.attachSigner(signer),
    flush: () => store.flush(),
    close: () => store.close(),
  };
}

const call = (client, n) =>
  client.chat.completions.create({
    model: 'gpt-4o-mini',
    max_tokens: 64,
    messages: [
      { role: 'system', content: 'You are a terse assistant.' },
      { role: 'user', content: `Question ${n}: what is ${n} + ${n}?` },
    ],
  });

function summarize(samplesMs, elu, cpuUs) {
  const s = Float64Array.from(samplesMs).sort();
  return {
    calls: s.length,
    p50Us: round(quantile(s, 0.5) * 1000, 1),
    p99Us: round(quantile(s, 0.99) * 1000, 1),
    mainThreadCpuUs: round(elu / s.length, 1),
    processCpuUs: round(cpuUs / s.length, 1),
  };
}

/** A store that keeps nothing: the engine alone, without HTTP or file writes. */
const nullStore = (acceptsDeferred) => ({ acceptsDeferred, head: () => null, append: () => undefined });

/**
 * decide + settle on the engine alone, alternating the two guards, sequential
 * calls: main-thread time per call (the signing thread excluded) and process
 * CPU (all threads).
 */
async function engineOnly() {
  const keys = generateKeypair();
  const guards = {
    offThread: new SpendGuard({ ...benchGuardConfig(keys), logStore: nullStore(true) }),
    onCallersThread: new SpendGuard({ ...benchGuardConfig(keys), logStore: nullStore(false) }),
  };
  const request = { provider: 'openai', model: 'gpt-4o-mini', scope: SCOPE, estimatedInputTokens: 80, maxOutputTokens: 64 };
  const elu = { offThread: 0, onCallersThread: 0 };
  const cpu = { offThread: 0, onCallersThread: 0 };
  const per = 2000;
  for (let r = 0; r < 14; r++) {
    for (const name of r % 2 ? ['offThread', 'onCallersThread'] : ['onCallersThread', 'offThread']) {
      const guard = guards[name];
      const thread0 = process.threadCpuUsage();
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < per; i++) {
        const d = await guard.decide(request);
        void guard.settle(d, { inputTokens: 80, outputTokens: 20 });
      }
      await guard.flush();
      const used = process.threadCpuUsage(thread0);
      const c = process.cpuUsage(cpu0);
      if (r >= 4) {
        elu[name] += used.user + used.system;
        cpu[name] += c.user + c.system;
      }
    }
  }
  const calls = 10 * per;
  return Object.fromEntries(Object.keys(guards).map((n) => [n, { calls, mainThreadCpuUs: round(elu[n] / calls, 1), processCpuUs: round(cpu[n] / calls, 1) }]));
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'agentguard-bench-signing-'));
  const fake = await startServerProcess('fake');
  const keys = generateKeypair();
  const offStore = await FileDecisionLogStore.open({ dir: join(dir, 'off'), durability: 'batch' });
  const onStore = await FileDecisionLogStore.open({ dir: join(dir, 'on'), durability: 'batch' });
  const offThread = new SpendGuard({ ...benchGuardConfig(keys), logStore: offStore });
  const onThread = new SpendGuard({ ...benchGuardConfig(keys), logStore: onCallersThread(onStore) });
  if (!offThread.signsOffThread || onThread.signsOffThread) throw new Error('bench set-up: the two guards must sign differently');
  const Client = OpenAI.default ?? OpenAI;
  const raw = () => new Client({ baseURL: `${fake.url}/v1`, apiKey: 'sk-bench', maxRetries: 0 });
  const variants = {
    direct: raw(),
    batchOffThread: withSpendGuard(raw(), { guard: offThread, scope: SCOPE }),
    batchOnCallersThread: withSpendGuard(raw(), { guard: onThread, scope: SCOPE }),
  };
  const names = Object.keys(variants);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  const elu = Object.fromEntries(names.map((n) => [n, 0]));
  const cpu = Object.fromEntries(names.map((n) => [n, 0]));
  let n = 0;
  try {
    for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
      for (let k = 0; k < names.length; k++) {
        const v = names[(k + r) % names.length];
        const client = variants[v];
        const thread0 = process.threadCpuUsage();
        const cpu0 = process.cpuUsage();
        for (let i = 0; i < PER_ROUND; i++) {
          const t0 = performance.now();
          await call(client, n++);
          const ms = performance.now() - t0;
          if (r >= WARMUP_ROUNDS) samples[v].push(ms);
        }
        // The outcomes settled after the caller resumed belong to this variant's round too.
        if (v !== 'direct') await (v === 'batchOffThread' ? offThread : onThread).flush();
        const used = process.threadCpuUsage(thread0);
        const c = process.cpuUsage(cpu0);
        if (r >= WARMUP_ROUNDS) {
          elu[v] += used.user + used.system;
          cpu[v] += c.user + c.system;
        }
      }
    }
    await offThread.close();
    await onThread.close();
  } finally {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const stats = Object.fromEntries(names.map((v) => [v, summarize(samples[v], elu[v], cpu[v])]));
  const vs = (v) => ({
    addedP50Us: round(stats[v].p50Us - stats.direct.p50Us, 1),
    addedP99Us: round(stats[v].p99Us - stats.direct.p99Us, 1),
    addedMainThreadCpuUs: round(stats[v].mainThreadCpuUs - stats.direct.mainThreadCpuUs, 1),
    addedProcessCpuUs: round(stats[v].processCpuUs - stats.direct.processCpuUs, 1),
    p50Ratio: round(stats[v].p50Us / stats.direct.p50Us, 3),
    mainThreadCpuRatio: round(stats[v].mainThreadCpuUs / stats.direct.mainThreadCpuUs, 3),
  });
  report(
    'signing off the caller’s thread: guarded openai call vs direct (loopback fake)',
    {
      variants: stats,
      batchOffThread: vs('batchOffThread'),
      batchOnCallersThread: vs('batchOnCallersThread'),
      engineOnlyDecideAndSettle: await engineOnly(),
    },
    {
      machine: await machine(),
      rounds: ROUNDS,
      perRound: PER_ROUND,
      signedOffThread: offThread.entriesSignedOffThread,
      targets: { addedP50Us: 100, mainThreadCpuPerCallUs: 110 },
    },
  );
}

await main();
