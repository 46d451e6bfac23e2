import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { chainsOnDisk, cli, decisionsOf, root } from '../helpers/register.js';

// Each example and the demo, run as a user would (a real child process from the
// package root, offline against the built-in fake provider), checked on its output.

const run = async (args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, { cwd: root, env: { ...process.env, AGENTGUARD_MODE: '' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

describe('examples', () => {
  it('openai-quickstart: allowed, downgraded, blocked; the in-memory log verifies', async () => {
    const r = await run(['examples/openai-quickstart.mjs']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('max_tokens 200: answered by gpt-4o\n');
    expect(r.stdout).toContain('max_tokens 5000: answered by gpt-4o-mini\n');
    expect(r.stdout).toContain('max_tokens 100000: blocked before the network: block: support-bot/1 per_call cap 50c');
    expect(r.stdout).toContain('log: allow, settled, downgrade, settled, block\n');
    expect(r.stdout).toContain('verify: {"ok":true,"count":5}');
  });

  it('anthropic-quickstart: allowed, downgraded to Haiku, blocked', async () => {
    const r = await run(['examples/anthropic-quickstart.mjs']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('max_tokens 10000: answered by claude-3-5-haiku-20241022\n');
    expect(r.stdout).toContain('log: allow, settled, downgrade, settled, block\n');
    expect(r.stdout).toContain('verify: {"ok":true,"count":5}');
  });

  it('bedrock-quickstart: the fake saw Sonnet then Haiku, never the blocked call', async () => {
    const r = await run(['examples/bedrock-quickstart.mjs']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('models called: anthropic.claude-3-5-sonnet-20240620-v1:0, anthropic.claude-3-haiku-20240307-v1:0\n');
    expect(r.stdout).toContain('maxTokens 100000: blocked before the network');
    expect(r.stdout).toContain('verify: {"ok":true,"count":5}');
  });

  it('esm-register: an unmodified ESM app under --import is enforced; the log on disk verifies', async () => {
    const r = await run(['examples/esm-register/run.mjs']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'app: max_tokens 200: answered by gpt-4o\napp: max_tokens 5000: answered by gpt-4o-mini\napp: max_tokens 100000: AgentGuardBlockedError\n',
    );
    expect(r.stdout).toContain('1 chain: 1 intact, 0 failed');
  });

  it('shadow-fleet: three instances in shadow mode, nothing changed; report says what enforcement would have done', async () => {
    const r = await run(['examples/shadow-fleet/run.mjs']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('every call reached the provider unchanged: 9 requests, all gpt-4o\n');
    expect(r.stdout).toContain('shadow: 6 passed unchanged, would have blocked 3 and downgraded 3');
    expect(r.stdout).toMatch(/tenantId=acme,agentId=billing-agent +3 +1 +0 +0 +2 +1 +1 /);
    expect(r.stdout).toContain('3 chains: 3 intact, 0 failed');
  });

  it("otel-console: the guard's span goes to the app's console exporter, under the app's own span", async () => {
    const r = await run(['examples/otel-console/run.mjs']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("name: 'chat gpt-4o-mini'"); // downgraded: named after the model sent
    expect(r.stdout).toContain("'agentguard.decision.model_requested': 'gpt-4o'");
    expect(r.stdout).toContain("'agentguard.decision.action': 'downgrade'");
    expect(r.stdout).toMatch(/'agentguard.decision.entry_hash': '[0-9a-f]{64}'/);
    const traceIds = [...r.stdout.matchAll(/traceId: '([0-9a-f]{32})'/g)].map((m) => m[1]);
    expect(traceIds.length).toBeGreaterThanOrEqual(3); // guard span, its parent context, the app's span
    expect(new Set(traceIds).size).toBe(1);
    expect(r.stdout).toContain('app: answered by gpt-4o-mini');
  });
});

describe('demo', () => {
  it('npm run demo: allows, downgrades, blocks, prints decisions and spans, verifies and reports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentguard-demo-test-'));
    try {
      const r = await run(['scripts/demo.mjs', '--dir', dir]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('agent: step 1 (Plan the trip): asked for gpt-4o, answered by gpt-4o\n');
      expect(r.stdout).toContain('agent: step 2 (Book the hotel): asked for gpt-4o, answered by gpt-4o-mini\n');
      expect(r.stdout).toContain('agent: step 3 (Write the summary): AgentGuardBlockedError: agentguard: call blocked: block: acme-daily/1 per_day cap 20c');
      // Each span is named after the model sent (the downgraded call's, the cheaper one).
      expect(
        r.stdout.match(/span: "chat [\w.-]+" .*decision\.action=(\w+)/g)?.map((l) => /"(chat [\w.-]+)" .*action=(\w+)/.exec(l)!.slice(1).join(' ')),
      ).toEqual(['chat gpt-4o allow', 'chat gpt-4o-mini downgrade', 'chat gpt-4o block']);
      expect(r.stdout).toContain('1 chain: 1 intact, 0 failed');
      expect(r.stdout).toContain('enforced: 1 blocked, 1 downgraded');
      // The log it leaves verifies on its own with the key it wrote.
      const [chain] = await chainsOnDisk(join(dir, 'logs'));
      expect(decisionsOf(chain!.entries).map((d) => d.action)).toEqual(['allow', 'downgrade', 'block']);
      expect(cli(['verify', join(dir, 'logs'), '--public-key', join(dir, 'signing.key.pub')]).status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('agentguard-spend demo --help', () => {
    const r = cli(['demo', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: agentguard-spend demo');
  });
});
