// Markdown tables from a `npm run bench -- --out=<file>` document, for the README.
//   node bench/markdown.mjs results.json
import { readFileSync } from 'node:fs';

const doc = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const R = doc.results;
const m = doc.machine;
const lines = [];
const t = (head, rows) => {
  lines.push(`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`);
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  lines.push('');
};
const n = (x) => (typeof x === 'number' ? x.toLocaleString('en-US').replace(/,/g, ' ') : x ?? '');

lines.push(`Machine: ${m.cpuModel} (${m.cpuMHz ?? '?'} MHz), ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node} (V8 ${m.v8}, OpenSSL ${m.openssl}), ${m.platform}; run ${doc.startedAt}, ${doc.totalSeconds} s${doc.quick ? ', --quick' : ''}.`, '');
if (R.engine) {
  lines.push('**(1) Floor and (2) engine** (µs per operation; CPU = process CPU time per op)', '');
  t(['operation', 'wall µs', 'CPU µs'], R.engine.results.map((r) => [r.name, n(r.meanUs), n(r.cpuUs)]));
  lines.push(`decide + settle vs 2 × (JCS + hash + sign): **${R.engine.ratioToFloor}×** CPU (${R.engine.ratioToFloorWall}× wall; per round ${R.engine.ratioPerRound.join(', ')}); **${n(R.engine.signedEntriesPerSec)}** signed entries/s wall, ${n(R.engine.signedEntriesPerCpuSec)} per CPU-second.`, '');
}
if (R.sdk) {
  lines.push(`**(3) SDK call and (7) proxy** (${R.sdk.rounds} rounds × ${R.sdk.perRound} calls per variant, interleaved; added = variant − direct, same run; floor of a guarded call, 2 signed entries: ${R.sdk.floorTwoEntriesUs} µs)`, '');
  const rows = [];
  for (const [p, v] of Object.entries(R.sdk.providers)) {
    for (const [variant, s] of Object.entries(v.variants)) {
      const a = variant === 'direct' ? null : v.added[variant];
      rows.push([p, variant, n(s.p50Us), n(s.p99Us), n(s.cpuUs), a ? n(a.addedP50Us) : '–', a ? n(a.addedP99Us) : '–', a ? n(a.addedCpuUs) : '–']);
    }
  }
  t(['provider', 'variant', 'p50 µs', 'p99 µs', 'CPU µs/call', 'added p50 µs', 'added p99 µs', 'added CPU µs'], rows);
}
if (R.exporter) {
  lines.push('**(4) Exporter** (file decision log; append = pre-signed entries one at a time; concurrent = 64 in flight; guard calls = decide + settle with that store)', '');
  t(['durability', 'appends/s', 'append p50 µs', 'append p99 µs', 'concurrent appends/s', 'guard calls/s'], ['batch', 'write', 'fsync'].map((k) => [k, n(R.exporter.appendSeries[k].perSec), n(R.exporter.appendSeries[k].p50us), n(R.exporter.appendSeries[k].p99us), n(R.exporter.appendConcurrent[k].perSec), n(R.exporter.guardCallsPerSec[k].perSec)]));
}
if (R.verify) {
  lines.push(`**(5) Verify** through the CLI (\`dist/cli.js verify --json\`, child process; peak RSS by /usr/bin/time -v). Ed25519 verify alone here: ${R.verify.verifyFloorUs} µs = ${n(R.verify.floorEntriesPerCoreSec)} entries/s per core.`, '');
  t(['entries', 'wall s', 'CPU s', 'entries/s', 'entries per CPU-second', 'peak RSS MiB'], R.verify.results.map((r) => [n(r.entries), r.wallS, r.cpuS, n(r.entriesPerSec), n(r.entriesPerCpuSec), r.maxRssMiB]));
  const ab = R.verify.parallelAB;
  if (ab) t(['verifyDecisionLog, ' + n(ab.entries) + ' entries', 'entries/s', 'entries per CPU-second'], [
    ['signatures on one thread (before)', n(ab.sequential.entriesPerSec), n(ab.sequential.entriesPerCpuSec)],
    ['signatures on the threadpool (CLI default)', n(ab.parallel.entriesPerSec), n(ab.parallel.entriesPerCpuSec)],
  ]);
}
if (R.startup) {
  const variants = Object.fromEntries(R.startup.results.map(({ variant, ...v }) => [variant, v]));
  lines.push(`**(6) Start-up** (${variants['node app.cjs'].runs} fresh processes per variant, interleaved, medians; preload: \`${R.startup.preload}\`; ready = ms from process start to the end of the app's start-up code; first call = to its first answer from the fake provider)`, '');
  t(['command', 'ready ms', 'first call ms', 'exit ms'], Object.entries(variants).map(([k, v]) => [`\`${k}\``, n(v.readyMs), n(v.firstCallMs), n(v.exitMs)]));
  lines.push(`Added by the preload: **${R.startup.addedMs} ms** to ready, ${R.startup.addedToFirstCallMs} ms to the first answer.`, '');
}
process.stdout.write(`${lines.join('\n')}\n`);
