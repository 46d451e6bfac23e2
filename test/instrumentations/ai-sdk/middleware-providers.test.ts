import * as azureProvider from '@ai-sdk/azure';
import { createAzure } from '@ai-sdk/azure';
import * as compatibleProvider from '@ai-sdk/openai-compatible';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { trace } from '@opentelemetry/api';
import { generateText, streamText, wrapLanguageModel, type LanguageModel, type LanguageModelMiddleware } from 'ai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFakeProvider, type FakeProvider } from '../../../fake-provider/index.js';
import {
  NoAzureDeploymentError,
  patchAiSdkProvider,
  spendGuardMiddleware,
  unpatchAiSdkProvider,
  type AzureDeployments,
} from '../../../instrumentations/ai-sdk/internals.js';
import { AgentGuardBlockedError, generateKeypair, InMemoryDecisionLogStore, SpendGuard, type SpendCap } from '../../../src/index.js';
import { decisions, policy } from '../../helpers/anthropic.js';

// spendGuardMiddleware (no register) over `@ai-sdk/azure` and `@ai-sdk/openai-compatible` models,
// and the load-time patch of their classes (as register applies it), with the real packages against the fake.

let fake: FakeProvider;
beforeAll(async () => {
  fake = createFakeProvider();
  await fake.listen();
});
afterAll(() => fake.close());
afterEach(() => fake.reset());

const prompt = 'Say hello.';
const caps = (cheap: string): Partial<SpendCap>[] => [
  { amountCents: 10, window: 'per_call', action: 'downgrade', downgradeTo: cheap, reason: 'over 10c: cheap model' },
  { amountCents: 100, window: 'per_call', action: 'block', reason: 'over $1' },
];

function setup(cheap: string, azureDeployments?: AzureDeployments, provider = 'openai') {
  const log = new InMemoryDecisionLogStore();
  const guard = new SpendGuard({
    signingKeys: generateKeypair(),
    logStore: log,
    policies: [policy({ caps: caps(cheap) as SpendCap[], scope: { tenantId: 'acme', provider } })],
    pricing: { overrides: { 'acme-llm': { 'big-model': { inputPerMTok: 10, outputPerMTok: 30 }, 'small-model': { inputPerMTok: 0.1, outputPerMTok: 0.4 } } } },
  });
  const middleware = spendGuardMiddleware({ guard, scope: { tenantId: 'acme' }, ...(azureDeployments ? { azureDeployments } : {}) });
  const wrap = (model: LanguageModel) => wrapLanguageModel({ model: model as never, middleware: middleware as unknown as LanguageModelMiddleware });
  const calls = () => decisions(log).filter((d) => d.entryType !== 'outcome');
  const outcomes = () => decisions(log).filter((d) => d.entryType === 'outcome');
  return { guard, wrap, calls, outcomes };
}

