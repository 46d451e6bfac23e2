// Main-thread cost of a guarded call, this build against another build of the
// package, in one run: for each provider (OpenAI, Anthropic, Bedrock, the AI
// SDK), the direct call and the call guarded by the wrapper of each build
// (in-memory log), interleaved in rounds (order rotated each round) so drift
// on a shared machine hits them alike. Prints JSON: per variant p50/p99 and
// CPU per call, added over direct, and the ratio to direct. Then the OpenAI
// call again with a file log in `write` and in `fsync` mode, for each build.
// The builds share the process: a build that enters an AsyncLocalStorage makes
// Node hook every promise, which slows all variants alike; compare such builds
// in separate runs (this file without --base, in each checkout).
//   npm run build && node bench/compare-builds.mjs [--base <checkout with a built dist>] [--quick] [--only openai,…,durability]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { machine, quantile, report, round } from './lib.mjs';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const baseDir = argv.includes('--base') ? resolve(argv[argv.indexOf('--base') + 1]) : null;
const rounds = quick ? 8 : 30;
const perRound = quick ? 25 : 40;
const warmupRounds = 5;

const here = resolve(import.meta.dirname, '..');
const roots = { after: here, ...(baseDir ? { before: baseDir } : {}) };
const load = (root, file) => import(pathToFileURL(resolve(root, file)).href);
const builds = {};
for (const [build, root] of Object.entries(roots)) builds[build] = await load(root, 'bench/sdk.mjs');

function stats(samples, cpuUs) {
  const s = Float64Array.from(samples).sort();
  return { p50Us: round(quantile(s, 0.5) * 1000, 1), p99Us: round(quantile(s, 0.99) * 1000, 1), cpuUs: round(cpuUs / samples.length, 1) };
}

/** Runs `variants` ({ name: { call, client } }) interleaved in rounds; returns per variant figures against `direct`. */
async function compare(variants) {
  const names = Object.keys(variants);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  const cpu = Object.fromEntries(names.map((n) => [n, 0]));
  for (let r = 0; r < warmupRounds + rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const v = names[(k + r) % names.length];
      const { call, client } = variants[v];
      const c0 = process.cpuUsage();
      for (let i = 0; i < perRound; i++) {
        const t0 = performance.now();
        await call(client);
        if (r >= warmupRounds) samples[v].push(performance.now() - t0);
      }
      const c = process.cpuUsage(c0);
      if (r >= warmupRounds) cpu[v] += c.user + c.system;
    }
  }
  const st = Object.fromEntries(names.map((n) => [n, stats(samples[n], cpu[n])]));
  const d = st.direct;
  return Object.fromEntries(
    names.map((n) => [
      n,
      {
        ...st[n],
        addedP50Us: round(st[n].p50Us - d.p50Us, 1),
        addedCpuUs: round(st[n].cpuUs - d.cpuUs, 1),
        p50VsDirect: round(st[n].p50Us / d.p50Us, 3),
        cpuVsDirect: round(st[n].cpuUs / d.cpuUs, 3),
      },
    ]),
  );
}

const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : null;
const out = {};
for (const name of ['openai', 'anthropic', 'bedrock', 'ai-sdk']) {
  if (only && !only.includes(name)) continue;
  const setups = {};
  for (const [build, sdk] of Object.entries(builds)) setups[build] = await sdk.sdkClients(name);
  try {
    const variants = { direct: { call: setups.after.call, client: setups.after.direct } };
    for (const [build, s] of Object.entries(setups)) variants[build] = { call: s.call, client: s.wrapped };
    out[name] = await compare(variants);
  } finally {
    for (const s of Object.values(setups)) await s.fake.close();
  }
}

// The OpenAI call with a file log: each build, write and fsync.
const durability = {};
if (!only || only.includes('durability')) {
  const dir = mkdtempSync(join(tmpdir(), 'agentguard-compare-builds-'));
  const setups = {};
  const stores = [];
  try {
    for (const [build, root] of Object.entries(roots)) {
      const { generateKeypair, SpendGuard } = await load(root, 'dist/index.js');
      const { FileDecisionLogStore } = await load(root, 'dist/stores.js');
      const { benchGuardConfig } = await load(root, 'bench/engine.mjs');
      for (const mode of ['write', 'fsync']) {
        const logStore = await FileDecisionLogStore.open({ dir: join(dir, `${build}-${mode}`), durability: mode });
        stores.push(logStore);
        setups[`${build}-${mode}`] = await builds[build].sdkClients('openai', new SpendGuard({ ...benchGuardConfig(generateKeypair()), logStore }));
      }
    }
    const variants = { direct: { call: setups['after-write'].call, client: setups['after-write'].direct } };
    for (const [v, s] of Object.entries(setups)) variants[v] = { call: s.call, client: s.wrapped };
    Object.assign(durability, await compare(variants));
  } finally {
    for (const s of Object.values(setups)) await s.fake.close();
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
report('hot-path', [], { machine: await machine(), base: baseDir, rounds, perRound, providers: out, openaiFileLog: durability });
