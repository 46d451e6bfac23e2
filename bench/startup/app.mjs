// The ESM app of the start-up benchmark: the same as app.cjs, importing `openai`'s ESM build.
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';

const url = process.env.BENCH_FAKE_URL;
const client = new OpenAI({ apiKey: 'sk-startup-bench', baseURL: `${url ?? 'http://127.0.0.1:9'}/v1`, maxRetries: 0 });
const readyMs = performance.now();
if (!url) {
  process.stdout.write(JSON.stringify({ readyMs }));
} else {
  try {
    await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello.' }] });
    process.stdout.write(JSON.stringify({ readyMs, firstCallMs: performance.now() }));
  } catch (err) {
    process.stderr.write(String(err?.stack ?? err));
    process.exit(1);
  }
}
