/**
 * An unmodified `AzureOpenAI` app under `register` (a child process), with the
 * deployment map in the policy file's document form
 * (`{ policies, azureDeployments }`, YAML) or in `AGENTGUARD_AZURE_DEPLOYMENTS`:
 * the custom deployment is priced at the model it serves, a downgrade is sent
 * to the deployment serving the target (the URL path the fake received), a
 * downgrade no deployment serves is not taken (sent to the requested
 * deployment, and the decision says why), the map is reloaded with the policy
 * file, and the signed log records the model called and its cents. Prices come
 * from an `AGENTGUARD_PRICES` file, so the cents are exact.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { hexToBytes } from '../../../src/audit/hex.js';
import { verifyChain } from '../../../src/audit/verify.js';
import { agentguardEnv, chainsOnDisk, decisionsOf, root, startFake, workspace, type Workspace } from '../../helpers/register.js';

const fixtures = join(import.meta.dirname, '..', '..', 'fixtures', 'frameworks');
const app = join(fixtures, 'azure-app.cjs');

/** $2.50 / $10 and $0.15 / $0.60 per million tokens: 100 000 input and 90 output tokens cost 26c at gpt-4o, 2c at gpt-4o-mini. */
const PRICES = { openai: { 'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10 }, 'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6 } } };
const USAGE = { inputTokens: 100_000, outputTokens: 90 };
const CENTS = { 'gpt-4o': 26, 'gpt-4o-mini': 2 };

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

interface RunOptions {
  script?: string;
  env?: Record<string, string>;
  /** Called with each JSON line the app prints, as it prints it. */
  onLine?: (line: Record<string, unknown>, child: ChildProcess) => void;
}

function runApp(ws: Workspace, policyFile: string, o: RunOptions = {}): Promise<{ code: number | null; stderr: string; lines: Record<string, unknown>[] }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGUARD_')));
  const env = { ...clean, ...agentguardEnv(ws), AGENTGUARD_POLICY: policyFile, FAKE_URL: fake.url, ...o.env };
  const child = spawn(process.execPath, ['--require', 'agentguard-spend/register', o.script ?? app], { cwd: root, env });
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    buffered += c.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const part of parts.filter((l) => l.startsWith('{'))) {
      const line = JSON.parse(part) as Record<string, unknown>;
      lines.push(line);
      o.onLine?.(line, child);
    }
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr, lines })));
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

/** The policies of {@link POLICY_DOCUMENT} as a plain policy list (no deployment map). */
const POLICY_LIST = POLICY_DOCUMENT.replace(/^policies:\n/, '')
  .replace(/azureDeployments:[\s\S]*$/, '')
  .replace(/^ {2}/gm, '');

const outcomesOf = (entries: { decision: { entryType: string } }[]) => entries.map((e) => e.decision).filter((d) => d.entryType === 'outcome');

async function signedLog(ws: Workspace) {
  const chains = await chainsOnDisk(ws.logDir);
  for (const c of chains) expect(verifyChain(c.entries, hexToBytes(ws.publicKeyHex)).ok).toBe(true);
  const entries = chains.flatMap((c) => c.entries);
  return { decisions: decisionsOf(entries), outcomes: outcomesOf(entries) as unknown as Record<string, unknown>[] };
}

const NOT_TAKEN =
  /^downgrade to gpt-4o-mini not taken: no deployment this call can be sent to serves gpt-4o-mini \(routable: gpt-4o\); azure-per-call\/0 per_call cap 10c: calls over 10c use mini$/;

