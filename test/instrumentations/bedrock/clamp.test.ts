/**
 * clampMaxTokens through the real `@aws-sdk/client-bedrock-runtime` against the fake
 * Bedrock server: the request the fake RECEIVED carries the clamped output bound, in
 * the field each command (and InvokeModel family) reads, and the decision records the
 * original and clamped values.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClampNotAppliedError } from '../../../instrumentations/common/index.js';
import { withBedrockSpendGuard } from '../../../instrumentations/bedrock/index.js';
import { withInvokeMaxTokens } from '../../../instrumentations/bedrock/models.js';
import { AgentGuardBlockedError, generateKeypair, InMemoryDecisionLogStore, SpendGuard } from '../../../src/index.js';
import { clientConfig, converseInput, decisions, HAIKU, outcomes, policy, PROMPT_MARKER, startHarness, type Harness } from '../../helpers/bedrock.js';

const require = createRequire(import.meta.url);
type Sdk = typeof import('@aws-sdk/client-bedrock-runtime');

const NOVA = 'amazon.nova-lite-v1:0';
const TITAN = 'amazon.titan-text-express-v1';
const LLAMA = 'meta.llama3-70b-instruct-v1:0';
const MISTRAL = 'mistral.mistral-large-2402-v1:0';
const OPAQUE = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123';
// $10 / $30 per Mtok: 0.001c per input token, 0.003c per output token.
const PRICE = { inputPerMTok: 10, outputPerMTok: 30 };

let h: Harness;
let sdk: Sdk;
let guard: SpendGuard;
let log: InMemoryDecisionLogStore;

beforeAll(async () => {
  h = await startHarness();
  sdk = require('@aws-sdk/client-bedrock-runtime') as Sdk;
});
afterAll(() => h.fake.close());
beforeEach(() => {
  h.fake.reset();
  h.exporter.reset();
  log = new InMemoryDecisionLogStore();
  // A 1c per-call cap that clamps: 1c − the input estimate leaves floor((1000 − input) / 3) output tokens.
  guard = new SpendGuard({
    signingKeys: generateKeypair(),
    logStore: log,
    policies: [policy({ caps: [{ amountCents: 1, window: 'per_call', action: 'block', reason: 'one cent a call', clampMaxTokens: true }] })],
    pricing: { overrides: { bedrock: Object.fromEntries([HAIKU, NOVA, TITAN, LLAMA, MISTRAL, OPAQUE].map((m) => [m, PRICE])) } },
  });
});

function client() {
  return withBedrockSpendGuard(new sdk.BedrockRuntimeClient(clientConfig(h.fake)), { guard, scope: { tenantId: 'acme' } });
}

/** The only decision: clamped from `requested` to what 1c pays for. Returns the clamped bound. */
function clampedDecision(requested: number): number {
  const [d] = decisions(log);
  const fits = Math.floor((1000 - d!.estimatedInputTokens!) / 3);
  expect(d).toMatchObject({
    action: 'allow',
    requestedMaxOutputTokens: requested,
    clampedMaxOutputTokens: fits,
    estimatedOutputTokens: fits,
    projectedCents: 1,
  });
  expect(fits).toBeGreaterThan(0);
  expect(fits).toBeLessThan(requested);
  return fits;
}

function received(): Record<string, unknown> {
  expect(h.fake.requests).toHaveLength(1);
  return h.fake.requests[0]!.body as Record<string, unknown>;
}

