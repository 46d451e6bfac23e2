// (5) Verify: a large decision log on disk through the CLI (`dist/cli.js verify`),
// entries per second (wall and per CPU-second) and the child's peak RSS, at two
// sizes to show memory stays flat. The log is generated directly (ChainWriter's
// hashing, signatures made on the libuv threadpool), not through the guard, and
// kept in the OS temp dir for the next run (deterministic key; `--fresh` regenerates).
import { execFileSync, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { generateKeypair, InMemoryDecisionLogStore, signingKeysFromHex, SpendGuard } from '../dist/index.js';
import { computeEntryHash, GENESIS_HASH, signerFingerprint, verifySignature } from '../dist/internal/audit.js';
import { benchGuardConfig } from './engine.mjs';
import { machine, measureSync, report, round, table } from './lib.mjs';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
/** Fixed seed: a cached log stays verifiable across runs. Never a real key. */
const SEED_HEX = crypto.createHash('sha256').update('agentguard-spend bench verify v1').digest('hex');
const FORMAT_VERSION = 1;

function privateKeyObject(seedHex) {
  return crypto.createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedHex, 'hex')]),
    format: 'der',
    type: 'pkcs8',
  });
}

/** A real decision and outcome from the guard, as templates. */
async function templates() {
  const guard = new SpendGuard({ ...benchGuardConfig(generateKeypair()), logStore: new InMemoryDecisionLogStore(), metrics: false });
  const d = await guard.decide({
    provider: 'openai',
    model: 'gpt-4o',
    scope: { tenantId: 'acme', agentId: 'agent-7' },
    estimatedInputTokens: 1200,
    maxOutputTokens: 800,
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
  });
  const o = await guard.settle(d, { inputTokens: 1100, outputTokens: 400, cachedInputTokens: 200 });
  return [d.decision, o.decision];
}

/** Writes an `n`-entry chain file into `dir`; returns entries/s of generation. */
export async function generateLog(dir, n) {
  mkdirSync(dir, { recursive: true });
  const keys = signingKeysFromHex(SEED_HEX);
  const key = privateKeyObject(SEED_HEX);
  const fingerprint = signerFingerprint(keys.publicKey);
  const [decisionT, outcomeT] = await templates();
  const out = createWriteStream(join(dir, 'bench-verify.20261125.000001.jsonl'));
  const t0 = performance.now();
  let previousHash = GENESIS_HASH;
  const baseMs = Date.parse('2026-11-25T00:00:00.000Z');
  const BATCH = 2048;
  for (let start = 0; start < n; start += BATCH) {
    const lines = [];
    const signs = [];
    for (let sequence = start; sequence < Math.min(n, start + BATCH); sequence++) {
      const pair = sequence >> 1;
      const decisionId = `00000000-0000-4000-8000-${pair.toString(16).padStart(12, '0')}`;
      const timestamp = new Date(baseMs + pair * 50).toISOString();
      const decision =
        sequence % 2 === 0
          ? { ...decisionT, decisionId, timestamp, windowSpendBefore: pair * 3, windowSpendAfter: pair * 3 + decisionT.projectedCents }
          : {
              ...outcomeT,
              decisionId: `${decisionId.slice(0, -1)}f`,
              originalDecisionId: decisionId,
              timestamp,
              windowSpendBefore: pair * 3 + decisionT.projectedCents,
              windowSpendAfter: pair * 3 + 1,
            };
      const entryHash = computeEntryHash({ sequence, decision, previousHash, signerFingerprint: fingerprint });
      const entry = { sequence, decision, previousHash, entryHash, signature: '', signerFingerprint: fingerprint };
      previousHash = entryHash;
      lines.push(entry);
      signs.push(
        new Promise((resolve, reject) =>
          crypto.sign(null, Buffer.from(entryHash, 'hex'), key, (err, sig) => {
            if (err) return reject(err);
            entry.signature = sig.toString('hex');
            resolve();
          }),
        ),
      );
    }
    await Promise.all(signs);
    if (!out.write(lines.map((e) => `${JSON.stringify(e)}\n`).join(''))) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
  const ms = performance.now() - t0;
  writeFileSync(join(dir, '.complete'), JSON.stringify({ n, FORMAT_VERSION, publicKeyHex: Buffer.from(keys.publicKey).toString('hex') }));
  return Math.round(n / (ms / 1000));
}

/** The cached log of `n` entries (generated if missing). */
async function logOf(n, fresh) {
  const dir = join(tmpdir(), `agentguard-bench-verify-v${FORMAT_VERSION}-${n}`);
  const marker = join(dir, '.complete');
  if (!fresh && existsSync(marker)) {
    const m = JSON.parse(readFileSync(marker, 'utf8'));
    if (m.n === n) return { dir, publicKeyHex: m.publicKeyHex, generated: false };
  }
  rmSync(dir, { recursive: true, force: true });
  const perSec = await generateLog(dir, n);
  return { dir, publicKeyHex: JSON.parse(readFileSync(marker, 'utf8')).publicKeyHex, generated: true, generatedPerSec: perSec };
}

function hasGnuTime() {
  try {
    execFileSync('/usr/bin/time', ['-v', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs `node dist/cli.js verify` in a child; wall time, CPU time and peak RSS of that child. */
export function runCliVerify(dir, publicKeyHex, extraEnv = {}) {
  const gnu = hasGnuTime();
  const args = [CLI, 'verify', dir, '--public-key', publicKeyHex, '--json'];
  const cmd = gnu ? '/usr/bin/time' : process.execPath;
  const argv = gnu ? ['-v', process.execPath, ...args] : args;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...extraEnv } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallS = (performance.now() - t0) / 1000;
      let result;
      try {
        result = JSON.parse(stdout);
      } catch {
        return reject(new Error(`verify printed no JSON (exit ${code}): ${stderr.slice(-500)}`));
      }
      const num = (re) => Number(re.exec(stderr)?.[1]);
      const cpuS = gnu ? num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/) : NaN;
      const maxRssMiB = gnu ? round(num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024, 1) : NaN;
      resolve({ code, ok: result.ok, entries: result.chains.reduce((a, c) => a + c.entries, 0), wallS: round(wallS, 2), cpuS: round(cpuS, 2), maxRssMiB });
    });
  });
}