describe('spendGuardMiddleware over @ai-sdk/azure', () => {
  const azure = () => createAzure({ baseURL: `${fake.url}/openai`, apiKey: 'azure-test', useDeploymentBasedUrls: true, apiVersion: '2024-10-21' });

  it('prices the deployment at its model; a downgrade is sent to the deployment serving the target (the URL the fake received); block before any fetch; stream settled', async () => {
    const t = setup('gpt-4o-mini', { 'prod-chat': 'gpt-4o', 'prod-mini': 'gpt-4o-mini' });
    const model = t.wrap(azure().chat('prod-chat'));
    await generateText({ model, prompt, maxOutputTokens: 200, maxRetries: 0 });
    await generateText({ model, prompt, maxOutputTokens: 20_000, maxRetries: 0 });
    await expect(generateText({ model, prompt, maxOutputTokens: 200_000, maxRetries: 0 })).rejects.toBeInstanceOf(AgentGuardBlockedError);
    const s = streamText({ model, prompt, maxOutputTokens: 200, maxRetries: 0 });
    await s.consumeStream();
    expect(fake.requests.map((r) => r.path)).toEqual([
      '/openai/deployments/prod-chat/chat/completions',
      '/openai/deployments/prod-mini/chat/completions',
      '/openai/deployments/prod-chat/chat/completions',
    ]);
    expect(t.calls().map((d) => [d.action, d.provider, d.modelRequested, d.modelResolved])).toEqual([
      ['allow', 'openai', 'gpt-4o', 'gpt-4o'],
      ['downgrade', 'openai', 'gpt-4o', 'gpt-4o-mini'],
      ['block', 'openai', 'gpt-4o', 'gpt-4o'],
      ['allow', 'openai', 'gpt-4o', 'gpt-4o'],
    ]);
    expect(t.outcomes().map((o) => [o.outcome, o.actualInputTokens, o.actualOutputTokens])).toEqual([
      ['settled', 25, 10],
      ['settled', 25, 10],
      ['settled', 25, 10],
    ]);
  });

  it('a downgrade no deployment serves is not taken: sent to the requested deployment, the decision says why', async () => {
    const t = setup('gpt-4o-mini', { 'prod-chat': 'gpt-4o' });
    await generateText({ model: t.wrap(azure().chat('prod-chat')), prompt, maxOutputTokens: 20_000, maxRetries: 0 });
    expect(fake.requests.map((r) => r.path)).toEqual(['/openai/deployments/prod-chat/chat/completions']);
    expect(t.calls().map((d) => [d.action, d.modelResolved])).toEqual([['allow', 'gpt-4o']]);
    expect(t.calls()[0]!.reasons.join(' ')).toMatch(/downgrade to gpt-4o-mini not taken/);
  });

  it('a decision that names a model no deployment serves anyway (an engine ignoring routableModels) is not sent: NoAzureDeploymentError, released', async () => {
    const t = setup('gpt-4o-mini', { 'prod-chat': 'gpt-4o' });
    const decide = t.guard.decide.bind(t.guard);
    t.guard.decide = (request) => {
      const { routableModels: _ignored, ...rest } = request;
      return decide(rest);
    };
    const err = await generateText({ model: t.wrap(azure().chat('prod-chat')), prompt, maxOutputTokens: 20_000, maxRetries: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoAzureDeploymentError);
    expect(fake.requests).toHaveLength(0);
    expect(t.calls().map((d) => [d.action, d.modelResolved])).toEqual([['downgrade', 'gpt-4o-mini']]);
    expect(t.outcomes().map((o) => [o.outcome, o.actualCents, o.reasons])).toEqual([['released', 0, ['released: NoAzureDeploymentError']]]);
  });

  it('without a map, a deployment named after its model is priced as that model and downgraded to the deployment named after the target', async () => {
    const t = setup('gpt-4o-mini');
    const model = t.wrap(createAzure({ baseURL: `${fake.url}/openai/v1`, apiKey: 'azure-test' })('gpt-4o'));
    await generateText({ model, prompt, maxOutputTokens: 20_000, maxRetries: 0 });
    expect(fake.requests.map((r) => [r.path, (r.body as { model: string }).model])).toEqual([['/openai/v1/responses', 'gpt-4o-mini']]);
    expect(t.calls().map((d) => [d.action, d.modelResolved])).toEqual([['downgrade', 'gpt-4o-mini']]);
  });

  it('rejects a malformed deployment map, naming the entry', () => {
    expect(() => spendGuardMiddleware({ scope: { tenantId: 'acme' }, azureDeployments: { 'prod-chat': '' } })).toThrow(/deployment "prod-chat" maps to ""/);
  });
});

describe('spendGuardMiddleware over @ai-sdk/openai-compatible', () => {
  const gateway = () => createOpenAICompatible({ name: 'acme-llm', baseURL: `${fake.url}/v1`, apiKey: 'sk-test', includeUsage: true });

  it('provider name and model id from the model: priced by overrides, downgrade in the body sent, block and unknown model before any fetch, stream settled', async () => {
    const t = setup('small-model', undefined, 'acme-llm');
    const model = t.wrap(gateway().chatModel('big-model'));
    await generateText({ model, prompt, maxOutputTokens: 200, maxRetries: 0 });
    await generateText({ model, prompt, maxOutputTokens: 20_000, maxRetries: 0 });
    await expect(generateText({ model, prompt, maxOutputTokens: 200_000, maxRetries: 0 })).rejects.toBeInstanceOf(AgentGuardBlockedError);
    await expect(generateText({ model: t.wrap(gateway().chatModel('mystery-model')), prompt, maxOutputTokens: 10, maxRetries: 0 })).rejects.toBeInstanceOf(
      AgentGuardBlockedError,
    );
    await streamText({ model, prompt, maxOutputTokens: 200, maxRetries: 0 }).consumeStream();
    expect(fake.requests.map((r) => (r.body as { model: string }).model)).toEqual(['big-model', 'small-model', 'big-model']);
    expect(t.calls().map((d) => [d.action, d.provider, d.modelRequested, d.modelResolved])).toEqual([
      ['allow', 'acme-llm', 'big-model', 'big-model'],
      ['downgrade', 'acme-llm', 'big-model', 'small-model'],
      ['block', 'acme-llm', 'big-model', 'big-model'],
      ['block', 'acme-llm', 'mystery-model', 'mystery-model'],
      ['allow', 'acme-llm', 'big-model', 'big-model'],
    ]);
    expect(t.outcomes().map((o) => [o.outcome, o.actualInputTokens, o.actualOutputTokens])).toEqual([
      ['settled', 25, 10],
      ['settled', 25, 10],
      ['settled', 25, 10],
    ]);
  });
});

describe('the load-time patch of @ai-sdk/azure and @ai-sdk/openai-compatible (no middleware)', () => {
  it("finds their classes (Azure's default instance, openai-compatible's exports) and guards calls on any model of them", async () => {
    const t = setup('gpt-4o-mini', { 'prod-chat': 'gpt-4o', 'prod-mini': 'gpt-4o-mini' });
    const compat = setup('small-model', undefined, 'acme-llm');
    const binding = (guard: SpendGuard) => () => ({ guard, scope: { tenantId: 'acme' }, tracer: trace.getTracer('t') });
    const deployments = { 'prod-chat': 'gpt-4o', 'prod-mini': 'gpt-4o-mini' };
    expect(patchAiSdkProvider(azureProvider, { getBinding: binding(t.guard), azureDeployments: () => deployments })).toBeGreaterThanOrEqual(3); // chat, responses, completion
    expect(patchAiSdkProvider(compatibleProvider, { getBinding: binding(compat.guard) })).toBe(2); // chat, completion
    try {
      const azure = createAzure({ baseURL: `${fake.url}/openai`, apiKey: 'azure-test', useDeploymentBasedUrls: true, apiVersion: '2024-10-21' });
      await generateText({ model: azure.chat('prod-chat'), prompt, maxOutputTokens: 20_000, maxRetries: 0 });
      const gateway = createOpenAICompatible({ name: 'acme-llm', baseURL: `${fake.url}/v1`, apiKey: 'sk-test', includeUsage: true });
      await generateText({ model: gateway.chatModel('big-model'), prompt, maxOutputTokens: 20_000, maxRetries: 0 });
      await expect(generateText({ model: gateway.chatModel('big-model'), prompt, maxOutputTokens: 200_000, maxRetries: 0 })).rejects.toBeInstanceOf(
        AgentGuardBlockedError,
      );
    } finally {
      unpatchAiSdkProvider(azureProvider);
      unpatchAiSdkProvider(compatibleProvider);
    }
    expect(fake.requests.map((r) => [r.path, (r.body as { model: string }).model])).toEqual([
      ['/openai/deployments/prod-mini/chat/completions', 'prod-mini'],
      ['/v1/chat/completions', 'small-model'],
    ]);
    expect(t.calls().map((d) => [d.action, d.modelResolved])).toEqual([['downgrade', 'gpt-4o-mini']]);
    expect(compat.calls().map((d) => [d.action, d.modelResolved])).toEqual([
      ['downgrade', 'small-model'],
      ['block', 'big-model'],
    ]);
  });
});