describe('Bedrock: clampMaxTokens rewrites the output bound that is sent', () => {
  it('Converse: inferenceConfig.maxTokens, other inference settings kept, the caller’s input untouched', async () => {
    const input = converseInput(HAIKU, { inferenceConfig: { maxTokens: 2000, temperature: 0.5 } });
    await client().send(new sdk.ConverseCommand(input));
    const fits = clampedDecision(2000);
    expect(received().inferenceConfig).toEqual({ maxTokens: fits, temperature: 0.5 });
    expect(input.inferenceConfig).toEqual({ maxTokens: 2000, temperature: 0.5 });
    expect(outcomes(log)[0]!.outcome).toBe('settled');
    await h.provider.forceFlush();
    expect(h.exporter.getFinishedSpans().at(-1)!.attributes['gen_ai.request.max_tokens']).toBe(fits);
  });

  it('Converse without an output bound: the model default (4096) is clamped and the field added', async () => {
    const { inferenceConfig: _, ...input } = converseInput(HAIKU);
    await client().send(new sdk.ConverseCommand(input));
    const fits = clampedDecision(4096);
    expect(received().inferenceConfig).toEqual({ maxTokens: fits });
  });

  it('ConverseStream: clamped, and the stream still settles', async () => {
    const out = await client().send(new sdk.ConverseStreamCommand(converseInput(HAIKU, { inferenceConfig: { maxTokens: 5000 } })));
    for await (const _ of out.stream!) void _;
    const fits = clampedDecision(5000);
    expect(received().inferenceConfig).toEqual({ maxTokens: fits });
    expect(outcomes(log)[0]!.outcome).toBe('settled');
  });

  const families: { name: string; model: string; body: Record<string, unknown>; bound: (b: Record<string, unknown>) => unknown; bytes?: boolean }[] = [
    {
      name: 'Anthropic max_tokens',
      model: HAIKU,
      body: { anthropic_version: 'bedrock-2023-05-31', max_tokens: 3000, messages: [{ role: 'user', content: PROMPT_MARKER }] },
      bound: (b) => b.max_tokens,
    },
    {
      name: 'Nova inferenceConfig.max_new_tokens',
      model: NOVA,
      body: { messages: [{ role: 'user', content: [{ text: PROMPT_MARKER }] }], inferenceConfig: { max_new_tokens: 3000, topP: 0.9 } },
      bound: (b) => b.inferenceConfig,
      bytes: true,
    },
    {
      name: 'Titan textGenerationConfig.maxTokenCount',
      model: TITAN,
      body: { inputText: PROMPT_MARKER, textGenerationConfig: { maxTokenCount: 3000 } },
      bound: (b) => b.textGenerationConfig,
    },
    { name: 'Meta max_gen_len', model: LLAMA, body: { prompt: PROMPT_MARKER, max_gen_len: 3000 }, bound: (b) => b.max_gen_len, bytes: true },
    { name: 'Mistral max_tokens', model: MISTRAL, body: { prompt: PROMPT_MARKER, max_tokens: 3000 }, bound: (b) => b.max_tokens },
  ];
  for (const f of families) {
    it(`InvokeModel, ${f.name}${f.bytes ? ' (bytes body)' : ' (string body)'}`, async () => {
      const text = JSON.stringify(f.body);
      await client().send(
        new sdk.InvokeModelCommand({ modelId: f.model, body: f.bytes ? new TextEncoder().encode(text) : text, contentType: 'application/json' }),
      );
      const fits = clampedDecision(3000);
      const body = received();
      const expected = f.model === NOVA ? { max_new_tokens: fits, topP: 0.9 } : f.model === TITAN ? { maxTokenCount: fits } : fits;
      expect(f.bound(body)).toEqual(expected);
      // Everything else is sent as the caller wrote it.
      expect(JSON.stringify(body)).toContain(PROMPT_MARKER);
    });
  }

  it('InvokeModelWithResponseStream: Anthropic max_tokens', async () => {
    const out = await client().send(
      new sdk.InvokeModelWithResponseStreamCommand({
        modelId: HAIKU,
        body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 2500, messages: [] }),
      }),
    );
    for await (const _ of out.body!) void _;
    const fits = clampedDecision(2500);
    expect(received().max_tokens).toBe(fits);
    expect(outcomes(log)[0]!.outcome).toBe('settled');
  });

  it('a body of unknown dialect with no bound cannot carry the clamp: not sent, released, ClampNotAppliedError', async () => {
    const err = await client()
      .send(new sdk.InvokeModelCommand({ modelId: OPAQUE, body: JSON.stringify({ input: PROMPT_MARKER }) }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClampNotAppliedError);
    expect((err as Error).message).toMatch(
      /^agentguard: clampMaxTokens lowered the output bound to \d+ tokens, but the InvokeModel body of arn:.*abc123 sets no output bound this adapter knows for an unknown model family; the call was not sent$/,
    );
    expect(h.fake.requests).toHaveLength(0);
    expect(outcomes(log)[0]).toMatchObject({ outcome: 'released', actualCents: 0 });
    expect(guard.pendingCount).toBe(0);
  });

  it('a call that fits is sent with its own bound, and one that cannot fit even 1 token is blocked', async () => {
    await client().send(new sdk.ConverseCommand(converseInput(HAIKU, { inferenceConfig: { maxTokens: 100 } })));
    expect(received().inferenceConfig).toEqual({ maxTokens: 100 });
    expect(decisions(log)[0]!.clampedMaxOutputTokens).toBeUndefined();

    h.fake.reset();
    const huge = `${PROMPT_MARKER} ${'word '.repeat(5000)}`;
    const err = await client()
      .send(new sdk.ConverseCommand(converseInput(HAIKU, { messages: [{ role: 'user', content: [{ text: huge }] }], inferenceConfig: { maxTokens: 100 } })))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentGuardBlockedError);
    expect(h.fake.requests).toHaveLength(0);
  });
});

describe('withInvokeMaxTokens', () => {
  it('writes the field the caller used, or the family’s main one; unknown dialects only where a bound is present', () => {
    expect(withInvokeMaxTokens('anthropic', { prompt: 'x', max_tokens_to_sample: 900 }, 10)).toEqual({ prompt: 'x', max_tokens_to_sample: 10 });
    expect(withInvokeMaxTokens('openai', { max_tokens: 900 }, 10)).toEqual({ max_tokens: 10 });
    expect(withInvokeMaxTokens('openai', {}, 10)).toEqual({ max_completion_tokens: 10 });
    expect(withInvokeMaxTokens('amazon-nova', { inferenceConfig: { maxTokens: 900 } }, 10)).toEqual({ inferenceConfig: { maxTokens: 10 } });
    expect(withInvokeMaxTokens('amazon-nova', {}, 10)).toEqual({ inferenceConfig: { max_new_tokens: 10 } });
    expect(withInvokeMaxTokens('unknown', { textGenerationConfig: { maxTokenCount: 900, temperature: 0 } }, 10)).toEqual({
      textGenerationConfig: { maxTokenCount: 10, temperature: 0 },
    });
    expect(withInvokeMaxTokens('unknown', { max_gen_len: 900, max_tokens: 800 }, 10)).toEqual({ max_gen_len: 10, max_tokens: 10 });
    expect(withInvokeMaxTokens('unknown', { input: 'x' }, 10)).toBeUndefined();
  });
});
