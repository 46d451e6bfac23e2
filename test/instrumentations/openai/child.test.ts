import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { startFake } from '../../helpers/openai.js';

/**
 * Real processes (`process.execPath`, Node 22) loading the BUILT package
 * (`dist/`, built by `npm test`): a CommonJS app under `--require` and an ESM
 * app under `--import` (import-in-the-middle loader with an include list),
 * each with our instrumentation alone and together with
 * `@opentelemetry/instrumentation-openai` in both orders, through the real
 * require/import hooks.
 */
const run = promisify(execFile);
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'openai');

interface ChildResult {
  sdkVersion: string;
  contribOnTop: boolean;
  content: string;
  chunks: number;
  responseStatus: number;
  blocked: string | null;
  pending: number;
  decisions: string[];
  outcomes: string[];
}

async function child(fake: FakeProvider, format: 'cjs' | 'esm', order: string): Promise<ChildResult> {
  const args = format === 'cjs' ? ['--require', './setup-guard.cjs', 'app.cjs'] : ['--import', './preload.mjs', 'app.mjs'];
  const { stdout } = await run(process.execPath, args, { cwd: dir, env: { ...process.env, FAKE_URL: fake.url, AG_ORDER: order }, timeout: 20_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult;
}

describe.each(['cjs', 'esm'] as const)('child process (%s)', (format) => {
  it.each(['ours', 'ours,contrib', 'contrib,ours'])('enforces exactly once with instrumentations [%s]', async (order) => {
    const fake = await startFake();
    const r = await child(fake, format, order).finally(() => fake.close());
    expect(r.content).toBe('Hello from the fake provider.');
    expect(r.chunks).toBeGreaterThan(2);
    expect(r.responseStatus).toBe(200);
    expect(r.blocked).toBe('AgentGuardBlockedError');
    expect(r.decisions).toEqual(['allow', 'allow', 'allow', 'block']);
    expect(r.outcomes).toEqual(['settled', 'settled', 'settled']);
    expect(r.pending).toBe(0);
    // Only the allowed calls reached the provider.
    expect(fake.requests.map((q) => q.path)).toEqual(['/v1/chat/completions', '/v1/chat/completions', '/v1/responses']);
    // @opentelemetry/instrumentation-openai 0.22 declares openai >=4.19.0 <7: it patches only older SDKs.
    const contribPatches = Number(r.sdkVersion.split('.')[0]) < 7;
    expect(r.contribOnTop).toBe(order === 'ours,contrib' && contribPatches);
  });
});
