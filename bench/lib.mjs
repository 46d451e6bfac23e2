// Small timing helpers shared by the benchmarks: no dependencies, JSON out.
import { performance } from 'node:perf_hooks';

/** Runs `fn` `iterations` times after a warm-up; returns ops/s and per-op µs percentiles. */
export async function measure(name, fn, { iterations = 20000, warmup = 2000, batch = 1 } = {}) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const samples = new Float64Array(Math.ceil(iterations / batch));
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (let s = 0; s < samples.length; s++) {
    const t0 = performance.now();
    for (let b = 0; b < batch; b++) await fn(s * batch + b);
    samples[s] = (performance.now() - t0) / batch;
  }
  const totalMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  samples.sort();
  const pct = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] * 1000;
  return {
    name,
    iterations,
    opsPerSec: Math.round((iterations / totalMs) * 1000),
    meanUs: round((totalMs / iterations) * 1000),
    p50Us: round(pct(0.5)),
    p99Us: round(pct(0.99)),
    cpuUs: round((cpu.user + cpu.system) / iterations),
  };
}

/** Same as measure, but for a synchronous function (no await overhead in the loop). */
export function measureSync(name, fn, { iterations = 20000, warmup = 2000 } = {}) {
  for (let i = 0; i < warmup; i++) fn(i);
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn(i);
  const totalMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  // cpuUs: CPU time per op of this thread's process; on a busy shared machine it is steadier than wall time.
  return {
    name,
    iterations,
    opsPerSec: Math.round((iterations / totalMs) * 1000),
    meanUs: round((totalMs / iterations) * 1000),
    cpuUs: round((cpu.user + cpu.system) / iterations),
  };
}

export function round(x, digits = 2) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Prints a result object as one JSON document and a short table on stderr. */
export function report(title, results, extra = {}) {
  const out = { benchmark: title, node: process.version, ...extra, results };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  if (process.stderr.isTTY) console.table(results);
  return out;
}

/** p-quantile (0..1) of an already sorted numeric array. */
export function quantile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Median of a numeric array (not modified). */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The machine a benchmark ran on: CPU model, cores, memory, Node, OS. */
export async function machine() {
  const os = await import('node:os');
  const { readFileSync } = await import('node:fs');
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  let cpuMHz;
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpuModel;
    const mhz = /^cpu MHz\s*:\s*(.+)$/m.exec(info)?.[1];
    if (mhz) cpuMHz = Math.round(Number(mhz));
  } catch {
    // not Linux
  }
  return {
    cpuModel,
    ...(cpuMHz ? { cpuMHz } : {}),
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    v8: process.versions.v8,
    openssl: process.versions.openssl,
    platform: `${process.platform}-${process.arch}`,
    kernel: os.release(),
  };
}

/** Prints a short table (array of flat objects) to stderr, keeping stdout pure JSON. */
export function table(title, rows) {
  if (!rows.length) return;
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v) => (v === undefined || v === null ? '' : typeof v === 'number' ? String(v) : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals) => vals.map((v, i) => (typeof v === 'number' ? v.toString().padStart(widths[i]) : cell(v).padEnd(widths[i]))).join('  ');
  process.stderr.write(`\n${title}\n${line(cols)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of rows) process.stderr.write(`${line(cols.map((c) => r[c]))}\n`);
}

/**
 * A decision-log store that keeps only the head (and checks order): the
 * benchmarks of the guard measure the guard, not a growing in-memory array
 * (whose GC cost grows with the run). The exporter benchmark measures storage.
 */
export class HeadOnlyLogStore {
  #head = null;
  count = 0;
  head() {
    return this.#head;
  }
  append(entry) {
    const expected = this.#head ? this.#head.sequence + 1 : 0;
    if (entry.sequence !== expected) throw new Error(`log append out of order: expected sequence ${expected}, got ${entry.sequence}`);
    this.#head = { sequence: entry.sequence, entryHash: entry.entryHash };
    this.count++;
  }
}

/**
 * Whether `value` meets a target written as `≤ 1.4`, `≥ 16000`, `≥ 9000 /core`
 * or `≈ 1` (within 0.8–1.25): true or false, undefined when there is nothing to
 * compare (no target, `(comparison)`, or no value).
 */
export function targetMet(value, target) {
  if (typeof value !== 'number') return undefined;
  if (/^≈\s*1\b/.test(target ?? '')) return value >= 0.8 && value <= 1.25;
  const t = /^([≤≥])\s*([\d.]+)/.exec(target ?? '');
  if (!t) return undefined;
  const limit = Number(t[2]);
  return t[1] === '≤' ? value <= limit : value >= limit;
}