/**
 * The change measured: verifyDecisionLog (what the CLI runs) with signatures
 * on the libuv threadpool (the CLI's default on >1 core) and on one thread (as
 * before), over the smallest log, in this process, alternated twice; entries/s
 * wall and per CPU-second (best of 2).
 */
async function parallelVsSequential(log) {
  const { verifyDecisionLog } = await import('../dist/audit.js');
  const key = Buffer.from(log.publicKeyHex, 'hex');
  const out = { sequential: [], parallel: [] };
  for (let i = 0; i < 2; i++) {
    for (const mode of ['sequential', 'parallel']) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const v = await verifyDecisionLog(log.dir, key, { parallelSignatures: mode === 'parallel' });
      const s = (performance.now() - t0) / 1000;
      const cu = process.cpuUsage(c0);
      if (!v.ok) throw new Error(`${mode} verify failed`);
      const n = v.chains[0].entries;
      out[mode].push({ perSec: n / s, perCpuSec: n / ((cu.user + cu.system) / 1e6) });
    }
  }
  const best = (xs, k) => Math.round(Math.max(...xs.map((x) => x[k])));
  return {
    entries: sizes0(log),
    sequential: { entriesPerSec: best(out.sequential, 'perSec'), entriesPerCpuSec: best(out.sequential, 'perCpuSec') },
    parallel: { entriesPerSec: best(out.parallel, 'perSec'), entriesPerCpuSec: best(out.parallel, 'perCpuSec') },
  };
}
const sizes0 = (log) => Number(/-(\d+)$/.exec(log.dir)?.[1]);

export async function verifyResults({ sizes = [100_000, 1_000_000], fresh = false } = {}) {
  const keys = generateKeypair();
  const msg = crypto.randomBytes(32);
  const sig = crypto.sign(null, msg, privateKeyObject(Buffer.from(keys.privateKey).toString('hex')));
  const floor = measureSync('ed25519 verify node:crypto (floor)', () => verifySignature(keys.publicKey, msg, sig, 'node'), { iterations: 5000, warmup: 500 });
  const runs = [];
  for (const n of sizes) {
    const log = await logOf(n, fresh);
    const r = await runCliVerify(log.dir, log.publicKeyHex);
    if (!r.ok || r.entries !== n) throw new Error(`verify of ${n} entries failed: ${JSON.stringify(r)}`);
    runs.push({
      entries: n,
      ...(log.generated ? { generatedPerSec: log.generatedPerSec } : { generated: 'cached' }),
      wallS: r.wallS,
      cpuS: r.cpuS,
      entriesPerSec: Math.round(n / r.wallS),
      entriesPerCpuSec: Math.round(n / r.cpuS),
      maxRssMiB: r.maxRssMiB,
    });
  }
  // Signatures on the threadpool (PipelinedChainVerifier) vs one thread, in this process, smallest log.
  const parallelAB = await parallelVsSequential(await logOf(sizes[0], false));
  return {
    verifyFloorUs: floor.meanUs,
    verifyFloorCpuUs: floor.cpuUs,
    parallelAB,
    floorEntriesPerCoreSec: Math.round(1e6 / floor.meanUs),
    runs,
    rssRatioLargestToSmallest: round(runs[runs.length - 1].maxRssMiB / runs[0].maxRssMiB, 2),
    target: { entriesPerCoreSec: 9000, flatMemory: true },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const res = await verifyResults({ sizes: quick ? [20_000, 200_000] : [100_000, 1_000_000], fresh: process.argv.includes('--fresh') });
  report('verify', res.runs, { machine: await machine(), ...res, runs: undefined });
  table('(5) CLI verify', res.runs);
  table(`(5) verifyDecisionLog, ${res.parallelAB.entries} entries, in-process, best of 2`, [
    { mode: 'signatures on one thread (before)', ...res.parallelAB.sequential },
    { mode: 'signatures on the threadpool (CLI default)', ...res.parallelAB.parallel },
  ]);
}
