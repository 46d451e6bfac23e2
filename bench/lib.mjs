// Small timing helpers shared by the benchmarks: no dependencies, JSON out.
import { performance } from 'node:perf_hooks';

/** Runs `fn` `iterations` times after a warm-up; returns ops/s and per-op µs percentiles. */
export async function measure(name, fn, { iterations = 20000, warmup = 2000, batch = 1 } = {}) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const samples = new Float64Array(Math.ceil(iterations / batch));
  const start = performance.now();
  for (let s = 0; s < samples.length; s++) {
    const t0 = performance.now();
    for (let b = 0; b < batch; b++) await fn(s * batch + b);
    samples[s] = (performance.now() - t0) / batch;
  }
  const totalMs = performance.now() - start;
  samples.sort();
  const pct = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] * 1000;
  return {
    name,
    iterations,
    opsPerSec: Math.round((iterations / totalMs) * 1000),
    meanUs: round((totalMs / iterations) * 1000),
    p50Us: round(pct(0.5)),
    p99Us: round(pct(0.99)),
  };
}

/** Same as measure, but for a synchronous function (no await overhead in the loop). */
export function measureSync(name, fn, { iterations = 20000, warmup = 2000 } = {}) {
  for (let i = 0; i < warmup; i++) fn(i);
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn(i);
  const totalMs = performance.now() - start;
  return { name, iterations, opsPerSec: Math.round((iterations / totalMs) * 1000), meanUs: round((totalMs / iterations) * 1000) };
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