describe('AzureOpenAI under register, deployments in AGENTGUARD_AZURE_DEPLOYMENTS', () => {
  it.each([
    ['prod-chat=gpt-4o', '/openai/deployments/prod-chat/chat/completions', 'allow', 'gpt-4o'],
    ['prod-chat=gpt-4o,prod-mini=gpt-4o-mini', '/openai/deployments/prod-mini/chat/completions', 'downgrade', 'gpt-4o-mini'],
  ] as const)('%s: the call goes to %s; the signed decision and outcome name the model called and its cents', async (deployments, path, action, model) => {
    fake.reset();
    fake.behaviour.usage = USAGE;
    const ws = workspace();
    try {
      const policyFile = join(ws.dir, 'policy.yaml');
      writeFileSync(policyFile, POLICY_LIST);
      const pricesFile = join(ws.dir, 'prices.json');
      writeFileSync(pricesFile, JSON.stringify(PRICES));
      const r = await runApp(ws, policyFile, { env: { AGENTGUARD_AZURE_DEPLOYMENTS: deployments, AGENTGUARD_PRICES: pricesFile } });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.lines).toEqual([{ ok: true, model }]);
      expect(fake.requests.map((q) => q.path)).toEqual([path]);
      // The client's deployment names the deployment in the path: the body's model is left as the app wrote it, and so is its bound.
      expect(fake.requests[0]!.body).toMatchObject({ model: action === 'allow' ? 'gpt-4o' : 'gpt-4o-mini', max_tokens: 20000 });
      const { decisions, outcomes } = await signedLog(ws);
      expect(decisions).toHaveLength(1);
      expect(decisions[0]).toMatchObject({
        action,
        modelRequested: 'gpt-4o',
        modelResolved: model,
        triggeredCap: { action: 'downgrade', downgradeTo: 'gpt-4o-mini' },
      });
      if (action === 'allow') expect(decisions[0]!.reasons).toEqual([expect.stringMatching(NOT_TAKEN)]);
      expect(outcomes).toEqual([expect.objectContaining({ outcome: 'settled', modelResolved: model, actualCents: CENTS[model] })]);
    } finally {
      ws.cleanup();
    }
  });
});

describe('AzureOpenAI under register, the policy file rewritten while the app runs', () => {
  it('the deployment map is reloaded with the file: a downgrade is taken once a deployment serves the target, and not once none does', async () => {
    fake.reset();
    fake.behaviour.usage = USAGE;
    const ws = workspace();
    try {
      const policyFile = join(ws.dir, 'policy.yaml');
      const withMini = POLICY_DOCUMENT;
      const withoutMini = POLICY_DOCUMENT.replace(/^ {2}prod-mini: gpt-4o-mini\n/m, '');
      expect(withoutMini).not.toBe(withMini);
      writeFileSync(policyFile, withoutMini);
      const pricesFile = join(ws.dir, 'prices.json');
      writeFileSync(pricesFile, JSON.stringify(PRICES));
      const r = await runApp(ws, policyFile, {
        script: join(fixtures, 'azure-reload-app.cjs'),
        // The environment's deployments stay on top of the file's across reloads.
        env: { AGENTGUARD_PRICES: pricesFile, AGENTGUARD_AZURE_DEPLOYMENTS: 'eu-chat=gpt-4o' },
        onLine: (line) => {
          if (line.reload === 'add prod-mini') writeFileSync(policyFile, withMini);
          if (line.reload === 'remove prod-mini') writeFileSync(policyFile, withoutMini);
        },
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.lines.filter((l) => 'call' in l)).toEqual([
        { call: 1, ok: true, model: 'gpt-4o' },
        { call: 2, ok: true, model: 'gpt-4o-mini' },
        { call: 3, ok: true, model: 'gpt-4o' },
      ]);
      expect(fake.requests.map((q) => q.path)).toEqual([
        '/openai/deployments/prod-chat/chat/completions',
        '/openai/deployments/prod-mini/chat/completions',
        '/openai/deployments/prod-chat/chat/completions',
      ]);
      expect(r.lines.filter((l) => 'inForce' in l)).toEqual([
        { inForce: { 'prod-chat': 'gpt-4o', 'prod-mini': 'gpt-4o-mini', 'eu-chat': 'gpt-4o' } },
        { inForce: { 'prod-chat': 'gpt-4o', 'eu-chat': 'gpt-4o' } },
      ]);
      const { decisions, outcomes } = await signedLog(ws);
      expect(decisions.map((d) => [d.action, d.modelResolved, d.policyVersion])).toEqual([
        ['allow', 'gpt-4o', 1],
        ['downgrade', 'gpt-4o-mini', 1],
        ['allow', 'gpt-4o', 1],
      ]);
      expect(decisions[0]!.reasons).toEqual([expect.stringMatching(NOT_TAKEN)]);
      expect(decisions[2]!.reasons).toEqual([expect.stringMatching(NOT_TAKEN)]);
      expect(outcomes.map((o) => [o.modelResolved, o.actualCents])).toEqual([
        ['gpt-4o', 26],
        ['gpt-4o-mini', 2],
        ['gpt-4o', 26],
      ]);
    } finally {
      ws.cleanup();
    }
  });
});
