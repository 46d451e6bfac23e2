/**
 * LlamaIndex.TS (`@llamaindex/openai`) in front of a blocked call: one logical
 * call → one signed block, nothing sent, the app sees the block at once,
 * although the LLM's default `maxRetries` is 10. LlamaIndex loads its own copy
 * of `openai` with a dynamic `import()`, so the ESM namespace of that copy is
 * the one patched here (as `register`'s import hook does).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { agentGuardBlockOf, isAgentGuardBlock } from '../../../instrumentations/common/blocked.js';
import { OpenAISpendGuardInstrumentation } from '../../../instrumentations/openai/index.js';
import { AgentGuardBlockedError } from '../../../src/index.js';
import { frameworkGuard, rejectionOf, startFrameworkFake, type FrameworkGuard } from '../../helpers/frameworks.js';

const require = createRequire(import.meta.url);
const { OpenAI: LlamaOpenAI } = require('@llamaindex/openai') as typeof import('@llamaindex/openai');
// The CommonJS entry (`index.js`) sits beside the ESM one (`index.mjs`) that `import('openai')` loads.
const sdkDir = dirname(createRequire(require.resolve('@llamaindex/openai')).resolve('openai'));
const openaiEsm: unknown = await import(pathToFileURL(join(sdkDir, 'index.mjs')).href);

const instrumentation = new OpenAISpendGuardInstrumentation({ enabled: false });
instrumentation.patchExports(openaiEsm);

let fake: FakeProvider;
let t: FrameworkGuard;
beforeAll(async () => {
  fake = await startFrameworkFake();
});
afterAll(async () => {
  instrumentation.unpatchExports(openaiEsm);
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  t = frameworkGuard();
  instrumentation.setConfig({ guard: t.guard, scope: { tenantId: 't1' } });
  instrumentation.enable();
});

/** The `openai` client's first back-off is 0.5 s or more; a retry would also show as a second block. */
const FIRST_BACKOFF_MS = 500;

const llm = () => new LlamaOpenAI({ model: 'gpt-4o', maxTokens: 200_000, apiKey: 'sk-test-not-a-key', baseURL: `${fake.url}/v1` });
const messages = [{ role: 'user' as const, content: 'Say hello in five words.' }];

describe('@llamaindex/openai stops at a block', () => {
  it('chat(): one signed block, nothing sent, the app sees the block at once', async () => {
    const { error, ms } = await rejectionOf(() => llm().chat({ messages }));
    expect(t.decisions().map((d) => d.action)).toEqual(['block']);
    expect(t.verified()).toBe(true);
    expect(fake.requests).toHaveLength(0);
    expect(ms).toBeLessThan(FIRST_BACKOFF_MS);
    expect(error).toBeInstanceOf(AgentGuardBlockedError);
    expect(agentGuardBlockOf(error)!.decision.decisionId).toBe(t.decisions()[0]!.decisionId);
  });

  it('streamed chat(): one signed block, nothing sent', async () => {
    const { error } = await rejectionOf(async () => {
      for await (const _ of await llm().chat({ messages, stream: true }));
    });
    expect(t.decisions().map((d) => d.action)).toEqual(['block']);
    expect(fake.requests).toHaveLength(0);
    expect(isAgentGuardBlock(error)).toBe(true);
  });

  it('an allowed call is sent once and settled', async () => {
    const reply = await new LlamaOpenAI({ model: 'gpt-4o', maxTokens: 100, apiKey: 'sk-test-not-a-key', baseURL: `${fake.url}/v1` }).chat({ messages });
    expect(typeof reply.message.content).toBe('string');
    expect(fake.requests).toHaveLength(1);
    expect((fake.requests[0]!.body as { model: string }).model).toBe('gpt-4o');
    expect(t.decisions().map((d) => d.action)).toEqual(['allow']);
  });
});
