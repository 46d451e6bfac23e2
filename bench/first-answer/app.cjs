'use strict';
// A CommonJS app that loads one provider SDK (BENCH_PROVIDER), builds a client
// and sends one call to the fake at BENCH_FAKE_URL. Prints {readyMs, firstCallMs}
// (ms since the process started) and the CPU ms used by each point.
const { performance } = require('node:perf_hooks');
const { clientFor, PACKAGES } = require('./calls.cjs');

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const provider = process.env.BENCH_PROVIDER;
const call = clientFor(provider, require(PACKAGES[provider]), process.env.BENCH_FAKE_URL);
const readyMs = performance.now();
// The monotonic clock of CPU profiles (µs), to split a profile at the ready point.
const readyHrUs = Number(process.hrtime.bigint() / 1000n);
const cpuReadyMs = cpuMs();
call()
  .then(() => process.stdout.write(JSON.stringify({ readyMs, readyHrUs, cpuReadyMs, firstCallMs: performance.now(), cpuFirstCallMs: cpuMs() })))
  .catch((err) => {
    process.stderr.write(String(err?.stack ?? err));
    process.exit(1);
  });
