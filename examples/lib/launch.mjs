// Shared by the register examples: what an operator would set up, done in a temp
// directory so the example runs offline. Starts the built-in fake provider, writes a
// signing key and a policy, and runs an app under agentguard-spend/register.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeypair, signingKeysToHex } from 'agentguard-spend';
import { createFakeProvider } from './fake-provider.mjs';

/** A policy for tenant acme: gpt-4o calls projected over 3c go to gpt-4o-mini; calls over 50c are blocked. */
export const POLICY = {
  id: 'acme-per-call',
  name: 'Acme per call',
  scope: { tenantId: 'acme' },
  mode: 'enforce',
  version: 1,
  effectiveFrom: '2025-01-01T00:00:00Z',
  caps: [
    { amountCents: 3, window: 'per_call', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'calls over 3c go to gpt-4o-mini' },
    { amountCents: 50, window: 'per_call', action: 'block', reason: 'no call may cost more than 50c' },
  ],
};

/** Starts the fake and writes the files; returns the env an operator would set, and cleanup. */
export async function setup(policy = POLICY) {
  const dir = mkdtempSync(join(tmpdir(), 'agentguard-example-'));
  const keys = generateKeypair();
  const keyFile = join(dir, 'signing.key');
  writeFileSync(keyFile, `${signingKeysToHex(keys).privateKeyHex}\n`, { mode: 0o600 });
  const policyFile = join(dir, 'policy.json');
  writeFileSync(policyFile, JSON.stringify(policy));
  const fake = createFakeProvider();
  const url = await fake.listen();
  return {
    dir,
    fake,
    logDir: join(dir, 'logs'),
    publicKeyHex: signingKeysToHex(keys).publicKeyHex,
    env: {
      AGENTGUARD_POLICY: policyFile,
      AGENTGUARD_SIGNING_KEY_FILE: keyFile,
      AGENTGUARD_LOG_DIR: join(dir, 'logs'),
      AGENTGUARD_SCOPE_TENANT_ID: 'acme',
      OPENAI_BASE_URL: `${url}/v1`,
      OPENAI_API_KEY: 'sk-fake',
    },
  };
}

/** Runs `node <nodeArgs>` with `env` added, its output passed through; resolves with the exit code. */
export function run(nodeArgs, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, { env: { ...process.env, ...env }, stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
}

/** Runs the agentguard-spend CLI (verify, report) from this package. */
export function cli(args) {
  return run([join(import.meta.dirname, '..', '..', 'dist', 'cli.js'), ...args], {});
}
