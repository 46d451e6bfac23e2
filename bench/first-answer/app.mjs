// The ESM face of app.cjs: the provider SDK is imported (its ESM build where it has one).
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const { clientFor, PACKAGES } = createRequire(import.meta.url)('./calls.cjs');
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const provider = process.env.BENCH_PROVIDER;
const call = clientFor(provider, await import(PACKAGES[provider]), process.env.BENCH_FAKE_URL);
const readyMs = performance.now();
// The monotonic clock of CPU profiles (µs), to split a profile at the ready point.
const readyHrUs = Number(process.hrtime.bigint() / 1000n);
const cpuReadyMs = cpuMs();
try {
  await call();
  process.stdout.write(JSON.stringify({ readyMs, readyHrUs, cpuReadyMs, firstCallMs: performance.now(), cpuFirstCallMs: cpuMs() }));
} catch (err) {
  process.stderr.write(String(err?.stack ?? err));
  process.exit(1);
}
