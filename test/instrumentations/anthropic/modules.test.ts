import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { startFake } from '../../helpers/anthropic.js';

const run = promisify(execFile);
const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/anthropic/${name}`, import.meta.url));

/** Real module loading in a child process (the built package, `npm test` builds first). */
describe('anthropic instrumentation in CommonJS and ESM apps', () => {
  let fake: FakeProvider;
  beforeAll(async () => {
    fake = await startFake();
  });
  afterAll(async () => {
    await fake.close();
  });

  const exec = async (args: string[]) => {
    const { stdout } = await run(process.execPath, args, { env: { ...process.env, FAKE_URL: fake.url, ANTHROPIC_API_KEY: '' }, timeout: 20_000 });
    return JSON.parse(stdout) as Record<string, unknown>;
  };

  it('CommonJS: require() after the instrumentation is enabled is patched', async () => {
    fake.reset();
    const out = await exec([fixture('app.cjs')]);
    expect(out).toEqual({
      model: 'claude-haiku-4-5',
      events: 12, // message_start, content_block_start, 7 deltas, content_block_stop, message_delta, message_stop (the SDK drops ping)
      blocked: 'TypeError', // a bad override header is refused before sending
      actions: ['decision:downgrade', 'outcome:settled', 'decision:downgrade', 'outcome:settled'],
      pending: 0,
    });
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests.every((r) => (r.body as { model: string }).model === 'claude-haiku-4-5')).toBe(true);
  });

  it('ESM: import under the import-in-the-middle hook is patched, and so is the CommonJS copy', async () => {
    fake.reset();
    const out = await exec(['--import', fixture('preload.mjs'), fixture('app.mjs')]);
    expect(out).toMatchObject({
      model: 'claude-haiku-4-5',
      cjsModel: 'claude-haiku-4-5',
      distinctCopies: true,
      actions: ['decision:downgrade', 'outcome:settled', 'decision:downgrade', 'outcome:settled', 'decision:downgrade', 'outcome:settled'],
      pending: 0,
    });
    expect(out.events).toBeGreaterThan(0);
    expect(fake.requests).toHaveLength(3);
  });
});
