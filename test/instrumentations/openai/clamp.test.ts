/**
 * clampMaxTokens through the real `openai` SDK against the fake server: the body the
 * fake RECEIVED carries the clamped bound in the field the caller used, and the
 * decision records the original and clamped values. Model `flat-1c-per-1k-out` costs
 * 0.001c per output token and nothing for input, so a 5c per-call cap clamps any
 * larger request to exactly 5000 output tokens.
 */
import { createRequire } from 'node:module';
import { beforeAll, afterAll, beforeEach, describe, expect, it } from 'vitest';
import type OpenAIDefault from 'openai';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { OpenAISpendGuardInstrumentation, withSpendGuard } from '../../../instrumentations/openai/index.js';
import { ClampNotAppliedError } from '../../../src/index.js';
import { DEFAULT_MAX_OUTPUT_TOKENS } from '../../../instrumentations/openai/estimate.js';
import { makeGuard, ourSpans, policy, setupTracing, startFake, until, type TestGuard } from '../../helpers/openai.js';

const require = createRequire(import.meta.url);
const sdk = require('openai') as typeof import('openai');
const OpenAI = sdk.OpenAI as typeof OpenAIDefault;
type Client = InstanceType<typeof OpenAI>;

const MODEL = 'flat-1c-per-1k-out';
const exporter = setupTracing();
const instrumentation = new OpenAISpendGuardInstrumentation();
instrumentation.patchExports(sdk);

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFake();
});
afterAll(() => fake.close());

type Mode = 'instrumentation' | 'wrapper';
function setup(mode: Mode): { client: Client; t: TestGuard } {
  const t = makeGuard([policy([{ amountCents: 5, window: 'per_call', action: 'block', clampMaxTokens: true }])]);
  const raw = new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: `${fake.url}/v1`, maxRetries: 0 });
  if (mode === 'instrumentation') {
    instrumentation.setConfig({ guard: t.guard, scope: { tenantId: 't1' } });
    instrumentation.enable();
    return { client: raw, t };
  }
  instrumentation.disable();
  return { client: withSpendGuard(raw, { guard: t.guard, scope: { tenantId: 't1' } }), t };
}

const messages = [{ role: 'user' as const, content: 'Say hello.' }];

function received(): Record<string, unknown> {
  expect(fake.requests).toHaveLength(1);
  return fake.requests[0]!.body as Record<string, unknown>;
}

function expectClamped(t: TestGuard, requested: number, clamped = 5000) {
  const [d] = t.decisions();
  expect(d).toMatchObject({
    action: 'allow',
    requestedMaxOutputTokens: requested,
    clampedMaxOutputTokens: clamped,
    estimatedOutputTokens: clamped,
    projectedCents: 5,
  });
}

describe.each<Mode>(['instrumentation', 'wrapper'])('openai clampMaxTokens via %s', (mode) => {
  beforeEach(() => {
    fake.reset();
    exporter.reset();
  });

  it('chat with max_tokens: max_tokens is clamped, no other bound added; settled; span shows the sent bound', async () => {
    const { client, t } = setup(mode);
    await client.chat.completions.create({ model: MODEL, messages, max_tokens: 20_000 });
    const body = received();
    expect(body.max_tokens).toBe(5000);
    expect(body).not.toHaveProperty('max_completion_tokens');
    expectClamped(t, 20_000);
    expect(t.outcomes()[0]!.outcome).toBe('settled');
    expect(ourSpans(exporter).at(-1)!.attributes['gen_ai.request.max_tokens']).toBe(5000);
  });

  it('chat with max_completion_tokens: that field is clamped', async () => {
    const { client, t } = setup(mode);
    await client.chat.completions.create({ model: MODEL, messages, max_completion_tokens: 9000 });
    const body = received();
    expect(body.max_completion_tokens).toBe(5000);
    expect(body).not.toHaveProperty('max_tokens');
    expectClamped(t, 9000);
  });

  it('chat with no bound: the default ceiling is clamped into max_completion_tokens', async () => {
    const { client, t } = setup(mode);
    await client.chat.completions.create({ model: MODEL, messages });
    expect(received().max_completion_tokens).toBe(5000);
    expectClamped(t, DEFAULT_MAX_OUTPUT_TOKENS);
  });

  it('chat with n = 3: the total is clamped and split per choice (5000 / 3 → 1666 each)', async () => {
    const { client, t } = setup(mode);
    await client.chat.completions.create({ model: MODEL, messages, max_tokens: 4000, n: 3 });
    expect(received().max_tokens).toBe(1666);
    expectClamped(t, 12_000);
  });

  it('chat stream: clamped and settled from the usage chunk', async () => {
    const { client, t } = setup(mode);
    const stream = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 8000, stream: true });
    for await (const _ of stream) void _;
    expect(received().max_tokens).toBe(5000);
    expectClamped(t, 8000);
    await until(() => t.outcomes().length === 1);
    expect(t.outcomes()[0]!.outcome).toBe('settled');
  });

  it('responses, plain and streamed: max_output_tokens is clamped', async () => {
    const { client, t } = setup(mode);
    await client.responses.create({ model: MODEL, input: 'Say hello.', max_output_tokens: 7000 });
    expect(received().max_output_tokens).toBe(5000);
    expectClamped(t, 7000);

    fake.reset();
    const stream = await client.responses.create({ model: MODEL, input: 'Say hello.', max_output_tokens: 6000, stream: true });
    for await (const _ of stream) void _;
    expect(received().max_output_tokens).toBe(5000);
    expect(t.decisions()[1]).toMatchObject({ requestedMaxOutputTokens: 6000, clampedMaxOutputTokens: 5000 });
  });

  it('a request that fits is sent as written', async () => {
    const { client, t } = setup(mode);
    await client.chat.completions.create({ model: MODEL, messages, max_tokens: 4000 });
    expect(received().max_tokens).toBe(4000);
    expect(t.decisions()[0]!.clampedMaxOutputTokens).toBeUndefined();
  });

  it('n choices that cannot each get a token: ClampNotAppliedError, nothing sent, reservation released', async () => {
    const { client, t } = setup(mode);
    // 6000 choices × 1 token = 6000 > 5000: clamped to 5000 in total, which is 0 per choice.
    const err = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 1, n: 6000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClampNotAppliedError);
    expect((err as Error).message).toBe(
      'agentguard: clampMaxTokens lowered the output bound to 5000 tokens, but the request asks for n=6000 choices, which cannot each get one output token; the call was not sent',
    );
    expect(fake.requests).toHaveLength(0);
    expect(t.outcomes()[0]).toMatchObject({ outcome: 'released', actualCents: 0 });
    expect(t.guard.pendingCount).toBe(0);
  });
});
