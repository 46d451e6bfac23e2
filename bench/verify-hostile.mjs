// Verify on hostile input: garbage without a newline at two sizes (time and
// peak RSS must grow linearly and stay flat), many small garbage files, and
// what the strict line reader costs per line over JSON.parse.
//   npm run build && node bench/verify-hostile.mjs [--quick]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { ChainWriter, createSigner, generateKeypair, parseLogLine } from '../dist/index.js';

const quick = process.argv.includes('--quick');
const EXPORTERS = fileURLToPath(new URL('../dist/exporters.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'agentguard-bench-hostile-'));
const keyHex = Buffer.from(generateKeypair().publicKey).toString('hex');

/** Verifies `path` in a fresh child process; its wall time and peak RSS. */
function verifyInChild(path) {
  const script = `
    const { verifyDecisionLog } = await import(${JSON.stringify(EXPORTERS)});
    const t = performance.now();
    const v = await verifyDecisionLog(${JSON.stringify(path)}, new Uint8Array(Buffer.from(${JSON.stringify(keyHex)}, 'hex')), { findCheckpoints: false });
    console.log(JSON.stringify({ ms: performance.now() - t, maxRssMB: process.resourceUsage().maxRSS / 1024, ok: v.ok, chains: v.chains.length, reasons: [...new Set(v.chains.map((c) => c.failure?.reason))] }));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

function garbage(file, mb) {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 20, 0x41);
  for (let i = 0; i < mb; i++) writeSync(fd, chunk);
  closeSync(fd);
}

const results = {};
try {
  const sizes = quick ? [16, 64] : [64, 256];
  results.noNewline = sizes.map((mb) => {
    const f = join(dir, `garbage-${mb}.jsonl`);
    garbage(f, mb);
    const r = verifyInChild(f);
    rmSync(f);
    return { mb, ...r };
  });
  const [a, b] = results.noNewline;
  results.timeRatio = +(b.ms / a.ms).toFixed(2);
  results.sizeRatio = b.mb / a.mb;
  results.rssRatio = +(b.maxRssMB / a.maxRssMB).toFixed(2);

  const n = quick ? 2000 : 10000;
  const many = join(dir, 'many');
  execFileSync('mkdir', [many]);
  for (let i = 0; i < n; i++) writeFileSync(join(many, `g${i}.jsonl`), `not json ${i}`);
  results.manyFiles = { files: n, ...verifyInChild(many) };

  const w = new ChainWriter(createSigner(generateKeypair()));
  const line = JSON.stringify(
    w.append({
      entryType: 'decision',
      decisionId: 'x',
      timestamp: '2026-01-01T00:00:00.000Z',
      action: 'allow',
      triggeredCap: { amountCents: 100, window: 'per_day', action: 'block', reason: 'r' },
      projectedCents: 4,
      reasons: ['within budget'],
      actor: { tenantId: 'acme', agentId: 'bot' },
    }),
  );
  const bytes = Buffer.from(line);
  const rounds = quick ? 20_000 : 100_000;
  const time = (f) => {
    for (let i = 0; i < 2000; i++) f();
    const t = performance.now();
    for (let i = 0; i < rounds; i++) f();
    return ((performance.now() - t) * 1000) / rounds;
  };
  const jsonParse = time(() => JSON.parse(bytes.toString('utf8')));
  const strict = time(() => parseLogLine(bytes));
  results.perLine = {
    lineBytes: bytes.length,
    jsonParseMicros: +jsonParse.toFixed(2),
    parseLogLineMicros: +strict.toFixed(2),
    ratio: +(strict / jsonParse).toFixed(2),
  };
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(results, null, 2));
