import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import * as anthropicProvider from '@ai-sdk/anthropic';
import * as bedrockProvider from '@ai-sdk/amazon-bedrock';
import * as openaiProvider from '@ai-sdk/openai';
import { describe, expect, it } from 'vitest';
import {
  aiSdkAdapter,
  ClampNotAppliedError,
  DowngradeNotAppliedError,
  embeddingModelPrototypes,
  estimateInputTokens,
  finalUsage,
  languageModelPrototypes,
  outputBound,
  providerOf,
  reportedUsage,
  siblingModel,
  type LanguageModelLike,
} from '../../../instrumentations/ai-sdk/internals.js';

const openai = createOpenAI({ apiKey: 'sk-test' });
const anthropic = createAnthropic({ apiKey: 'sk-ant-test' });

describe('AI SDK adapter', () => {
  it('names the provider from the model’s provider string', () => {
    expect([openai('gpt-4o').provider, openai.chat('gpt-4o').provider, anthropic('claude-sonnet-4-5').provider].map(providerOf)).toEqual([
      'openai',
      'openai',
      'anthropic',
    ]);
    expect(['amazon-bedrock', 'azure.chat', 'google.generative-ai', 'mistral.chat'].map(providerOf)).toEqual(['bedrock', 'openai', 'google', 'mistral']);
  });

  it('finds the language and embedding model classes of each provider package from its exports', () => {
    expect(languageModelPrototypes(openaiProvider).length).toBeGreaterThanOrEqual(3); // responses, chat, completion
    expect(languageModelPrototypes(anthropicProvider)).toHaveLength(1);
    expect(languageModelPrototypes(bedrockProvider).length).toBeGreaterThanOrEqual(1);
    expect(embeddingModelPrototypes(openaiProvider)).toHaveLength(1);
    expect(languageModelPrototypes({ unrelated: () => 1 })).toEqual([]);
  });

  it('the output bound adds an Anthropic thinking budget; a clamp leaves room for it or fails closed', () => {
    const model = anthropic('claude-sonnet-4-5') as unknown as LanguageModelLike;
    const thinking = (budgetTokens?: number) => ({ anthropic: { thinking: { type: 'enabled', ...(budgetTokens ? { budgetTokens } : {}) } } });
    const call = { model, options: { maxOutputTokens: 1_000, providerOptions: thinking(4_000) }, stream: false };
    expect(outputBound(call)).toBe(5_000);
    expect(outputBound({ ...call, options: { maxOutputTokens: 1_000, providerOptions: thinking() } })).toBe(2_024);
    expect(aiSdkAdapter.prepare(call, { model: model.modelId, maxOutputTokens: 4_500 }).options.maxOutputTokens).toBe(500);
    expect(() => aiSdkAdapter.prepare(call, { model: model.modelId, maxOutputTokens: 4_000 })).toThrow(ClampNotAppliedError);
    expect(outputBound({ model: openai('gpt-4o') as unknown as LanguageModelLike, options: { providerOptions: thinking(4_000) }, stream: false })).toBe(16_384);
  });

  it('estimates input from the prompt text, tools and schema (one token per UTF-8 byte, a bound), a flat allowance per file', () => {
    const text = 'x'.repeat(300);
    expect(estimateInputTokens({ prompt: [{ role: 'user', content: [{ type: 'text', text }] }] })).toBe(300);
    expect(estimateInputTokens({ prompt: [{ role: 'user', content: [{ type: 'text', text: 'é'.repeat(10) }] }] })).toBe(20);
    expect(estimateInputTokens({ prompt: [{ role: 'user', content: [{ type: 'file', data: new Uint8Array(1_000_000), mediaType: 'image/png' }] }] })).toBe(
      1_600,
    );
    expect(estimateInputTokens({ prompt: [{ role: 'system', content: text }], tools: [{ name: 'a' }] })).toBeGreaterThan(300);
  });

  it('a downgrade runs on a sibling instance; the caller’s model is untouched; a wrapper cannot be redirected', () => {
    const model = openai.chat('gpt-4o') as unknown as LanguageModelLike;
    const sibling = siblingModel(model, 'gpt-4o-mini');
    expect([sibling.modelId, model.modelId, Object.getPrototypeOf(sibling)]).toEqual(['gpt-4o-mini', 'gpt-4o', model]);
    expect(sibling.provider).toBe('openai.chat');
    expect(() => siblingModel({ ...model, doGenerate: async () => ({}), doStream: async () => ({}), provider: 'x', modelId: 'y' }, 'z')).toThrow(
      DowngradeNotAppliedError,
    );
    expect(() => siblingModel(new Proxy(model, {}), 'z')).toThrow(DowngradeNotAppliedError);
  });

  it('reads V3/V4 and V2 usage in the engine’s semantics', () => {
    const v4 = { inputTokens: { total: 120, noCache: 20, cacheRead: 80, cacheWrite: 20 }, outputTokens: { total: 30, text: 20, reasoning: 10 } };
    expect(finalUsage(reportedUsage(v4))).toEqual({ inputTokens: 120, outputTokens: 30, cachedInputTokens: 80, cacheWriteTokens: 20, reasoningTokens: 10 });
    expect(finalUsage(reportedUsage({ inputTokens: 50, outputTokens: 5, cachedInputTokens: 10, reasoningTokens: 1 }))).toEqual({
      inputTokens: 50,
      outputTokens: 5,
      cachedInputTokens: 10,
      reasoningTokens: 1,
    });
    expect(finalUsage(reportedUsage({ inputTokens: { total: undefined }, outputTokens: { total: undefined } }))).toBeUndefined();
    expect(reportedUsage({ inputTokens: { total: 12 }, outputTokens: { total: undefined } })).toEqual({ inputTokens: 12 });
  });
});
