// (6) Start-up: `node --require agentguard-spend/register app.cjs` vs plain
// `node app.cjs` (an app that imports `openai`), and the same for an ESM app
// with `--import`; each run a fresh process, all variants interleaved in one
// run; medians. Figures: what the preload adds to the app's ready time and to
// its first answer (from the loopback fake), as differences and ratios against
// the same app without the preload, and for the first answer also against the
// same app sending its first call through a bare loopback HTTP forwarder (the
// least a proxy adds). The register preload gets a real configuration made in a
// temp dir (policy, key, log dir, tenant).
// Run with the Node the package targets (`npm run bench`, or `npx node bench/startup.mjs`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { generateKeypair, signingKeysToHex } from '../dist/index.js';
import { machine, median, quantile, report, round, table } from './lib.mjs';
import { startServerProcess } from './servers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const apps = { 'app.cjs': join(root, 'bench/startup/app.cjs'), 'app.mjs': join(root, 'bench/startup/app.mjs') };
/** Targets of the start-up figures (ms added; medians). */
export const TARGETS = { addedMs: 30, addedToFirstCallMs: 60 };

/** The preload measured: the package's own `agentguard-spend/register` entry (from dist). */
export function registerPreload() {
  const require = createRequire(join(root, 'package.json'));
  const resolved = require.resolve('agentguard-spend/register');
  if (!existsSync(resolved)) throw new Error(`${resolved} is missing: run npm run build first`);
  return { preload: 'agentguard-spend/register', resolved, standIn: false };
}

/** The register preload's environment in `dir`: a policy file, a signing key, a log directory. */
export function envIn(dir) {
  const policy = join(dir, 'policy.json');
  writeFileSync(
    policy,
    JSON.stringify({
      id: 'startup',
      name: 'startup',
      scope: { tenantId: 'acme' },
      mode: 'enforce',
      version: 1,
      effectiveFrom: '2026-01-01T00:00:00Z',
      caps: [{ amountCents: 500, window: 'per_day', action: 'block', reason: 'daily budget' }],
    }),
  );
  const key = join(dir, 'signing.key');
  writeFileSync(key, `${signingKeysToHex(generateKeypair()).privateKeyHex}\n`, { mode: 0o600 });
  return {
    AGENTGUARD_POLICY: policy,
    AGENTGUARD_SIGNING_KEY_FILE: key,
    AGENTGUARD_SCOPE_TENANT_ID: 'acme',
    AGENTGUARD_LOG_DIR: join(dir, 'logs'),
  };
}

