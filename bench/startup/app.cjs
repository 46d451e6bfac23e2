'use strict';
// The app of the start-up benchmark: imports `openai` and builds a client, as an
// agent does at start. Prints {readyMs} (ms since the process started, when its
// start-up code is done) and cpuReadyMs (CPU ms used by then); with BENCH_FAKE_URL it
// then sends one chat completion and adds firstCallMs and cpuFirstCallMs (when the first answer is in).
const { performance } = require('node:perf_hooks');
const OpenAI = require('openai');
// CPU time of the process (all its threads) so far: less shaken than wall time by other load on the machine.
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const url = process.env.BENCH_FAKE_URL;
const client = new OpenAI({ apiKey: 'sk-startup-bench', baseURL: `${url ?? 'http://127.0.0.1:9'}/v1`, maxRetries: 0 });
const readyMs = performance.now();
const cpuReadyMs = cpuMs();
if (!url) {
  process.stdout.write(JSON.stringify({ readyMs, cpuReadyMs }));
} else {
  client.chat.completions
    .create({ model: 'gpt-4o', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello.' }] })
    .then(() => process.stdout.write(JSON.stringify({ readyMs, cpuReadyMs, firstCallMs: performance.now(), cpuFirstCallMs: cpuMs() })))
    .catch((err) => {
      process.stderr.write(String(err?.stack ?? err));
      process.exit(1);
    });
}
