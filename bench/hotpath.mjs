// (8) The guarded call on the hot path, by durability: `openai` chat.completions
// against the loopback fake provider, each variant an app in its own process
// (bench/hotpath/client.cjs), all driven in interleaved rounds from here so
// drift on a shared machine hits them alike:
//   direct      the unguarded client
//   forwarder   the unguarded client through a bare loopback HTTP forwarder (the least a proxy adds)
//   memory      withSpendGuard with the in-memory stores (the default log store, bounded)
//   batch|write|fsync
//               `node --require agentguard-spend/register` with the file decision log in that
//               AGENTGUARD_DURABILITY (what an app started with the preload runs)
// Figures per variant: p50/p99 of a whole call in series and what it adds over
// direct and over the forwarder; main-thread CPU per call (process.threadCpuUsage:
// a signer worker or the threadpool are not the app's thread); calls/s with 32 in
// flight as a ratio of direct.
//   node bench/hotpath.mjs [--quick | --smoke] [--cpu-prof=batch,memory [--cpu-prof-dir=prof]]
// --cpu-prof: those variants' apps write a V8 CPU profile when they exit (where a
// missed target's time goes: `node bench/profile.mjs --summarize prof/<file>.cpuprofile`).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeypair, signingKeysToHex } from '../dist/index.js';
import { readDecisionLog } from '../dist/stores.js';
import { machine, median, quantile, report, round, table } from './lib.mjs';
import { startServerProcess } from './servers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const client = fileURLToPath(new URL('hotpath/client.cjs', import.meta.url));

/** Targets (issue figures): added p50 µs by durability, main-thread CPU µs per call, share of direct throughput at 32 in flight. */
export const TARGETS = { addedP50Us: { batch: 100, write: 150 }, mainThreadCpuUs: 110, throughputRatio: 0.85 };
export const IN_FLIGHT = 32;
const DURABILITIES = ['batch', 'write', 'fsync'];

/** A policy whose caps never fire (the benchmark measures the path, not a block). */
const POLICY = {
  id: 'hotpath',
  name: 'hotpath',
  scope: { tenantId: 'acme' },
  mode: 'enforce',
  version: 1,
  effectiveFrom: '2026-01-01T00:00:00Z',
  caps: [
    { amountCents: 1e12, window: 'per_day', action: 'block', reason: 'daily' },
    { amountCents: 1e12, window: 'per_month', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'monthly', selector: ['tenantId', 'agentId'] },
  ],
};

