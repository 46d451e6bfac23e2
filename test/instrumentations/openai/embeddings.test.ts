/**
 * `embeddings.create` through the real `openai` SDK against the fake provider:
 * decided once, priced by input alone (the price table prices embedding models
 * by input; the output bound is 0), blocked before the network, downgraded in
 * the request the fake received, settled from `usage.prompt_tokens`, and the
 * span is `embeddings <model>`.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type OpenAIDefault from 'openai';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { OPENAI_FAKE_EMBEDDING } from '../../../fake-provider/openai.js';
import { estimateEmbeddingInput } from '../../../instrumentations/openai/embeddings.js';
import { OpenAISpendGuardInstrumentation, withSpendGuard } from '../../../instrumentations/openai/index.js';
import { AgentGuardBlockedError, type SpendCap } from '../../../src/index.js';
import { verifyChain } from '../../../src/audit.js';
import { exportedText, makeGuard, ourSpans, policy, setupTracing, startFake, type TestGuard } from '../../helpers/openai.js';

const require = createRequire(import.meta.url);
const sdk = require('openai') as typeof import('openai');
const OpenAI = sdk.OpenAI as typeof OpenAIDefault;
type Client = InstanceType<typeof OpenAI>;

const exporter = setupTracing();
const instrumentation = new OpenAISpendGuardInstrumentation();
instrumentation.patchExports(sdk);

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFake();
});
afterAll(async () => {
  instrumentation.disable();
  await fake.close();
});

const MARKER = 'EMBED-MARKER-5d1e';
/** text-embedding-3-large is $0.13 per million input tokens: 100 000 tokens are 1.3 cents, over a 1-cent per-call cap. */
const LARGE = 'text-embedding-3-large';
const tokenArray = (n: number) => Array.from({ length: n }, (_, i) => i % 50_000);

function setup(mode: 'instrumentation' | 'wrapper', caps: Partial<SpendCap>[]): { client: Client; t: TestGuard } {
  const t = makeGuard([policy(caps)]);
  const raw = new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: `${fake.url}/v1`, maxRetries: 3 });
  if (mode === 'instrumentation') {
    instrumentation.setConfig({ guard: t.guard, scope: { tenantId: 't1' } });
    instrumentation.enable();
    return { client: raw, t };
  }
  instrumentation.disable();
  return { client: withSpendGuard(raw, { guard: t.guard, scope: { tenantId: 't1' } }), t };
}

describe('embedding input estimate', () => {
  it('counts token arrays exactly and strings as text', () => {
    expect(estimateEmbeddingInput(LARGE, tokenArray(1234))).toBe(1234);
    expect(estimateEmbeddingInput(LARGE, [tokenArray(10), tokenArray(5)])).toBe(15);
    // Text is estimated as a bound (never below the tokenizer's count of 2 per text).
    const one = estimateEmbeddingInput(LARGE, 'hello world');
    expect(one).toBeGreaterThanOrEqual(2);
    expect(estimateEmbeddingInput(LARGE, ['hello world', 'hello world'])).toBeGreaterThanOrEqual(2 * 2);
    expect(estimateEmbeddingInput(LARGE, ['hello world', tokenArray(100)])).toBe(one + 100);
    expect(estimateEmbeddingInput(LARGE, [])).toBe(0);
  });
});

describe.each(['instrumentation', 'wrapper'] as const)('openai embeddings via %s', (mode) => {
  beforeEach(() => {
    fake.reset();
    exporter.reset();
  });

  it('is decided once within the caps, settled from usage, and the span is "embeddings <model>"', async () => {
    const { client, t } = setup(mode, [{ amountCents: 1000, window: 'per_day', action: 'block' }]);
    fake.behaviour.usage = { inputTokens: 120_000, outputTokens: 0 };
    const result = await client.embeddings.create({ model: LARGE, input: ['first text', `second ${MARKER}`] });
    // The SDK asked for base64 and decoded it: the caller gets the fake's floats.
    expect(result.data.map((d) => d.embedding)).toEqual([OPENAI_FAKE_EMBEDDING, OPENAI_FAKE_EMBEDDING]);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.path).toBe('/v1/embeddings');
    expect(t.decisions()).toHaveLength(1);
    expect(t.decisions()[0]).toMatchObject({ action: 'allow', modelRequested: LARGE, modelResolved: LARGE });
    expect(t.outcomes()).toHaveLength(1);
    // 120 000 input tokens × $0.13/M = 1.56 cents, charged as 2; no output is billed.
    expect(t.outcomes()[0]).toMatchObject({ outcome: 'settled', actualInputTokens: 120_000, actualOutputTokens: 0, actualCents: 2 });
    const spans = ourSpans(exporter);
    expect(spans).toHaveLength(1);
    expect(spans[0]!.name).toBe(`embeddings ${LARGE}`);
    expect(spans[0]!.attributes).toMatchObject({ 'gen_ai.operation.name': 'embeddings', 'gen_ai.request.model': LARGE, 'gen_ai.usage.input_tokens': 120_000 });
    expect(exportedText(exporter, t.log)).not.toContain(MARKER);
    expect(verifyChain(t.log.entries(), t.keys.publicKey)).toEqual({ ok: true, count: 2 });
    expect(t.guard.pendingCount).toBe(0);
  });

  it('is blocked before the network when a cap fires on the input alone (no retries)', async () => {
    const { client, t } = setup(mode, [{ amountCents: 1, window: 'per_call', action: 'block' }]);
    const err = await client.embeddings.create({ model: LARGE, input: tokenArray(100_000) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AgentGuardBlockedError);
    expect(fake.requests).toHaveLength(0);
    expect(t.decisions()).toHaveLength(1);
    expect(t.decisions()[0]).toMatchObject({ action: 'block', estimatedInputTokens: 100_000, projectedCents: 2 });
    // Below the cap, the same model is allowed.
    await client.embeddings.create({ model: LARGE, input: tokenArray(1000), encoding_format: 'float' });
    expect(fake.requests).toHaveLength(1);
    expect(t.decisions()[1]).toMatchObject({ action: 'allow' });
  });

  it('is downgraded: the fake receives the cheaper embedding model', async () => {
    const { client, t } = setup(mode, [{ amountCents: 1, window: 'per_call', action: 'downgrade', downgradeTo: 'text-embedding-3-small' }]);
    const result = await client.embeddings.create({ model: LARGE, input: tokenArray(100_000), encoding_format: 'float' });
    expect(result.model).toBe('text-embedding-3-small');
    expect((fake.requests[0]!.body as { model: string }).model).toBe('text-embedding-3-small');
    expect(fake.requests[0]!.body).not.toHaveProperty('max_tokens');
    expect(t.decisions()[0]).toMatchObject({ action: 'downgrade', modelRequested: LARGE, modelResolved: 'text-embedding-3-small' });
  });
});
