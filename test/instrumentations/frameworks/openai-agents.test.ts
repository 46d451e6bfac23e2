/**
 * The OpenAI Agents SDK (`@openai/agents`) in front of a blocked call, in
 * Responses and chat-completions modes: one logical call → one signed block,
 * nothing sent, the app sees the block at once. With the runner's default
 * (no runner retries; the `openai` client's own `maxRetries`), and with retry
 * policies a user may turn on: the provider's advice (`x-should-retry: false`
 * on the block) vetoes a retry even beside a policy that retries anything.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { agentGuardBlockOf, isAgentGuardBlock } from '../../../instrumentations/common/blocked.js';
import { OpenAISpendGuardInstrumentation } from '../../../instrumentations/openai/index.js';
import { AgentGuardBlockedError } from '../../../src/index.js';
import { frameworkGuard, rejectionOf, sdkOf, startFrameworkFake, type FrameworkGuard } from '../../helpers/frameworks.js';

const require = createRequire(import.meta.url);
const agents = require('@openai/agents') as typeof import('@openai/agents');
const { Agent, OpenAIChatCompletionsModel, OpenAIResponsesModel, retryPolicies, run, setTracingDisabled } = agents;
const openaiSdk = sdkOf<typeof import('openai')>('@openai/agents', 'openai');

// The SDK's own trace exporter would post to api.openai.com.
setTracingDisabled(true);
const instrumentation = new OpenAISpendGuardInstrumentation({ enabled: false });
instrumentation.patchExports(openaiSdk);

let fake: FakeProvider;
let t: FrameworkGuard;
beforeAll(async () => {
  fake = await startFrameworkFake();
});
afterAll(async () => {
  instrumentation.unpatchExports(openaiSdk);
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  t = frameworkGuard();
  instrumentation.setConfig({ guard: t.guard, scope: { tenantId: 't1' } });
  instrumentation.enable();
});

/** The runner's first back-off is 250 ms ± 12.5%; the SDK client's own is longer. */
const FIRST_BACKOFF_MS = 1000;

type Retry = NonNullable<NonNullable<ConstructorParameters<typeof Agent>[0]['modelSettings']>['retry']>;
const RETRY_SETTINGS: [name: string, retry: Retry | undefined][] = [
  ['default settings', undefined],
  [
    'providerSuggested + networkError + httpStatus(429, 5xx)',
    {
      maxRetries: 3,
      policy: retryPolicies.any(retryPolicies.providerSuggested(), retryPolicies.networkError(), retryPolicies.httpStatus([408, 409, 429, 500, 502, 503, 504])),
    },
  ],
  ['providerSuggested beside a policy that retries anything', { maxRetries: 3, policy: retryPolicies.any(retryPolicies.providerSuggested(), () => true) }],
];

const MODES = ['responses', 'chat_completions'] as const;

function agentFor(mode: (typeof MODES)[number], retry: Retry | undefined) {
  const client = new openaiSdk.OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: `${fake.url}/v1` });
  // No max output tokens: the call is projected at gpt-4o's maximum output, far above the cap.
  const model = mode === 'responses' ? new OpenAIResponsesModel(client, 'gpt-4o') : new OpenAIChatCompletionsModel(client, 'gpt-4o');
  return new Agent({ name: 'assistant', instructions: 'Answer briefly.', model, ...(retry ? { modelSettings: { retry } } : {}) });
}

describe.each(MODES)('@openai/agents run() (%s) stops at a block', (mode) => {
  it.each(RETRY_SETTINGS)('%s: one signed block, nothing sent, the app sees the block at once', async (_name, retry) => {
    const { error, ms } = await rejectionOf(() => run(agentFor(mode, retry), 'hi'));
    expect(t.decisions().map((d) => d.action)).toEqual(['block']);
    expect(t.verified()).toBe(true);
    expect(fake.requests).toHaveLength(0);
    expect(ms).toBeLessThan(FIRST_BACKOFF_MS);
    expect(isAgentGuardBlock(error)).toBe(true);
    const block = agentGuardBlockOf(error)!;
    expect(block).toBeInstanceOf(AgentGuardBlockedError);
    expect(block.decision.decisionId).toBe(t.decisions()[0]!.decisionId);
  });

  it('streamed run: one signed block, nothing sent', async () => {
    const { error } = await rejectionOf(async () => {
      const result = await run(agentFor(mode, RETRY_SETTINGS[2]![1]), 'hi', { stream: true });
      for await (const _ of result);
      await result.completed;
      if (result.error) throw result.error;
    });
    expect(t.decisions().map((d) => d.action)).toEqual(['block']);
    expect(fake.requests).toHaveLength(0);
    expect(isAgentGuardBlock(error)).toBe(true);
  });
});
