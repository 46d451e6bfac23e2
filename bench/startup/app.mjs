// The ESM app of the start-up benchmark: the same as app.cjs, importing `openai`'s ESM build.
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';

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
  try {
    await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello.' }] });
    process.stdout.write(JSON.stringify({ readyMs, cpuReadyMs, firstCallMs: performance.now(), cpuFirstCallMs: cpuMs() }));
  } catch (err) {
    process.stderr.write(String(err?.stack ?? err));
    process.exit(1);
  }
}
