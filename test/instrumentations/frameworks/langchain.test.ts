/**
 * LangChain.js with its default retry logic (`AsyncCaller`: 6 retries, the
 * first after 1–2 s) in front of a blocked call: one logical call → one signed
 * block, nothing sent, the app sees the block at once and can recognise it.
 * The real `@langchain/openai` and `@langchain/anthropic` drive the provider
 * SDK copies they load themselves, patched by our instrumentations.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { AnthropicSpendGuardInstrumentation } from '../../../instrumentations/anthropic/index.js';
import { OpenAISpendGuardInstrumentation } from '../../../instrumentations/openai/index.js';
import { agentGuardBlockOf, isAgentGuardBlock } from '../../../instrumentations/common/blocked.js';
import { AgentGuardBlockedError, parsePolicy } from '../../../src/index.js';
import { frameworkGuard, rejectionOf, sdkOf, startFrameworkFake, type FrameworkGuard } from '../../helpers/frameworks.js';

const require = createRequire(import.meta.url);
const { AzureChatOpenAI, ChatOpenAI } = require('@langchain/openai') as typeof import('@langchain/openai');
const { ChatAnthropic } = require('@langchain/anthropic') as typeof import('@langchain/anthropic');

const openaiInstrumentation = new OpenAISpendGuardInstrumentation({ enabled: false });
const anthropicInstrumentation = new AnthropicSpendGuardInstrumentation({ enabled: false });
const openaiSdk = sdkOf('@langchain/openai', 'openai');
const anthropicSdk = sdkOf('@langchain/anthropic', '@anthropic-ai/sdk');
openaiInstrumentation.patchExports(openaiSdk);
anthropicInstrumentation.patchExports(anthropicSdk);

let fake: FakeProvider;
let t: FrameworkGuard;
beforeAll(async () => {
  fake = await startFrameworkFake();
});
afterAll(async () => {
  openaiInstrumentation.unpatchExports(openaiSdk);
  anthropicInstrumentation.unpatchExports(anthropicSdk);
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  t = frameworkGuard();
  for (const i of [openaiInstrumentation, anthropicInstrumentation]) {
    i.setConfig({ guard: t.guard, scope: { tenantId: 't1' } });
    i.enable();
  }
});

/** LangChain's first back-off is at least 1 s (p-retry: 1000 ms × a random factor in [1, 2)). */
const FIRST_BACKOFF_MS = 1000;

// Default retry settings everywhere: nothing here sets maxRetries.
const chatOpenAI = (extra: Record<string, unknown> = {}) =>
  new ChatOpenAI({ model: 'gpt-4o', maxTokens: 5000, apiKey: 'sk-test-not-a-key', configuration: { baseURL: `${fake.url}/v1` }, ...extra });
const chatAnthropic = () => new ChatAnthropic({ model: 'claude-sonnet-4-5', maxTokens: 5000, apiKey: 'sk-ant-test', anthropicApiUrl: fake.url });

async function drain(iterable: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterable);
}

const CASES: [name: string, call: () => Promise<unknown>][] = [
  ['ChatOpenAI.invoke (chat completions)', () => chatOpenAI().invoke('hi')],
  ['ChatOpenAI.stream (chat completions)', async () => drain(await chatOpenAI().stream('hi'))],
  ['ChatOpenAI.invoke (Responses API)', () => chatOpenAI({ useResponsesApi: true }).invoke('hi')],
  ['ChatAnthropic.invoke', () => chatAnthropic().invoke('hi')],
  ['ChatAnthropic.stream', async () => drain(await chatAnthropic().stream('hi'))],
];

describe('LangChain.js default retries stop at a block', () => {
  it.each(CASES)('%s: one signed block, nothing sent, the app sees the block at once', async (_name, call) => {
    const { error, ms } = await rejectionOf(call);
    expect(t.decisions().map((d) => d.action)).toEqual(['block']);
    expect(t.verified()).toBe(true);
    expect(fake.requests).toHaveLength(0);
    expect(ms).toBeLessThan(FIRST_BACKOFF_MS);
    expect(isAgentGuardBlock(error)).toBe(true);
    // LangChain hands the block through as it is: name, reason and decision kept.
    expect(error).toBeInstanceOf(AgentGuardBlockedError);
    const block = agentGuardBlockOf(error)!;
    expect(block.name).toBe('AgentGuardBlockedError');
    expect(block.reason).toContain('one cent per call');
    expect(block.decision.decisionId).toBe(t.decisions()[0]!.decisionId);
  });
});

describe('LangChain.js AzureChatOpenAI', () => {
  it('a downgrade goes to the Azure deployment serving the target, and the log says what was called', async () => {
    t = frameworkGuard([
      parsePolicy({
        id: 'p-azure',
        name: 'azure',
        scope: { tenantId: 't1' },
        mode: 'enforce',
        version: 1,
        effectiveFrom: '2026-01-01T00:00:00Z',
        caps: [{ amountCents: 2, window: 'per_call', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'big calls go to mini' }],
      }),
    ]);
    openaiInstrumentation.setConfig({ guard: t.guard, scope: { tenantId: 't1' }, azureDeployments: { 'prod-chat': 'gpt-4o', 'prod-mini': 'gpt-4o-mini' } });
    const model = new AzureChatOpenAI({
      azureOpenAIEndpoint: fake.url,
      azureOpenAIApiDeploymentName: 'prod-chat',
      azureOpenAIApiVersion: '2024-10-21',
      azureOpenAIApiKey: 'azure-test-not-a-key',
      maxTokens: 5000,
    });
    await model.invoke('hi');
    expect(fake.requests.map((r) => r.path)).toEqual(['/openai/deployments/prod-mini/chat/completions']);
    expect(t.decisions()).toMatchObject([{ action: 'downgrade', modelRequested: 'gpt-4o', modelResolved: 'gpt-4o-mini' }]);
  });
});
