// Hot-path profiling driver: runs one workload long enough for a CPU profile,
// then prints where self time went (top functions, grouped by file).
//   node --cpu-prof --cpu-prof-dir=<dir> bench/profile.mjs engine|openai|anthropic|bedrock|openai-direct [calls]
//   node bench/profile.mjs --summarize <file.cpuprofile> [top]
//   node bench/profile.mjs --compare <guarded.cpuprofile> <direct.cpuprofile> <calls>
//     self time per call by category (signing, hashing, canonical JSON, token
//     estimate, the rest of this package, the provider SDK, Node, GC), guarded
//     minus direct: what a guarded call adds, and where
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Self time per function (and per file) from a .cpuprofile, heaviest first. */
export function summarizeProfile(path, top = 25) {
  const prof = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  for (let i = 0; i < prof.samples.length; i++) {
    const n = byId.get(prof.samples[i]);
    self.set(n.id, (self.get(n.id) ?? 0) + (dt[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map();
  const file = new Map();
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    const short = cf.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|bench)\//, '$1/');
    const key = `${cf.functionName || '(anonymous)'} ${short}:${cf.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const fk =
      short
        .split('/')
        .slice(0, short.startsWith('@') ? 2 : 1)
        .join('/') || cf.functionName;
    file.set(fk, (file.get(fk) ?? 0) + us);
  }
  // Inclusive time: each sample counted once for every distinct function on its stack.
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n) => {
    const cf = n.callFrame;
    const short = cf.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|bench)\//, '$1/');
    return `${cf.functionName || '(anonymous)'} ${short}:${cf.lineNumber + 1}`;
  };
  const incl = new Map();
  for (const [id, us] of self) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = keyOf(byId.get(cur));
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + us);
    }
  }
  const pct = (us) => Math.round((us / total) * 1000) / 10;
  const sort = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ pct: pct(us), ms: Math.round(us / 1000), where: k }));
  const inclusive = [...incl]
    .filter(([k]) => / (dist|bench)\//.test(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => ({ pct: pct(us), ms: Math.round(us / 1000), where: k }));
  return { totalMs: Math.round(total / 1000), functions: sort(fn), files: sort(file), inclusiveOurs: inclusive };
}

/** The category a profile node's self time counts under. */
function categoryOf(callFrame) {
  const { functionName: fn, url } = callFrame;
  if (url.includes('crypto/sig') || fn === 'signOneShot') return 'signing (Ed25519)';
  if (url.includes('crypto/hash')) return 'hashing (SHA-256)';
  if (/(^|\/)(dist|src)\//.test(url) && /^(write|sortKeysByCodePoint|entryCanonicalJson|canonicalJson|computeEntryHash)$/.test(fn)) return 'canonical JSON';
  if (url.includes('gpt-tokenizer')) return 'token estimate (gpt-tokenizer)';
  if (/\/dist\//.test(url)) return 'agentguard-spend, the rest';
  if (/node_modules\/(openai|@anthropic-ai|@aws-sdk|@smithy|ai|@ai-sdk)\//.test(url)) return 'provider SDK';
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(idle)' || fn === '(program)') return null;
  return 'Node (network, streams, timers, modules)';
}

/** Self CPU µs per call by {@link categoryOf}, busy time only. */
function perCallByCategory(path, calls) {
  const prof = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const out = {};
  for (let i = 0; i < prof.samples.length; i++) {
    const category = categoryOf(byId.get(prof.samples[i]).callFrame);
    if (category) out[category] = (out[category] ?? 0) + (prof.timeDeltas[i] ?? 0);
  }
  for (const k of Object.keys(out)) out[k] = Math.round((out[k] / calls) * 10) / 10;
  return out;
}

/** What a guarded call adds over the direct one, per category (µs per call). */
export function compareProfiles(guardedPath, directPath, calls) {
  const guarded = perCallByCategory(guardedPath, calls);
  const direct = perCallByCategory(directPath, calls);
  const rows = [...new Set([...Object.keys(guarded), ...Object.keys(direct)])]
    .map((category) => ({
      category,
      guardedUs: guarded[category] ?? 0,
      directUs: direct[category] ?? 0,
      addedUs: Math.round(((guarded[category] ?? 0) - (direct[category] ?? 0)) * 10) / 10,
    }))
    .sort((a, b) => b.addedUs - a.addedUs);
  const sum = (k) => Math.round(rows.reduce((a, r) => a + r[k], 0) * 10) / 10;
  return { calls, rows, guardedUs: sum('guardedUs'), directUs: sum('directUs'), addedUs: sum('addedUs') };
}

async function workload(kind, calls) {
  if (kind === 'engine') {
    const { generateKeypair, InMemoryDecisionLogStore, SpendGuard } = await import('../dist/index.js');
    const { benchGuardConfig } = await import('./engine.mjs');
    const guard = new SpendGuard({ ...benchGuardConfig(generateKeypair()), logStore: new InMemoryDecisionLogStore() });
    const request = { provider: 'openai', model: 'gpt-4o', scope: { tenantId: 'acme', agentId: 'agent-7' }, estimatedInputTokens: 1000, maxOutputTokens: 500 };
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await guard.settle(await guard.decide(request), { inputTokens: 900, outputTokens: 300 });
    return performance.now() - t0;
  }
  const { sdkWorkload } = await import('./sdk.mjs');
  return sdkWorkload(kind, calls);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === '--compare') {
    const [guarded, direct, calls] = process.argv.slice(3);
    process.stdout.write(`${JSON.stringify(compareProfiles(guarded, direct, Number(calls)), null, 1)}\n`);
  } else if (process.argv[2] === '--summarize') {
    const s = summarizeProfile(process.argv[3], Number(process.argv[4] ?? 25));
    process.stdout.write(`${JSON.stringify(s, null, 1)}\n`);
  } else {
    const kind = process.argv[2] ?? 'engine';
    const calls = Number(process.argv[3] ?? 20000);
    const ms = await workload(kind, calls);
    process.stderr.write(`${kind}: ${calls} calls in ${Math.round(ms)} ms (${Math.round((ms * 1000) / calls)} µs/call)\n`);
  }
}
