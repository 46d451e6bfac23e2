import { createAnthropic } from '@ai-sdk/anthropic';
import * as openaiProvider from '@ai-sdk/openai';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText, wrapLanguageModel, type LanguageModel, type LanguageModelMiddleware } from 'ai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFakeProvider, type FakeProvider } from '../../../fake-provider/index.js';
import { DowngradeNotAppliedError, patchAiSdkProvider, spendGuardMiddleware, unpatchAiSdkProvider } from '../../../instrumentations/ai-sdk/internals.js';
import { AgentGuardBlockedError, type SpendCap } from '../../../src/index.js';
import { decisions, makeGuard, policy, PROMPT_MARKER, setupOtel, spans } from '../../helpers/anthropic.js';

// The middleware (no register) with the real `ai` and providers against the fake.

let fake: FakeProvider;
beforeAll(async () => {
  setupOtel();
  fake = createFakeProvider();
  await fake.listen();
});
afterAll(() => fake.close());
afterEach(() => fake.reset());

const CAPS: Partial<SpendCap>[] = [
  { amountCents: 10, window: 'per_call', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'over 10c: cheap model' },
  { amountCents: 100, window: 'per_call', action: 'block', reason: 'over $1' },
];

function setup(caps: Partial<SpendCap>[] = CAPS, mode: 'enforce' | 'shadow' = 'enforce', defaultMaxOutputTokens?: number) {
  const { guard, log } = makeGuard(policy({ caps: caps as SpendCap[], mode, ...(defaultMaxOutputTokens ? { defaultMaxOutputTokens } : {}) }));
  const middleware = spendGuardMiddleware({ guard, scope: { tenantId: 'acme' } }) as unknown as LanguageModelMiddleware;
  const openai = createOpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'sk-test' });
  const anthropic = createAnthropic({ baseURL: `${fake.url}/v1`, apiKey: 'sk-ant-test' });
  const wrap = (model: LanguageModel) => wrapLanguageModel({ model: model as never, middleware });
  return { guard, log, openai, anthropic, wrap, middleware };
}

const prompt = `Say hello. ${PROMPT_MARKER}`;
const outcomes = (log: Parameters<typeof decisions>[0]) => decisions(log).filter((d) => d.entryType === 'outcome');
const calls = (log: Parameters<typeof decisions>[0]) => decisions(log).filter((d) => d.entryType !== 'outcome');

