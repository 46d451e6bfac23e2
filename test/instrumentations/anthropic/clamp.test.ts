/**
 * clampMaxTokens through the real `@anthropic-ai/sdk` against the fake server: the
 * params the fake RECEIVED carry the clamped `max_tokens` (and a thinking budget that
 * still fits under it), and the decision records the original and clamped values.
 * Prices are overridden to $0 input / $10 per Mtok output (0.001c per output token),
 * so a 5c per-call cap clamps any larger request to exactly 5000 tokens.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type AnthropicDefault from '@anthropic-ai/sdk';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { AnthropicSpendGuardInstrumentation, withAnthropicSpendGuard } from '../../../instrumentations/anthropic/index.js';
import { ClampNotAppliedError } from '../../../src/index.js';
import { generateKeypair, InMemoryDecisionLogStore, SpendGuard, type DecisionLogEntry, type SpendDecision } from '../../../src/index.js';
import { MODEL, policy, setupOtel, spans, startFake, userMessage } from '../../helpers/anthropic.js';

const require = createRequire(import.meta.url);
const sdk = require('@anthropic-ai/sdk') as typeof import('@anthropic-ai/sdk');
const Anthropic = sdk.Anthropic as typeof AnthropicDefault;
const instrumentation = new AnthropicSpendGuardInstrumentation({ enabled: false });
instrumentation.patchExports(sdk);
setupOtel();

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFake();
});
afterAll(async () => {
  instrumentation.unpatchExports(sdk);
  await fake.close();
});

type Mode = 'instrumentation' | 'wrapper';
let log: InMemoryDecisionLogStore;
let guard: SpendGuard;

function client(mode: Mode, centsPerCall = 5) {
  log = new InMemoryDecisionLogStore();
  guard = new SpendGuard({
    signingKeys: generateKeypair(),
    logStore: log,
    policies: [policy({ caps: [{ amountCents: centsPerCall, window: 'per_call', action: 'block', reason: 'per-call budget', clampMaxTokens: true }] })],
    pricing: { overrides: { anthropic: { [MODEL]: { inputPerMTok: 0, outputPerMTok: 10 } } } },
  });
  const raw = new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, openTelemetry: false });
  if (mode === 'instrumentation') {
    instrumentation.setConfig({ guard, scope: { tenantId: 'acme' } });
    instrumentation.enable();
    return raw;
  }
  instrumentation.disable();
  return withAnthropicSpendGuard(raw, { guard, scope: { tenantId: 'acme' } });
}

const entries = () => (log.entries() as DecisionLogEntry<SpendDecision>[]).map((e) => e.decision);
const decisionsOf = () => entries().filter((d) => d.entryType === 'decision');
const outcomesOf = () => entries().filter((d) => d.entryType === 'outcome');

function received(): Record<string, unknown> {
  expect(fake.requests).toHaveLength(1);
  return fake.requests[0]!.body as Record<string, unknown>;
}

describe.each<Mode>(['instrumentation', 'wrapper'])('anthropic clampMaxTokens via %s', (mode) => {
  beforeEach(() => fake.reset());

  it('messages.create: max_tokens is clamped, the caller’s params untouched, the decision records both bounds', async () => {
    const c = client(mode);
    const params = { model: MODEL, max_tokens: 20_000, messages: userMessage() };
    await c.messages.create(params);
    expect(received().max_tokens).toBe(5000);
    expect(params.max_tokens).toBe(20_000);
    expect(decisionsOf()[0]).toMatchObject({
      action: 'allow',
      requestedMaxOutputTokens: 20_000,
      clampedMaxOutputTokens: 5000,
      estimatedOutputTokens: 5000,
      projectedCents: 5,
    });
    expect(outcomesOf()[0]!.outcome).toBe('settled');
    expect((await spans()).at(-1)!.attributes['gen_ai.request.max_tokens']).toBe(5000);
  });

  it('messages.stream(): clamped, and settled at the end of the stream', async () => {
    const c = client(mode);
    const stream = c.messages.stream({ model: MODEL, max_tokens: 9000, messages: userMessage() });
    await stream.finalMessage();
    expect(received().max_tokens).toBe(5000);
    expect(received().stream).toBe(true);
    expect(decisionsOf()[0]).toMatchObject({ requestedMaxOutputTokens: 9000, clampedMaxOutputTokens: 5000 });
    expect(outcomesOf()[0]!.outcome).toBe('settled');
  });

  it('extended thinking: a budget at or above the clamp is lowered to max_tokens − 1', async () => {
    const c = client(mode);
    await c.messages.create({ model: MODEL, max_tokens: 20_000, thinking: { type: 'enabled', budget_tokens: 8000 }, messages: userMessage() });
    expect(received()).toMatchObject({ max_tokens: 5000, thinking: { type: 'enabled', budget_tokens: 4999 } });
  });

  it('extended thinking cannot fit under a clamp to 1000 tokens: ClampNotAppliedError, nothing sent, released', async () => {
    const c = client(mode, 1);
    const err = await c.messages
      .create({ model: MODEL, max_tokens: 20_000, thinking: { type: 'enabled', budget_tokens: 2000 }, messages: userMessage() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClampNotAppliedError);
    expect((err as Error).message).toBe(
      'agentguard: clampMaxTokens lowered the output bound to 1000 tokens, but extended thinking needs a budget of at least 1024 tokens below max_tokens; the call was not sent',
    );
    expect(fake.requests).toHaveLength(0);
    expect(outcomesOf()[0]).toMatchObject({ outcome: 'released', actualCents: 0 });
    expect(guard.pendingCount).toBe(0);
  });

  it('a call that fits is sent as written', async () => {
    const c = client(mode);
    await c.messages.create({ model: MODEL, max_tokens: 4000, messages: userMessage() });
    expect(received().max_tokens).toBe(4000);
    expect(decisionsOf()[0]!.clampedMaxOutputTokens).toBeUndefined();
  });
});
