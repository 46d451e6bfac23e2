import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../fake-provider/index.js';
import { AgentGuardBlockedError, AgentGuardError, PolicyValidationError } from '../../src/index.js';
import { agentguardEnv, root, startFake, workspace, type Workspace } from '../helpers/register.js';

// Under register, a blocked call's error is made by the engine bundle
// (dist/register-engine.cjs), a copy of the classes other than the one the app
// imports from `agentguard-spend`: `instanceof` must still hold, by the brand.
let fake: FakeProvider;
let ws: Workspace;
beforeAll(async () => {
  fake = await startFake();
  ws = workspace();
});
afterAll(async () => {
  await fake.close();
  ws.cleanup();
});

function run(preload: '--require' | '--import', app: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string | undefined> = { ...process.env, ...agentguardEnv(ws), FAKE_URL: fake.url };
  delete env.AGENTGUARD_LOG_EXPORT;
  const child = spawn(process.execPath, [preload, 'agentguard-spend/register', join(root, 'test', 'fixtures', 'register', app)], { cwd: root, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('register: errors from the engine bundle are instances of the classes the app imports', () => {
  it.each([
    ['--require', 'catch-blocked.cjs', 'CommonJS'],
    ['--import', 'catch-blocked.mjs', 'ESM'],
  ] as const)('%s %s: a block is caught with `instanceof AgentGuardBlockedError` from agentguard-spend (%s build)', async (preload, app, _build) => {
    const before = fake.requests.length;
    const r = await run(preload, app);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      caught: 'AgentGuardBlockedError',
      blocked: true,
      agentGuardError: true,
      error: true,
      spendStoreError: false,
      policyValidationError: false,
      sameClass: false,
      plainError: false,
      lookalike: false,
      decision: 'block',
    });
    expect(fake.requests.length).toBe(before);
  });
});

describe('AgentGuardError brand', () => {
  it('names the classes of the chain, its own first; another copy is recognised by them, an unbranded error is not', () => {
    const brand = Symbol.for('agentguard-spend.error');
    const own = new PolicyValidationError('caps', 'bad');
    expect((own as unknown as Record<symbol, unknown>)[brand]).toEqual(['PolicyValidationError', 'AgentGuardError']);
    expect(Object.getOwnPropertyDescriptor(own, brand)?.enumerable).toBe(false);
    // A copy of the classes: same names, other identities.
    class CopyBase extends Error {}
    const copy = Object.defineProperty(new CopyBase('x'), brand, { value: ['AgentGuardBlockedError', 'AgentGuardError'] });
    expect(copy instanceof AgentGuardBlockedError).toBe(true);
    expect(copy instanceof AgentGuardError).toBe(true);
    expect(copy instanceof PolicyValidationError).toBe(false);
    expect(new Error('x') instanceof AgentGuardError).toBe(false);
    const nothing: unknown = null;
    expect(nothing instanceof AgentGuardError).toBe(false);
  });
});