describe('spendGuardMiddleware', () => {
  it('allows, downgrades in the request sent, blocks before any fetch; settles from reported usage; spans carry the decision', async () => {
    const { log, openai, wrap } = setup();
    const model = wrap(openai('gpt-4o'));
    await generateText({ model, prompt, maxOutputTokens: 200, maxRetries: 0 });
    await generateText({ model, prompt, maxOutputTokens: 20_000, maxRetries: 0 });
    await expect(generateText({ model, prompt, maxOutputTokens: 200_000, maxRetries: 0 })).rejects.toBeInstanceOf(AgentGuardBlockedError);
    expect(fake.requests.map((r) => [(r.body as { model: string }).model, (r.body as { max_output_tokens: number }).max_output_tokens])).toEqual([
      ['gpt-4o', 200],
      ['gpt-4o-mini', 20_000],
    ]);
    expect(calls(log).map((d) => [d.action, d.modelResolved])).toEqual([
      ['allow', 'gpt-4o'],
      ['downgrade', 'gpt-4o-mini'],
      ['block', 'gpt-4o'],
    ]);
    expect(outcomes(log).map((o) => [o.outcome, o.actualInputTokens, o.actualOutputTokens])).toEqual([
      ['settled', 25, 10],
      ['settled', 25, 10],
    ]);
    const ours = (await spans()).filter((s) => 'agentguard.decision.id' in s.attributes);
    expect(ours.map((s) => [s.name, s.attributes['gen_ai.provider.name'], s.attributes['agentguard.decision.action']])).toEqual([
      ['chat gpt-4o', 'openai', 'allow'],
      // The conventions name the span after the model sent.
      ['chat gpt-4o-mini', 'openai', 'downgrade'],
      ['chat gpt-4o', 'openai', 'block'],
    ]);
    const port = Number(new URL(fake.url).port);
    for (const s of ours) expect([s.attributes['server.address'], s.attributes['server.port']]).toEqual(['127.0.0.1', port]);
    expect(ours.slice(0, 2).map((s) => [typeof s.attributes['gen_ai.response.id'], s.attributes['gen_ai.response.finish_reasons']])).toEqual([
      ['string', ['stop']],
      ['string', ['stop']],
    ]);
    expect(JSON.stringify(ours.map((s) => s.attributes))).not.toContain(PROMPT_MARKER);
    expect(JSON.stringify(log.entries())).not.toContain(PROMPT_MARKER);
  });

  it('settles a stream from its finish part, and a stream the caller cancels from what it saw', async () => {
    const { log, anthropic, wrap } = setup([]);
    const model = wrap(anthropic('claude-sonnet-4-5'));
    const full = streamText({ model, prompt, maxOutputTokens: 300, maxRetries: 0 });
    expect(await full.text).toContain('Hello');
    expect(outcomes(log).at(-1)).toMatchObject({ outcome: 'settled', actualInputTokens: 20, actualOutputTokens: 12 });

    fake.behaviour.streamChunks = 50;
    fake.behaviour.chunkDelayMs = 10;
    const result = await model.doStream({ prompt: [{ role: 'user', content: [{ type: 'text', text: prompt }] }], maxOutputTokens: 300 } as never);
    const reader = (result as { stream: ReadableStream }).stream.getReader();
    for (let seen = 0; seen < 6; seen++) await reader.read();
    await reader.cancel();
    const abandoned = outcomes(log).at(-1)!;
    expect(abandoned).toMatchObject({ outcome: 'released' });
    expect(abandoned.reasons.join(' ')).toContain('StreamAbandoned');
    expect(abandoned.actualOutputTokens).toBeGreaterThan(0);
  });

  it('clamps the output bound a block cap allows, in the request the provider receives', async () => {
    // gpt-4o output at $10/Mtok: 3c allows a little under 3,000 output tokens.
    const { log, openai, wrap } = setup([{ amountCents: 3, window: 'per_call', action: 'block', reason: 'per-call budget', clampMaxTokens: true }]);
    await generateText({ model: wrap(openai.chat('gpt-4o')), prompt, maxOutputTokens: 20_000, maxRetries: 0 });
    const sent = (fake.requests[0]!.body as { max_tokens: number }).max_tokens;
    expect(sent).toBeLessThan(3_000);
    expect(sent).toBeGreaterThan(2_000);
    expect(calls(log)[0]).toMatchObject({ requestedMaxOutputTokens: 20_000, clampedMaxOutputTokens: sent });
  });

  it('a call without maxOutputTokens is priced at the fallback bound and sent without one; a policy default is written; shadow mode sends the call unchanged', async () => {
    const enforce = setup([]);
    await generateText({ model: enforce.wrap(enforce.openai.chat('gpt-4o')), prompt, maxRetries: 0 });
    expect((fake.requests[0]!.body as { max_tokens?: number }).max_tokens).toBeUndefined();
    expect(calls(enforce.log)[0]!.estimatedOutputTokens).toBe(16_384);

    const withDefault = setup([], 'enforce', 300);
    await generateText({ model: withDefault.wrap(withDefault.openai.chat('gpt-4o')), prompt, maxRetries: 0 });
    expect((fake.requests[1]!.body as { max_tokens?: number }).max_tokens).toBe(300);
    expect(calls(withDefault.log)[0]!.estimatedOutputTokens).toBe(300);

    const shadow = setup(CAPS, 'shadow');
    await generateText({ model: shadow.wrap(shadow.openai.chat('gpt-4o')), prompt, maxRetries: 0 });
    expect(fake.requests[2]!.body).toMatchObject({ model: 'gpt-4o' });
    expect((fake.requests[2]!.body as { max_tokens?: number }).max_tokens).toBeUndefined();
    expect(calls(shadow.log)[0]).toMatchObject({ enforcementMode: 'shadow', action: 'downgrade' });
  });

  it('a response without usage is charged the projection; a provider error before any response is released at 0', async () => {
    const { log, openai, wrap } = setup([]);
    const model = wrap(openai.chat('gpt-4o'));
    fake.behaviour.omitUsage = true;
    await generateText({ model, prompt, maxOutputTokens: 100, maxRetries: 0 });
    expect(outcomes(log).at(-1)).toMatchObject({ outcome: 'released', actualOutputTokens: 100 });
    expect(outcomes(log).at(-1)!.reasons.join(' ')).toContain('UsageNotReported');
    fake.behaviour = { failWithStatus: 500 };
    await expect(generateText({ model, prompt, maxOutputTokens: 100, maxRetries: 0 })).rejects.toThrow();
    expect(outcomes(log).at(-1)).toMatchObject({ outcome: 'released', actualCents: 0 });
  });

  it('strips x-agentguard-* headers and applies them as the call scope', async () => {
    const { log, openai, wrap } = setup([]);
    await generateText({
      model: wrap(openai.chat('gpt-4o')),
      prompt,
      maxOutputTokens: 50,
      maxRetries: 0,
      headers: { 'x-agentguard-agent-id': 'planner', 'x-app': 'kept' },
    });
    expect(fake.requests[0]!.headers['x-agentguard-agent-id']).toBeUndefined();
    expect(fake.requests[0]!.headers['x-app']).toBe('kept');
    expect(JSON.stringify(calls(log)[0])).toContain('planner');
  });

  it('over a class the load-time patch also guards, each call is still decided once', async () => {
    const { guard, log, openai, wrap } = setup();
    const patched = patchAiSdkProvider(openaiProvider, {
      getBinding: () => ({ guard, scope: { tenantId: 'acme' }, tracer: setupOtel().provider.getTracer('t') }),
    });
    try {
      expect(patched).toBeGreaterThanOrEqual(2); // chat, responses, completion
      await generateText({ model: wrap(openai('gpt-4o')), prompt, maxOutputTokens: 20_000, maxRetries: 0 });
      await generateText({ model: openai('gpt-4o'), prompt, maxOutputTokens: 200, maxRetries: 0 });
    } finally {
      unpatchAiSdkProvider(openaiProvider);
    }
    expect(calls(log).map((d) => d.action)).toEqual(['downgrade', 'allow']);
    expect(fake.requests.map((r) => (r.body as { model: string }).model)).toEqual(['gpt-4o-mini', 'gpt-4o']);
    await generateText({ model: openai('gpt-4o'), prompt, maxOutputTokens: 200, maxRetries: 0 });
    expect(calls(log)).toHaveLength(2); // unpatched: no longer guarded
  });

  it('a downgrade that cannot reach the provider (middleware over another wrapper) fails closed, nothing sent', async () => {
    const { log, openai, middleware } = setup();
    const inner = wrapLanguageModel({ model: openai('gpt-4o'), middleware: { specificationVersion: 'v4' } as never });
    const model = wrapLanguageModel({ model: inner, middleware });
    await expect(generateText({ model, prompt, maxOutputTokens: 20_000, maxRetries: 0 })).rejects.toBeInstanceOf(DowngradeNotAppliedError);
    expect(fake.requests).toHaveLength(0);
    expect(outcomes(log)).toEqual([expect.objectContaining({ outcome: 'released', actualCents: 0 })]);
  });
});
