/**
 * Unmodified framework apps under `register` (CommonJS `--require` and ESM
 * `--import`), in a child process against the fake provider: LangChain.js
 * (`ChatOpenAI`, `ChatAnthropic`) and the OpenAI Agents SDK (Responses and
 * chat completions) with their default retry settings. Each blocked call is
 * one signed block in the log on disk, nothing reaches the provider, and the
 * app sees the block at once.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { hexToBytes } from '../../../src/audit/hex.js';
import { verifyChain } from '../../../src/audit/verify.js';
import { agentguardEnv, chainsOnDisk, decisionsOf, runNode, startFake, workspace, type NodeRun } from '../../helpers/register.js';

const apps = join(import.meta.dirname, '..', '..', 'fixtures', 'frameworks');
const CALLS = ['langchain-openai', 'langchain-anthropic', 'openai-agents-responses', 'openai-agents-chat_completions'];

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFake();
});
afterAll(async () => {
  await fake.close();
});

function runApp(format: 'cjs' | 'esm', env: Record<string, string>): Promise<NodeRun> {
  const args =
    format === 'cjs'
      ? ['--require', 'agentguard-spend/register', join(apps, 'agents-app.cjs')]
      : ['--import', 'agentguard-spend/register', join(apps, 'agents-app.mjs')];
  return runNode(args, env);
}

describe.each(['cjs', 'esm'] as const)('framework apps under register (%s)', (format) => {
  it('one signed block per blocked call, nothing sent, the error at once', async () => {
    fake.reset();
    const ws = workspace();
    try {
      const r = await runApp(format, { ...agentguardEnv(ws), FAKE_URL: fake.url });
      expect(r.stderr).not.toMatch(/startup failed|unguarded/);
      expect(r.code).toBe(0);
      expect(r.lines.map((l) => l.call)).toEqual(CALLS);
      for (const [i, line] of r.lines.entries()) {
        expect(line).toMatchObject({ ok: false, name: 'AgentGuardBlockedError', code: 'agentguard_blocked', status: 403 });
        // LangChain's first back-off is over 1 s, the Agents SDK client's own retries 0.5 s and up.
        // The process's first decision also loads the tokenizer and the key (0.4-0.7 s here); a
        // retry would anyway show as a second signed block below.
        expect(line.ms as number).toBeLessThan(i === 0 ? 3000 : 1000);
      }
      expect(fake.requests).toHaveLength(0);
      const chains = await chainsOnDisk(ws.logDir);
      const entries = chains.flatMap((c) => c.entries);
      const decisions = decisionsOf(entries);
      expect(decisions.map((d) => [d.provider, d.action])).toEqual([
        ['openai', 'block'],
        ['anthropic', 'block'],
        ['openai', 'block'],
        ['openai', 'block'],
      ]);
      for (const c of chains) expect(verifyChain(c.entries, hexToBytes(ws.publicKeyHex)).ok).toBe(true);
    } finally {
      ws.cleanup();
    }
  });
});