/** Starts one variant's process; resolves a handle that runs commands in it. */
function startClient(name, { execArgv = [], env = {} }) {
  const child = fork(client, [], {
    cwd: root,
    execArgv,
    env: { ...process.env, ...env, BENCH_VARIANT: name },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  let waiting = null;
  let exited = null;
  child.on('message', (m) => {
    const w = waiting;
    waiting = null;
    w?.resolve(m);
  });
  child.on('exit', (code) => {
    exited = code;
    waiting?.reject(new Error(`${name}: client exited (${code})`));
    waiting = null;
  });
  const next = () =>
    new Promise((resolve, reject) => {
      if (exited !== null) return reject(new Error(`${name}: client exited (${exited})`));
      waiting = { resolve, reject };
    });
  const handle = {
    name,
    cpuSource: undefined,
    /** Runs `msg` in the client and resolves its answer. */
    run(msg) {
      const p = next();
      child.send(msg);
      return p;
    },
    /** Asks the client to finish; resolves its final account once it has exited (its log flushed). */
    async close() {
      if (exited !== null) return { exitCode: exited };
      const done = next();
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.send({ cmd: 'exit' });
      const last = await done;
      const exitCode = await gone;
      return { ...last, exitCode };
    },
    kill: () => exited === null && child.kill('SIGKILL'),
  };
  return next().then((m) => {
    handle.cpuSource = m.cpuSource;
    return handle;
  });
}

/** Every decision and outcome the register variants signed, read back from their log directory. */
async function countEntries(dir) {
  let n = 0;
  for await (const { entries } of readDecisionLog(dir)) for await (const _ of entries) n++;
  return n;
}

function latencyStats(samplesMs) {
  const s = Float64Array.from(samplesMs).sort();
  const us = (x) => round(x * 1000, 1);
  return { calls: s.length, p50Us: us(quantile(s, 0.5)), p90Us: us(quantile(s, 0.9)), p99Us: us(quantile(s, 0.99)) };
}

/**
 * Runs the benchmark. `rounds` × `perRound` calls in series per variant, then
 * `flightRounds` × `perFlight` calls with {@link IN_FLIGHT} in flight; the
 * first `warmupRounds` of each are discarded.
 */
export async function hotpathResults({
  rounds = 20,
  perRound = 100,
  flightRounds = 8,
  perFlight = 640,
  warmupRounds = 2,
  durabilities = DURABILITIES,
  cpuProf = [],
  cpuProfDir = 'prof',
} = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'agentguard-bench-hotpath-'));
  const fake = await startServerProcess('fake');
  const forwarder = await startServerProcess('proxy', fake.url);
  const clients = [];
  try {
    const keyFile = join(dir, 'signing.key');
    writeFileSync(keyFile, `${signingKeysToHex(generateKeypair()).privateKeyHex}\n`, { mode: 0o600 });
    const policyFile = join(dir, 'policy.json');
    writeFileSync(policyFile, JSON.stringify(POLICY));
    const registerEnv = (durability) => ({
      BENCH_GUARD: 'register',
      BENCH_TARGET_URL: fake.url,
      AGENTGUARD_POLICY: policyFile,
      AGENTGUARD_SIGNING_KEY_FILE: keyFile,
      AGENTGUARD_SCOPE_TENANT_ID: 'acme',
      AGENTGUARD_LOG_DIR: join(dir, `logs-${durability}`),
      AGENTGUARD_DURABILITY: durability,
    });
    const specs = {
      direct: { env: { BENCH_GUARD: 'none', BENCH_TARGET_URL: fake.url } },
      forwarder: { env: { BENCH_GUARD: 'none', BENCH_TARGET_URL: forwarder.url } },
      memory: { env: { BENCH_GUARD: 'memory', BENCH_TARGET_URL: fake.url, BENCH_POLICY: JSON.stringify(POLICY) } },
      ...Object.fromEntries(durabilities.map((d) => [d, { execArgv: ['--require', 'agentguard-spend/register'], env: registerEnv(d) }])),
    };
    const names = Object.keys(specs);
    for (const n of cpuProf) {
      if (!specs[n]) throw new Error(`--cpu-prof: unknown variant ${JSON.stringify(n)} (known: ${names.join(', ')})`);
      specs[n].execArgv = [...(specs[n].execArgv ?? []), '--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=hotpath-${n}.cpuprofile`];
    }
    for (const n of names) clients.push(await startClient(n, specs[n]));
    const byName = Object.fromEntries(clients.map((c) => [c.name, c]));

    // In series: latency and main-thread CPU per call.
    const samples = Object.fromEntries(names.map((n) => [n, []]));
    const cpu = Object.fromEntries(names.map((n) => [n, { calls: 0, threadUs: 0, processUs: 0 }]));
    for (let r = 0; r < warmupRounds + rounds; r++) {
      for (let k = 0; k < names.length; k++) {
        const n = names[(k + r) % names.length];
        const res = await byName[n].run({ cmd: 'serial', calls: perRound });
        if (r < warmupRounds) continue;
        samples[n].push(...res.samplesMs);
        cpu[n].calls += res.calls;
        cpu[n].threadUs += res.threadCpuUs;
        cpu[n].processUs += res.processCpuUs;
      }
    }
    // 32 in flight: calls/s, as a share of direct's in the same round.
    const flight = Object.fromEntries(names.map((n) => [n, { calls: 0, ms: 0, threadUs: 0, perRound: [] }]));
    for (let r = 0; r < warmupRounds + flightRounds; r++) {
      const perSec = {};
      for (let k = 0; k < names.length; k++) {
        const n = names[(k + r) % names.length];
        // A warm-up round needs only enough calls to open the connections and warm the JIT.
        const calls = r < warmupRounds ? Math.min(perFlight, 4 * IN_FLIGHT) : perFlight;
        const res = await byName[n].run({ cmd: 'inflight', calls, concurrency: IN_FLIGHT });
        perSec[n] = res.calls / (res.wallMs / 1000);
        if (r < warmupRounds) continue;
        flight[n].calls += res.calls;
        flight[n].ms += res.wallMs;
        flight[n].threadUs += res.threadCpuUs;
      }
      if (r >= warmupRounds) for (const n of names) flight[n].perRound.push(perSec[n] / perSec.direct);
    }

    // The guard really ran: every call decided and settled, two entries each.
    const checks = {};
    while (clients.length > 0) {
      const c = clients[0];
      const fin = await c.close();
      clients.shift();
      if (fin.exitCode !== 0) throw new Error(`${c.name}: client exited ${fin.exitCode}`);
      if (c.name === 'memory') {
        if (fin.memory.pendingCount !== 0) throw new Error(`memory: ${fin.memory.pendingCount} calls left unsettled`);
        checks.memory = { calls: fin.callsDone, entries: fin.memory.entries };
      } else if (durabilities.includes(c.name)) {
        checks[c.name] = { calls: fin.callsDone, entries: await countEntries(join(dir, `logs-${c.name}`)) };
      }
    }
    for (const [n, ch] of Object.entries(checks)) {
      if (ch.entries < 2 * ch.calls) throw new Error(`${n}: ${ch.calls} guarded calls left ${ch.entries} signed entries (expected at least ${2 * ch.calls})`);
    }

    const lat = Object.fromEntries(names.map((n) => [n, latencyStats(samples[n])]));
    const threadUs = (n) => cpu[n].threadUs / cpu[n].calls;
    const processUs = (n) => cpu[n].processUs / cpu[n].calls;
    const callsPerSec = (n) => flight[n].calls / (flight[n].ms / 1000);
    const variants = {};
    for (const n of names) {
      variants[n] = {
        ...lat[n],
        mainThreadCpuUs: round(threadUs(n), 1),
        processCpuUs: round(processUs(n), 1),
        callsPerSecInFlight: Math.round(callsPerSec(n)),
        mainThreadCpuUsInFlight: round(flight[n].threadUs / flight[n].calls, 1),
      };
    }
    const forwarderAddedP50 = lat.forwarder.p50Us - lat.direct.p50Us;
    const added = {};
    for (const n of names.filter((x) => x !== 'direct')) {
      const addedP50Us = round(lat[n].p50Us - lat.direct.p50Us, 1);
      added[n] = {
        addedP50Us,
        addedP99Us: round(lat[n].p99Us - lat.direct.p99Us, 1),
        // Over the forwarder: negative when the guard in process adds less than one loopback hop.
        overForwarderP50Us: round(lat[n].p50Us - lat.forwarder.p50Us, 1),
        overForwarderP99Us: round(lat[n].p99Us - lat.forwarder.p99Us, 1),
        p50RatioToDirect: round(lat[n].p50Us / lat.direct.p50Us, 3),
        p50RatioToForwarder: round(lat[n].p50Us / lat.forwarder.p50Us, 3),
        // What the variant adds as a share of what the forwarder adds (< 1: cheaper than a proxy hop).
        addedRatioToForwarderAdded: forwarderAddedP50 > 0 ? round(addedP50Us / forwarderAddedP50, 3) : null,
        addedMainThreadCpuUs: round(threadUs(n) - threadUs('direct'), 1),
        addedProcessCpuUs: round(processUs(n) - processUs('direct'), 1),
        // Calls/s over direct's: the median of the rounds' ratios (each round runs every variant back to back).
        throughputRatio: round(median(flight[n].perRound), 3),
        throughputRatioPerRound: flight[n].perRound.map((x) => round(x, 3)),
        throughputRatioOverall: round(callsPerSec(n) / callsPerSec('direct'), 3),
        throughputRatioToForwarder: round(median(flight[n].perRound.map((x, i) => x / flight.forwarder.perRound[i])), 3),
      };
    }
    const met = {};
    for (const d of Object.keys(TARGETS.addedP50Us)) if (added[d]) met[`addedP50Us.${d}`] = added[d].addedP50Us <= TARGETS.addedP50Us[d];
    for (const n of ['memory', 'batch']) {
      if (!added[n]) continue;
      met[`mainThreadCpuUs.${n}`] = added[n].addedMainThreadCpuUs <= TARGETS.mainThreadCpuUs;
      met[`throughputRatio.${n}`] = added[n].throughputRatio >= TARGETS.throughputRatio;
    }
    return {
      rounds,
      perRound,
      flightRounds,
      perFlight,
      inFlight: IN_FLIGHT,
      cpuSource: byName.direct?.cpuSource ?? clients[0]?.cpuSource,
      variants,
      added,
      checks,
      target: TARGETS,
      met,
    };
  } finally {
    for (const c of clients) c.kill();
    await forwarder.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One row per variant, for the tables. */
export function hotpathRows(res) {
  return Object.entries(res.variants).map(([variant, v]) => {
    const a = res.added[variant];
    return {
      variant,
      p50Us: v.p50Us,
      p99Us: v.p99Us,
      addedP50Us: a ? a.addedP50Us : 0,
      addedP99Us: a ? a.addedP99Us : 0,
      overForwarderP50Us: a ? a.overForwarderP50Us : '',
      mainThreadCpuUs: v.mainThreadCpuUs,
      addedMainThreadCpuUs: a ? a.addedMainThreadCpuUs : 0,
      [`callsPerSec@${res.inFlight}`]: v.callsPerSecInFlight,
      throughputRatio: a ? a.throughputRatio : 1,
    };
  });
}

/** Sizes: full (about 40 000 calls in all), `--quick` (about 4 000), `--smoke` (a few seconds: the test that the script still runs). */
export const SIZES = {
  full: {},
  quick: { rounds: 6, perRound: 30, flightRounds: 3, perFlight: 192, warmupRounds: 1 },
  smoke: { rounds: 1, perRound: 10, flightRounds: 1, perFlight: 64, warmupRounds: 1 },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const size = process.argv.includes('--smoke') ? 'smoke' : process.argv.includes('--quick') ? 'quick' : 'full';
  const opt = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const res = await hotpathResults({ ...SIZES[size], cpuProf: opt('cpu-prof')?.split(',') ?? [], cpuProfDir: opt('cpu-prof-dir') ?? 'prof' });
  report('hotpath', [], { machine: await machine(), size, ...res });
  table(
    `(8) the guarded openai call by durability, against direct and a bare loopback forwarder (µs; ${res.inFlight} in flight for calls/s; CPU of the app's main thread via ${res.cpuSource})`,
    hotpathRows(res),
  );
}
