/**
 * An unmodified `AzureOpenAI` app under `register` (a child process), with the
 * deployment map in the policy file's document form
 * (`{ policies, azureDeployments }`, YAML): the custom deployment is priced at
 * the model it serves, a downgrade is sent to the deployment serving the
 * target (the URL path the fake received), and the signed log records the
 * model called.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { hexToBytes } from '../../../src/audit/hex.js';
import { verifyChain } from '../../../src/audit/verify.js';
import { agentguardEnv, chainsOnDisk, decisionsOf, root, startFake, workspace, type Workspace } from '../../helpers/register.js';

const app = join(import.meta.dirname, '..', '..', 'fixtures', 'frameworks', 'azure-app.cjs');

/** Calls over 10c go to gpt-4o-mini; the app's 20 000 output tokens of gpt-4o project above that. */
const POLICY_DOCUMENT = `policies:
  - id: azure-per-call
    name: Azure per call
    version: 1
    effectiveFrom: "2025-01-01T00:00:00Z"
    mode: enforce
    scope: { tenantId: acme }
    caps:
      - { amountCents: 10, window: per_call, action: downgrade, downgradeTo: gpt-4o-mini, reason: calls over 10c use mini }
azureDeployments:
  prod-chat: gpt-4o
  prod-mini: gpt-4o-mini
`;

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFake();
});
afterAll(async () => {
  await fake.close();
});

function runApp(ws: Workspace, policyFile: string): Promise<{ code: number | null; stderr: string; lines: Record<string, unknown>[] }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGUARD_')));
  const env = { ...clean, ...agentguardEnv(ws), AGENTGUARD_POLICY: policyFile, FAKE_URL: fake.url };
  const child = spawn(process.execPath, ['--require', 'agentguard-spend/register', app], { cwd: root, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) =>
      resolve({
        code,
        stderr,
        lines: stdout
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      }),
    ),
  );
}

describe('AzureOpenAI under register, deployments in the policy file', () => {
  it('the downgrade goes to the deployment serving the target; the log records the model called', async () => {
    fake.reset();
    const ws = workspace();
    try {
      const policyFile = join(ws.dir, 'policy.yaml');
      writeFileSync(policyFile, POLICY_DOCUMENT);
      const r = await runApp(ws, policyFile);
      expect(r.stderr).not.toMatch(/startup failed|unguarded/);
      expect(r.code).toBe(0);
      expect(r.lines).toEqual([{ ok: true, model: 'gpt-4o-mini' }]);
      expect(fake.requests.map((q) => q.path)).toEqual(['/openai/deployments/prod-mini/chat/completions']);
      const decisions = decisionsOf((await chainsOnDisk(ws.logDir)).flatMap((c) => c.entries));
      expect(decisions).toHaveLength(1);
      expect(decisions[0]).toMatchObject({ action: 'downgrade', modelRequested: 'gpt-4o', modelResolved: 'gpt-4o-mini' });
      for (const c of await chainsOnDisk(ws.logDir)) expect(verifyChain(c.entries, hexToBytes(ws.publicKeyHex)).ok).toBe(true);
    } finally {
      ws.cleanup();
    }
  });

  it('without the map the custom deployment is an unknown model: blocked, nothing sent', async () => {
    fake.reset();
    const ws = workspace();
    try {
      const policyFile = join(ws.dir, 'policy.yaml');
      writeFileSync(policyFile, POLICY_DOCUMENT.replace(/azureDeployments:[\s\S]*$/, ''));
      const r = await runApp(ws, policyFile);
      expect(r.code).toBe(0);
      expect(r.lines).toMatchObject([{ ok: false, name: 'AgentGuardBlockedError' }]);
      expect(fake.requests).toHaveLength(0);
    } finally {
      ws.cleanup();
    }
  });
});