/** One fresh process: its wall time to exit, and what the app reports (ms since its start). */
function runOnce(args, env) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  const exitMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-800)}`);
  const app = r.stdout ? JSON.parse(r.stdout) : {};
  return { exitMs, ...app };
}

function stats(runs) {
  const med = (k) => {
    const xs = runs.map((r) => r[k]).filter((x) => typeof x === 'number');
    return xs.length ? round(median(xs), 1) : undefined;
  };
  const exit = runs.map((r) => r.exitMs).sort((a, b) => a - b);
  return {
    runs: runs.length,
    readyMs: med('readyMs'),
    firstCallMs: med('firstCallMs'),
    cpuReadyMs: med('cpuReadyMs'),
    cpuFirstCallMs: med('cpuFirstCallMs'),
    exitMs: med('exitMs'),
    exitP10Ms: round(quantile(exit, 0.1), 1),
    exitP90Ms: round(quantile(exit, 0.9), 1),
  };
}

export async function startupResults({ runs = 15, warmups = 2 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'agentguard-bench-startup-'));
  try {
    const env = envIn(dir);
    const { preload, standIn } = registerPreload();
    const variants = {
      'node app.cjs': ['app.cjs'],
      'node --require <register> app.cjs': ['--require', preload, 'app.cjs'],
      'node app.cjs + first call': ['first', 'app.cjs'],
      'node --require <register> app.cjs + first call': ['first', '--require', preload, 'app.cjs'],
      'node app.cjs + first call via forwarder': ['forwarded', 'app.cjs'],
      'node app.mjs': ['app.mjs'],
      'node --import <register> app.mjs': ['--import', preload, 'app.mjs'],
      'node app.mjs + first call': ['first', 'app.mjs'],
      'node --import <register> app.mjs + first call': ['first', '--import', preload, 'app.mjs'],
      'node -e 0 (bare node)': ['-e', '0'],
    };
    const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    const names = Object.keys(variants);
    const fake = await startServerProcess('fake');
    const forwarder = await startServerProcess('proxy', fake.url);
    const run = (n) => {
      const argv = variants[n];
      const url = { first: fake.url, forwarded: forwarder.url }[argv[0]];
      return runOnce(
        (url ? argv.slice(1) : argv).map((a) => apps[a] ?? a),
        url ? { ...env, BENCH_FAKE_URL: url } : env,
      );
    };
    try {
      for (let i = 0; i < warmups; i++) for (const n of names) run(n); // warm the file cache
      for (let i = 0; i < runs; i++) {
        for (let k = 0; k < names.length; k++) {
          const n = names[(k + i) % names.length];
          times[n].push(run(n));
        }
      }
    } finally {
      await forwarder.close();
      await fake.close();
    }
    const s = Object.fromEntries(names.map((n) => [n, stats(times[n])]));
    const added = (plain, guarded, key) => round(s[guarded][key] - s[plain][key], 1);
    const ratio = (plain, guarded, key) => round(s[guarded][key] / s[plain][key], 3);
    const figures = (ext, flag) => ({
      // Start-up: until the app's own start-up code is done (ms since process start).
      addedMs: added(`node app.${ext}`, `node ${flag} <register> app.${ext}`, 'readyMs'),
      readyRatio: ratio(`node app.${ext}`, `node ${flag} <register> app.${ext}`, 'readyMs'),
      // Until the app's first answer is in: includes what is loaded on first use (engine, prices).
      addedToFirstCallMs: added(`node app.${ext} + first call`, `node ${flag} <register> app.${ext} + first call`, 'firstCallMs'),
      firstCallRatio: ratio(`node app.${ext} + first call`, `node ${flag} <register> app.${ext} + first call`, 'firstCallMs'),
      addedToExitMs: added(`node app.${ext}`, `node ${flag} <register> app.${ext}`, 'exitMs'),
      // The same in CPU time (all threads of the process): what the preload costs, whatever else the machine runs.
      addedCpuMs: added(`node app.${ext}`, `node ${flag} <register> app.${ext}`, 'cpuReadyMs'),
      addedCpuToFirstCallMs: added(`node app.${ext} + first call`, `node ${flag} <register> app.${ext} + first call`, 'cpuFirstCallMs'),
    });
    const cjs = figures('cjs', '--require');
    const esm = figures('mjs', '--import');
    // The first answer through the forwarder, and the preload's against it: a proxy hop costs its own first connection.
    const viaForwarder = 'node app.cjs + first call via forwarder';
    cjs.forwarderAddedToFirstCallMs = added('node app.cjs + first call', viaForwarder, 'firstCallMs');
    cjs.forwarderFirstCallRatio = ratio('node app.cjs + first call', viaForwarder, 'firstCallMs');
    cjs.firstCallRatioToForwarder = ratio(viaForwarder, 'node --require <register> app.cjs + first call', 'firstCallMs');
    return {
      preload,
      standIn,
      variants: s,
      // The CommonJS app's figures at the top level (what the summary reports), the ESM app's under `esm`.
      ...cjs,
      esm,
      target: TARGETS,
      met: {
        addedMs: cjs.addedMs <= TARGETS.addedMs && esm.addedMs <= TARGETS.addedMs,
        addedToFirstCallMs: cjs.addedToFirstCallMs <= TARGETS.addedToFirstCallMs && esm.addedToFirstCallMs <= TARGETS.addedToFirstCallMs,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // --smoke: one process per variant, only to check the script runs.
  const res = await startupResults(process.argv.includes('--smoke') ? { runs: 1, warmups: 0 } : { runs: process.argv.includes('--quick') ? 7 : 15 });
  report(
    'startup',
    Object.entries(res.variants).map(([variant, v]) => ({ variant, ...v })),
    { machine: await machine(), ...res, variants: undefined },
  );
  table(
    '(6) start-up (fresh process each run)',
    Object.entries(res.variants).map(([variant, v]) => ({ variant, ...v })),
  );
}
