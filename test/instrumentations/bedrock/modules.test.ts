/**
 * CommonJS and ESM apps in child processes (real `process.execPath`), importing the
 * BUILT package (`dist/`, built by `npm test` first) and the SDK after the
 * instrumentation is enabled.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBedrockRoutes, FakeProvider } from '../../../fake-provider/index.js';

const run = promisify(execFile);
const apps = fileURLToPath(new URL('../../fixtures/bedrock/', import.meta.url));
let fake: FakeProvider;

beforeAll(async () => {
  fake = new FakeProvider(createBedrockRoutes());
  await fake.listen();
});
afterAll(() => fake.close());

async function runApp(args: string[]) {
  fake.reset();
  const { stdout } = await run(process.execPath, args, { cwd: apps, env: { ...process.env, AGENTGUARD_FAKE_URL: fake.url }, timeout: 20_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

const EXPECTED = {
  ownSend: true,
  allowStop: 'end_turn',
  streamEvents: 7,
  blocked: 'AgentGuardBlockedError',
  actions: ['allow', 'outcome:settled', 'allow', 'outcome:settled', 'block'],
  pending: 0,
  chain: { ok: true, count: 5 },
};

describe('bedrock in child processes', () => {
  it('CommonJS: require after the instrumentation is enabled', async () => {
    const r = await runApp(['cjs-app.cjs']);
    expect(r).toEqual(EXPECTED);
    expect(fake.requests.map((q) => q.path.split('/').pop())).toEqual(['converse', 'converse-stream']);
  });

  it('ESM: import with the import-in-the-middle hook (include list) registered by a preload', async () => {
    const r = await runApp(['--import', './esm-preload.mjs', 'esm-app.mjs']);
    expect(r).toEqual(EXPECTED);
    expect(fake.requests.map((q) => q.path.split('/').pop())).toEqual(['converse', 'converse-stream']);
  });
});
