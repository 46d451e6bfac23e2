// First answer after start, per provider: `node --require agentguard-spend/register app.cjs`
// and `node --import agentguard-spend/register app.mjs` against the same app without the
// preload, for openai, anthropic and bedrock (bench/first-answer/). Each run is a fresh
// process, all variants interleaved in one run; medians. Figures: ms the preload adds to
// the app's ready time and to its first answer (from the loopback fake), and the ratios.
//   npx node bench/first-answer.mjs [--runs 15] [--providers openai,bedrock] [--formats cjs,mjs] [--compile-cache]
// --compile-cache: every process (with and without the preload) runs with NODE_COMPILE_CACHE
// set to one fresh directory (warmed by the first round), as a user who opts into V8's cache.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, median, quantile, report, round, table } from './lib.mjs';
import { startServerProcess } from './servers.mjs';
import { envIn, registerPreload, TARGETS } from './startup.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];
};

function runOnce(args, env) {
  const r = spawnSync(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-800)}`);
  if (r.stderr) throw new Error(`${args.join(' ')} wrote to stderr: ${r.stderr.slice(-800)}`);
  return JSON.parse(r.stdout);
}

export async function firstAnswerResults({ runs = 15, providers = ['openai', 'anthropic', 'bedrock'], formats = ['cjs', 'mjs'], compileCache = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'agentguard-bench-first-answer-'));
  const { preload } = registerPreload();
  const variants = [];
  for (const provider of providers)
    for (const format of formats)
      for (const guarded of [false, true]) {
        const flag = format === 'cjs' ? '--require' : '--import';
        const app = join(root, `bench/first-answer/app.${format}`);
        variants.push({
          name: `${provider} ${format}${guarded ? ` ${flag} register` : ''}`,
          provider,
          format,
          guarded,
          args: guarded ? [flag, preload, app] : [app],
        });
      }
  const samples = new Map(variants.map((v) => [v.name, []]));
  const fake = await startServerProcess('fake');
  try {
    const env = { ...envIn(dir), BENCH_FAKE_URL: fake.url, ...(compileCache ? { NODE_COMPILE_CACHE: join(dir, 'compile-cache') } : {}) };
    const run = (v) => runOnce(v.args, { ...env, BENCH_PROVIDER: v.provider });
    for (const v of variants) run(v); // warm the file cache
    for (let i = 0; i < runs; i++)
      for (let k = 0; k < variants.length; k++) samples.get(variants[(k + i) % variants.length].name).push(run(variants[(k + i) % variants.length]));
  } finally {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const med = (name, key) => median(samples.get(name).map((s) => s[key]));
  // The 10th percentile: on a shared machine the fastest runs are the ones least slowed by other load.
  const p10 = (name, key) =>
    quantile(
      samples
        .get(name)
        .map((s) => s[key])
        .sort((a, b) => a - b),
      0.1,
    );
  const rows = [];
  for (const provider of providers)
    for (const format of formats) {
      const plain = variants.find((v) => v.provider === provider && v.format === format && !v.guarded).name;
      const guarded = variants.find((v) => v.provider === provider && v.format === format && v.guarded).name;
      rows.push({
        app: `${provider} ${format}`,
        readyMs: round(med(plain, 'readyMs'), 1),
        guardedReadyMs: round(med(guarded, 'readyMs'), 1),
        addedMs: round(med(guarded, 'readyMs') - med(plain, 'readyMs'), 1),
        readyRatio: round(med(guarded, 'readyMs') / med(plain, 'readyMs'), 3),
        firstCallMs: round(med(plain, 'firstCallMs'), 1),
        guardedFirstCallMs: round(med(guarded, 'firstCallMs'), 1),
        addedToFirstCallMs: round(med(guarded, 'firstCallMs') - med(plain, 'firstCallMs'), 1),
        firstCallRatio: round(med(guarded, 'firstCallMs') / med(plain, 'firstCallMs'), 3),
        addedToFirstCallP10Ms: round(p10(guarded, 'firstCallMs') - p10(plain, 'firstCallMs'), 1),
        // CPU ms of the process (all threads): what the preload costs, less shaken by other load on the machine than wall time.
        addedCpuMs: round(med(guarded, 'cpuReadyMs') - med(plain, 'cpuReadyMs'), 1),
        addedCpuToFirstCallMs: round(med(guarded, 'cpuFirstCallMs') - med(plain, 'cpuFirstCallMs'), 1),
      });
    }
  return {
    runs,
    compileCache,
    rows,
    target: TARGETS,
    met: {
      addedMs: rows.every((r) => r.addedMs <= TARGETS.addedMs),
      addedToFirstCallMs: rows.every((r) => r.addedToFirstCallMs <= TARGETS.addedToFirstCallMs),
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const res = await firstAnswerResults({
    runs: Number(arg('runs', '15')),
    providers: arg('providers', 'openai,anthropic,bedrock').split(','),
    formats: arg('formats', 'cjs,mjs').split(','),
    compileCache: process.argv.includes('--compile-cache'),
  });
  report('first-answer', res.rows, { machine: await machine(), ...res, rows: undefined });
  table('first answer after start, per provider (fresh process each run; medians)', res.rows);
}
