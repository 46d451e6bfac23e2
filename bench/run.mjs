// `npm run bench`: all the benchmarks, each in its own fresh process (no JIT
// or require-hook state shared), one JSON document on stdout, the tables on stderr.
//   npm run bench -- --quick              smaller sizes (verify 20k/200k entries, fewer rounds)
//   npm run bench -- --only=engine,sdk    a subset: engine (1+2), sdk (3+7), exporter (4), verify (5), startup (6), hotpath (8)
//   npm run bench -- --out=results.json   also write the JSON document to a file
//   --smoke                               the smallest sizes where a benchmark has them (else --quick's): checks the scripts run
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { machine, round, targetMet } from './lib.mjs';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const quick = smoke || args.includes('--quick');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const out = args.find((a) => a.startsWith('--out='))?.slice(6);

const BENCHES = [
  ['engine', '(1) floor and (2) engine', 'engine.mjs'],
  ['sdk', '(3) SDK call, guarded vs not, and (7) through a proxy', 'sdk.mjs'],
  ['exporter', '(4) exporter durability modes', 'exporter.mjs'],
  ['hotpath', '(8) the guarded call by durability: added p50/p99, main-thread CPU, 32 in flight', 'hotpath.mjs'],
  ['startup', '(6) start-up with the register preload', 'startup.mjs'],
  ['verify', '(5) CLI verify of a large log', 'verify.mjs'],
];

function runBench(file) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL(file, import.meta.url)), ...(quick ? ['--quick'] : []), ...(smoke ? ['--smoke'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${file} exited ${code}`));
      try {
        resolve(JSON.parse(stdout));
      } catch (err) {
        reject(new Error(`${file} printed no JSON document: ${err.message}`));
      }
    });
  });
}

const started = performance.now();
const doc = { benchmark: 'agentguard-spend', quick, ...(smoke ? { smoke } : {}), startedAt: new Date().toISOString(), machine: await machine(), results: {} };
for (const [key, title, file] of BENCHES) {
  if (only && !only.includes(key)) continue;
  process.stderr.write(`\n=== ${title} ===\n`);
  const t0 = performance.now();
  const r = await runBench(file);
  delete r.machine;
  doc.results[key] = { seconds: round((performance.now() - t0) / 1000, 1), ...r };
}
doc.totalSeconds = round((performance.now() - started) / 1000, 1);

// The headline figures next to their targets.
const R = doc.results;
const summary = [];
if (R.engine) {
  summary.push({ figure: 'engine: decide+settle / 2×(JCS+hash+sign), CPU', value: R.engine.ratioToFloor, target: '≤ 1.4' });
  summary.push({ figure: 'engine: signed entries/s per CPU-second', value: R.engine.signedEntriesPerCpuSec, target: '≥ 16000' });
  summary.push({ figure: 'engine: signed entries/s (wall)', value: R.engine.signedEntriesPerSec, target: '≥ 16000' });
}
if (R.sdk) {
  for (const [p, v] of Object.entries(R.sdk.providers)) {
    summary.push({ figure: `${p}: added p50 µs, instrumentation`, value: v.added.instrumentation.addedP50Us, target: '≤ 120' });
    summary.push({ figure: `${p}: added p50 µs, wrapper`, value: v.added.wrapper.addedP50Us, target: '≤ 120' });
    summary.push({ figure: `${p}: added CPU µs per call, instrumentation`, value: v.added.instrumentation.addedCpuUs, target: '' });
    summary.push({ figure: `${p}: added p50 µs, loopback proxy`, value: v.added.proxy.addedP50Us, target: '(comparison)' });
  }
}
if (R.verify) {
  const last = R.verify.results.at(-1);
  summary.push({ figure: `verify ${last.entries} entries: entries/s (wall)`, value: last.entriesPerSec, target: '' });
  summary.push({ figure: `verify ${last.entries} entries: entries per CPU-second`, value: last.entriesPerCpuSec, target: '≥ 9000 /core' });
  summary.push({ figure: 'verify: peak RSS largest/smallest log', value: R.verify.rssRatioLargestToSmallest, target: '≈ 1 (flat)' });
}
if (R.hotpath) {
  const H = R.hotpath;
  const a = H.added;
  const t = H.target;
  summary.push({ figure: 'guarded call: added p50 µs, loopback forwarder (peer)', value: a.forwarder.addedP50Us, target: '(comparison)' });
  summary.push({ figure: 'guarded call: added p50 µs, in-memory stores', value: a.memory.addedP50Us, target: '' });
  for (const d of ['batch', 'write', 'fsync']) {
    if (!a[d]) continue;
    const limit = t.addedP50Us[d];
    summary.push({ figure: `guarded call: added p50 µs, file log ${d}`, value: a[d].addedP50Us, target: limit !== undefined ? `≤ ${limit}` : '' });
    summary.push({ figure: `guarded call: added p99 µs, file log ${d}`, value: a[d].addedP99Us, target: '' });
  }
  for (const n of ['memory', 'batch']) {
    if (!a[n]) continue;
    summary.push({
      figure: `guarded call: added main-thread CPU µs, ${n === 'memory' ? 'in-memory stores' : `file log ${n}`}`,
      value: a[n].addedMainThreadCpuUs,
      target: `≤ ${t.mainThreadCpuUs}`,
    });
  }
  summary.push({ figure: `${H.inFlight} in flight: loopback forwarder calls/s / direct (peer)`, value: a.forwarder.throughputRatio, target: '(comparison)' });
  for (const n of ['memory', 'batch']) {
    if (!a[n]) continue;
    summary.push({
      figure: `${H.inFlight} in flight: guarded calls/s / direct, ${n === 'memory' ? 'in-memory stores' : `file log ${n}`}`,
      value: a[n].throughputRatio,
      target: `≥ ${t.throughputRatio}`,
    });
  }
}
if (R.startup) {
  const t = R.startup.target ?? {};
  summary.push({
    figure: `start-up added ms (app ready)${R.startup.standIn ? ' [stand-in preload]' : ''}`,
    value: R.startup.addedMs,
    target: t.addedMs !== undefined ? `≤ ${t.addedMs}` : '',
  });
  summary.push({
    figure: 'start-up added ms (first answer in)',
    value: R.startup.addedToFirstCallMs,
    target: t.addedToFirstCallMs !== undefined ? `≤ ${t.addedToFirstCallMs}` : '',
  });
  if (R.startup.esm) {
    summary.push({
      figure: 'start-up added ms (app ready), ESM app with --import',
      value: R.startup.esm.addedMs,
      target: t.addedMs !== undefined ? `≤ ${t.addedMs}` : '',
    });
    summary.push({
      figure: 'start-up added ms (first answer in), ESM app with --import',
      value: R.startup.esm.addedToFirstCallMs,
      target: t.addedToFirstCallMs !== undefined ? `≤ ${t.addedToFirstCallMs}` : '',
    });
  }
  if (R.startup.forwarderAddedToFirstCallMs !== undefined) {
    summary.push({
      figure: 'start-up: first answer through the loopback forwarder, added ms (peer)',
      value: R.startup.forwarderAddedToFirstCallMs,
      target: '(comparison)',
    });
  }
}
// met / missed next to each target (nothing where the figure is a peer comparison).
for (const s of summary) {
  const ok = targetMet(s.value, s.target);
  if (ok !== undefined) s.met = ok ? 'met' : 'missed';
}
doc.summary = summary;
process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
if (out) writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
const { table } = await import('./lib.mjs');
table(`summary (${doc.totalSeconds} s, ${doc.machine.cpuModel}, ${doc.machine.cores} cores, Node ${doc.machine.node})`, summary);
