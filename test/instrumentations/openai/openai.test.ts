import { createRequire } from 'node:module';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type OpenAIDefault from 'openai';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { OPENAI_FAKE_TEXT } from '../../../fake-provider/openai.js';
import { OpenAISpendGuardInstrumentation, withSpendGuard, withSpendScope } from '../../../instrumentations/openai/index.js';
import { AgentGuardBlockedError, type SpendCap, type SpendPolicy } from '../../../src/index.js';
import { verifyChain } from '../../../src/audit.js';
import { expectedCents, exportedText, makeGuard, ourSpans, policy, setupTracing, startFake, until, type TestGuard } from '../../helpers/openai.js';

// The real SDK (its CommonJS build, as `require('openai')` loads it).
const require = createRequire(import.meta.url);
const sdk = require('openai') as typeof import('openai');
const OpenAI = sdk.OpenAI as typeof OpenAIDefault;
const { Stream } = require('openai/streaming') as typeof import('openai/streaming');
const APIPromise = sdk.APIPromise;
type Client = InstanceType<typeof OpenAI>;

const exporter = setupTracing();
const instrumentation = new OpenAISpendGuardInstrumentation();
instrumentation.patchExports(sdk);

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFake();
});
afterAll(async () => {
  await fake.close();
});

const MARKER = 'PROMPT-MARKER-7f3a9c';
const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: `Say hello. ${MARKER}` },
];

type Mode = 'instrumentation' | 'wrapper';

function setup(
  mode: Mode,
  caps: Partial<SpendCap>[],
  extra: Partial<SpendPolicy> = {},
  opts: { modeOverride?: 'shadow'; capabilityClaim?: 'read_only' } = {},
): { client: Client; t: TestGuard } {
  const t = makeGuard([policy(caps, extra)], opts.modeOverride ? { modeOverride: opts.modeOverride } : {});
  const raw = new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: `${fake.url}/v1`, maxRetries: 0 });
  if (mode === 'instrumentation') {
    instrumentation.setConfig({ guard: t.guard, scope: { tenantId: 't1' }, ...(opts.capabilityClaim ? { capabilityClaim: opts.capabilityClaim } : {}) });
    instrumentation.enable();
    return { client: raw, t };
  }
  instrumentation.disable();
  return {
    client: withSpendGuard(raw, { guard: t.guard, scope: { tenantId: 't1' }, ...(opts.capabilityClaim ? { capabilityClaim: opts.capabilityClaim } : {}) }),
    t,
  };
}

describe.each<Mode>(['instrumentation', 'wrapper'])('openai via %s', (mode) => {
  beforeEach(() => {
    fake.reset();
    exporter.reset();
  });

  it('allows a chat completion, settles it from reported usage, and signs both entries', async () => {
    const { client, t } = setup(mode, [{ amountCents: 1000, window: 'per_day', action: 'block' }]);
    fake.behaviour.usage = { inputTokens: 120_000, outputTokens: 30_000, cachedInputTokens: 40_000 };
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 30_000 });
    expect(completion.choices[0]!.message.content).toBe(OPENAI_FAKE_TEXT);
    expect(fake.requestsTo('/v1/chat/completions')).toHaveLength(1);
    const [decision] = t.decisions();
    const [outcome] = t.outcomes();
    expect(decision!.action).toBe('allow');
    expect(decision!.estimatedOutputTokens).toBe(30_000);
    expect(outcome!.outcome).toBe('settled');
    expect(outcome!.actualInputTokens).toBe(120_000);
    expect(outcome!.actualCachedInputTokens).toBe(40_000);
    expect(outcome!.actualCents).toBe(expectedCents('gpt-4o', { input: 120_000, output: 30_000, cached: 40_000 }));
    expect(verifyChain(t.log.entries(), t.keys.publicKey)).toEqual({ ok: true, count: 2 });
    expect(t.guard.pendingCount).toBe(0);

    const [span] = ourSpans(exporter);
    expect(span!.name).toBe('chat gpt-4o');
    expect(span!.kind).toBe(SpanKind.CLIENT);
    expect(span!.attributes).toMatchObject({
      'gen_ai.provider.name': 'openai',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o',
      'gen_ai.request.max_tokens': 30_000,
      'gen_ai.usage.input_tokens': 120_000,
      'gen_ai.usage.output_tokens': 30_000,
      'gen_ai.usage.cache_read.input_tokens': 40_000,
      'agentguard.decision.id': decision!.decisionId,
      'agentguard.decision.action': 'allow',
      'agentguard.decision.entry_hash': t.log.entries()[0]!.entryHash,
      'agentguard.decision.sequence': 0,
      'agentguard.decision.signer': t.log.entries()[0]!.signerFingerprint,
      'agentguard.policy.id': 'p-openai',
      'agentguard.cost.projected_cents': decision!.projectedCents,
      'agentguard.cost.actual_cents': outcome!.actualCents,
    });
    expect(decision!.traceId).toBe(span!.spanContext().traceId);
    expect(decision!.spanId).toBe(span!.spanContext().spanId);
  });

  it('keeps the APIPromise: withResponse(), asResponse(), instanceof', async () => {
    const { client, t } = setup(mode, []);
    const promise = client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 50 });
    expect(promise).toBeInstanceOf(APIPromise);
    const { data, response, request_id } = await promise.withResponse();
    expect(data.choices[0]!.message.content).toBe(OPENAI_FAKE_TEXT);
    expect(response.status).toBe(200);
    expect(request_id).toMatch(/^req_fake_/);
    const raw = await client.responses.create({ model: 'gpt-4o', input: 'hi', max_output_tokens: 50 }).asResponse();
    expect(raw.status).toBe(200);
    expect(JSON.parse(await raw.text()).object).toBe('response');
    // asResponse() never parses; the call is settled from a clone of the raw body.
    await until(() => t.outcomes().length === 2);
    expect(t.outcomes()[1]).toMatchObject({ outcome: 'settled', actualInputTokens: 25 });
    const rawStream = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 50, stream: true }).asResponse();
    expect(await rawStream.text()).toContain('[DONE]');
    await until(() => t.outcomes().length === 3);
    expect(t.outcomes()[2]).toMatchObject({ outcome: 'settled', actualOutputTokens: 10 });
    expect(t.guard.pendingCount).toBe(0);
  });

  it('errors still reject through withResponse() and asResponse()', async () => {
    const { client, t } = setup(mode, [{ amountCents: 1, window: 'per_call', action: 'block' }]);
    await expect(client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5000 }).withResponse()).rejects.toBeInstanceOf(AgentGuardBlockedError);
    await expect(client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5000 }).asResponse()).rejects.toBeInstanceOf(AgentGuardBlockedError);
    t.guard.setPolicies([]);
    fake.behaviour.failWithStatus = 503;
    await expect(client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5 }).withResponse()).rejects.toBeInstanceOf(sdk.APIError);
    await expect(client.responses.create({ model: 'gpt-4o', input: 'x', max_output_tokens: 5 }).asResponse()).rejects.toBeInstanceOf(sdk.APIError);
    expect(fake.requests).toHaveLength(2);
    expect(t.outcomes().map((o) => o.outcome)).toEqual(['released', 'released']);
    expect(t.guard.pendingCount).toBe(0);
  });

  it('downgrades: the request carries the cheaper model and the response is the provider’s', async () => {
    const { client, t } = setup(mode, [{ amountCents: 1, window: 'per_call', action: 'downgrade', downgradeTo: 'gpt-4o-mini' }]);
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 1000 });
    expect(completion.model).toBe('gpt-4o-mini');
    expect((fake.requests[0]!.body as { model: string }).model).toBe('gpt-4o-mini');
    expect(t.decisions()[0]).toMatchObject({ action: 'downgrade', modelRequested: 'gpt-4o', modelResolved: 'gpt-4o-mini' });
    expect(ourSpans(exporter)[0]!.attributes['gen_ai.response.model']).toBe('gpt-4o-mini');
  });

  it('blocks before any byte is sent, and the SDK call rejects with AgentGuardBlockedError', async () => {
    const { client, t } = setup(mode, [{ amountCents: 1, window: 'per_call', action: 'block' }]);
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentGuardBlockedError);
    const streamErr = await client.responses.create({ model: 'gpt-4o', input: 'hi', max_output_tokens: 5000, stream: true }).catch((e: unknown) => e);
    expect(streamErr).toBeInstanceOf(AgentGuardBlockedError);
    expect(fake.requests).toHaveLength(0);
    expect(t.decisions().map((d) => d.action)).toEqual(['block', 'block']);
    expect(t.guard.pendingCount).toBe(0);
    const span = ourSpans(exporter)[0]!;
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['agentguard.decision.action']).toBe('block');
  });

  it('shadow mode changes nothing but logs what would have happened', async () => {
    const { client, t } = setup(mode, [{ amountCents: 1, window: 'per_call', action: 'block' }], {}, { modeOverride: 'shadow' });
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5000 });
    expect(completion.model).toBe('gpt-4o');
    expect(fake.requests).toHaveLength(1);
    expect(t.decisions()[0]).toMatchObject({ action: 'block', enforcementMode: 'shadow' });
    expect(t.outcomes()[0]!.outcome).toBe('settled');
  });

  it('capability gate: a header claim below the requirement blocks; headers are stripped when allowed', async () => {
    const { client, t } = setup(mode, [], { requiredCapability: 'payment_execute' }, { capabilityClaim: 'read_only' });
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentGuardBlockedError);
    expect(fake.requests).toHaveLength(0);
    const ok = await client.chat.completions.create(
      { model: 'gpt-4o', messages, max_tokens: 10 },
      { headers: { 'x-agentguard-capability': 'payment_execute', 'x-agentguard-agent-id': 'agent-7', 'x-other': 'kept' } },
    );
    expect(ok.choices).toHaveLength(1);
    const sent = fake.requests[0]!.headers;
    expect(Object.keys(sent).filter((h) => h.startsWith('x-agentguard'))).toEqual([]);
    expect(sent['x-other']).toBe('kept');
    expect(t.decisions()[1]).toMatchObject({ action: 'allow', capabilityClaim: 'payment_execute', actor: { tenantId: 't1', agentId: 'agent-7' } });
  });

  it('withSpendScope sets the scope of calls inside it', async () => {
    const { client, t } = setup(mode, []);
    await withSpendScope({ scope: { userId: 'u-42' } }, () => client.responses.create({ model: 'gpt-4o', input: 'hi', max_output_tokens: 10 }));
    expect(t.decisions()[0]!.actor).toEqual({ tenantId: 't1', userId: 'u-42' });
  });

  it('streams chat: lazily wrapped, usage chunk hidden, settled from the usage chunk', async () => {
    const { client, t } = setup(mode, []);
    fake.behaviour.usage = { inputTokens: 50_000, outputTokens: 20_000, cachedInputTokens: 10_000, reasoningTokens: 0 };
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 20_000, stream: true });
    expect(stream).toBeInstanceOf(Stream);
    expect(stream.controller).toBeInstanceOf(AbortController);
    expect((fake.requests[0]!.body as { stream_options: unknown }).stream_options).toEqual({ include_usage: true });
    expect(t.outcomes()).toHaveLength(0); // nothing settled before the caller reads
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.choices.length > 0)).toBe(true);
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
    expect(chunks.map((c) => c.choices[0]!.delta.content ?? '').join('')).toBe('Hello from the');
    await until(() => t.outcomes().length === 1);
    expect(t.outcomes()[0]).toMatchObject({
      outcome: 'settled',
      actualInputTokens: 50_000,
      actualOutputTokens: 20_000,
      actualCents: expectedCents('gpt-4o', { input: 50_000, output: 20_000, cached: 10_000 }),
    });
    expect(t.guard.pendingCount).toBe(0);
  });

  it('streams chat with the caller’s own include_usage: the usage chunk stays visible', async () => {
    const { client, t } = setup(mode, []);
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 100, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.prompt_tokens).toBe(25);
    await until(() => t.outcomes().length === 1);
    expect(t.outcomes()[0]!.actualInputTokens).toBe(25);
  });

  it('stream tee(): both branches read everything and the call settles once', async () => {
    const { client, t } = setup(mode, []);
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 100, stream: true });
    const [a, b] = stream.tee();
    const read = async (s: typeof a) => {
      let n = 0;
      for await (const _ of s) n++;
      return n;
    };
    const [na, nb] = await Promise.all([read(a), read(b)]);
    expect(na).toBe(nb);
    expect(na).toBeGreaterThan(2);
    await until(() => t.outcomes().length === 1);
    expect(t.outcomes()[0]!.outcome).toBe('settled');
  });

  it('streams responses: settled from response.completed with cached and reasoning tokens', async () => {
    const { client, t } = setup(mode, []);
    fake.behaviour.usage = { inputTokens: 40_000, outputTokens: 30_000, cachedInputTokens: 30_000, reasoningTokens: 25_000 };
    const stream = await client.responses.create({ model: 'o3', input: `Think. ${MARKER}`, max_output_tokens: 40_000, stream: true });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types.at(-1)).toBe('response.completed');
    await until(() => t.outcomes().length === 1);
    expect(t.outcomes()[0]).toMatchObject({
      outcome: 'settled',
      actualInputTokens: 40_000,
      actualCachedInputTokens: 30_000,
      actualOutputTokens: 30_000,
      actualReasoningTokens: 25_000,
      actualCents: expectedCents('o3', { input: 40_000, output: 30_000, cached: 30_000 }),
    });
    const span = ourSpans(exporter)[0]!;
    expect(span.attributes['gen_ai.usage.reasoning.output_tokens']).toBe(25_000);
  });

  it('SDK helpers go through the guard: chat.completions.stream(), responses.stream(), chat.completions.parse()', async () => {
    const { client, t } = setup(mode, []);
    const runner = client.chat.completions.stream({ model: 'gpt-4o', messages, max_tokens: 100 });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe('Hello from the');
    const rs = client.responses.stream({ model: 'gpt-4o', input: 'hi', max_output_tokens: 100 });
    const finalResponse = await rs.finalResponse();
    expect(finalResponse.status).toBe('completed');
    const parsed = await client.chat.completions.parse({ model: 'gpt-4o', messages, max_tokens: 100 });
    expect(parsed.choices[0]!.message.content).toBe(OPENAI_FAKE_TEXT);
    await until(() => t.outcomes().length === 3);
    expect(t.decisions()).toHaveLength(3);
    expect(t.outcomes().map((o) => o.outcome)).toEqual(['settled', 'settled', 'settled']);
  });

  it('stream abandoned early (break): released with the streamed estimate, nothing left pending', async () => {
    const { client, t } = setup(mode, []);
    fake.behaviour.streamChunks = 50;
    fake.behaviour.chunkDelayMs = 2;
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 500, stream: true });
    let n = 0;
    for await (const _ of stream) if (++n === 3) break;
    await until(() => t.outcomes().length === 1);
    expect(t.outcomes()[0]!.outcome).toBe('released');
    expect(t.outcomes()[0]!.reasons[0]).toContain('StreamAbandoned');
    expect(t.guard.pendingCount).toBe(0);
    expect(stream.controller.signal.aborted).toBe(true);
  });

  it('usage not reported, completed response: released charging the projection (UsageNotReported)', async () => {
    const { client, t } = setup(mode, []);
    fake.behaviour.omitUsage = true;
    await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 500 });
    await until(() => t.outcomes().length === 1);
    const d = t.decisions()[0]!;
    expect(t.outcomes()[0]).toMatchObject({
      outcome: 'released',
      actualInputTokens: d.estimatedInputTokens,
      actualOutputTokens: 500,
      actualCents: d.projectedCents,
    });
    expect(t.outcomes()[0]!.reasons[0]).toBe('released: UsageNotReported');
    expect(t.guard.pendingCount).toBe(0);
  });

  it('usage not reported, stream abandoned: charged the input estimate and the streamed bytes at 3 bytes/token (StreamAbandoned)', async () => {
    const { client, t } = setup(mode, []);
    fake.behaviour = { omitUsage: true, streamChunks: 50, chunkDelayMs: 2 };
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 500, stream: true });
    let n = 0;
    let text = '';
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (++n === 6) break;
    }
    await until(() => t.outcomes().length === 1);
    const d = t.decisions()[0]!;
    expect(Buffer.byteLength(text)).toBeGreaterThan(3);
    expect(t.outcomes()[0]).toMatchObject({
      outcome: 'released',
      actualInputTokens: d.estimatedInputTokens,
      actualOutputTokens: Math.ceil(Buffer.byteLength(text) / 3),
    });
    expect(t.outcomes()[0]!.reasons[0]).toBe('released: StreamAbandoned');
    expect(t.guard.pendingCount).toBe(0);
  });

  it('stream aborted through its controller before reading: released', async () => {
    const { client, t } = setup(mode, []);
    const stream = await client.responses.create({ model: 'gpt-4o', input: 'hi', max_output_tokens: 50, stream: true });
    stream.controller.abort();
    await until(() => t.outcomes().length === 1);
    expect(t.outcomes()[0]!.outcome).toBe('released');
    expect(t.guard.pendingCount).toBe(0);
  });

  it('provider error (500): the SDK error rejects and the attempt, which may have run, is charged its projection', async () => {
    const { client, t } = setup(mode, []);
    fake.behaviour.failWithStatus = 500;
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(sdk.InternalServerError);
    const streamErr = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 10, stream: true }).catch((e: unknown) => e);
    expect(streamErr).toBeInstanceOf(sdk.APIError);
    expect(t.outcomes().map((o) => [o.outcome, o.actualCents, o.unansweredAttempts])).toEqual(t.decisions().map((d) => ['released', d.projectedCents, 1]));
    expect(t.guard.pendingCount).toBe(0);
    const spans = ourSpans(exporter);
    expect(spans.every((s) => s.status.code === SpanStatusCode.ERROR)).toBe(true);
  });

  it('concurrency: 50 parallel calls against a 10-cent cap — exactly 10 pass, the cap is never exceeded', async () => {
    // 'flat-1c-per-1k-out' projects exactly 1 cent for max_tokens 1000.
    const { client, t } = setup(mode, [{ amountCents: 10, window: 'per_day', action: 'block' }]);
    fake.behaviour.delayMs = 150; // every decision happens before any call settles
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => client.chat.completions.create({ model: 'flat-1c-per-1k-out', messages, max_tokens: 1000 })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof AgentGuardBlockedError)).toHaveLength(40);
    expect(fake.requests).toHaveLength(10);
    expect(Math.max(...t.decisions().map((d) => d.windowSpendAfter))).toBeLessThanOrEqual(10);
    expect(t.guard.pendingCount).toBe(0);
  });

  it('never exports prompt text: no marker in spans or in the signed log', async () => {
    const { client, t } = setup(mode, [{ amountCents: 1, window: 'per_call', action: 'block' }]);
    await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5000 }).catch(() => undefined);
    t.guard.setPolicies([]);
    await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 50 });
    const s = await client.responses.create({ model: 'gpt-4o', input: MARKER, instructions: MARKER, max_output_tokens: 50, stream: true });
    for await (const _ of s);
    fake.behaviour.failWithStatus = 400;
    await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 50 }).catch(() => undefined);
    await until(() => t.outcomes().length === 3);
    const text = exportedText(exporter, t.log);
    expect(text).toContain('agentguard.decision.id');
    expect(text).not.toContain(MARKER);
    expect(text).not.toContain('sk-test-not-a-key');
  });
});

describe('openai: instrumentation and wrapper together', () => {
  beforeEach(() => {
    fake.reset();
    exporter.reset();
  });

  it('a wrapped client under an enabled instrumentation decides exactly once per call', async () => {
    const t = makeGuard([policy([])]);
    instrumentation.setConfig({ guard: t.guard, scope: { tenantId: 't1' } });
    instrumentation.enable();
    const raw = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
    const client = withSpendGuard(raw, { guard: t.guard, scope: { tenantId: 't1' } });
    await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 10 });
    await raw.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 10 });
    expect(t.decisions()).toHaveLength(2);
    expect(fake.requests).toHaveLength(2);
  });

  it('fails closed: an instrumentation without a guard rejects and sends nothing', async () => {
    instrumentation.setConfig({});
    instrumentation.enable();
    const raw = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
    const err = await raw.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 10 }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AgentGuardError');
    expect(fake.requests).toHaveLength(0);
  });

  it('disabled instrumentation passes calls through untouched', async () => {
    const t = makeGuard([policy([{ amountCents: 1, window: 'per_call', action: 'block' }])]);
    instrumentation.setConfig({ guard: t.guard, scope: { tenantId: 't1' } });
    instrumentation.disable();
    const raw = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
    await raw.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5000 });
    expect(t.decisions()).toHaveLength(0);
    expect(fake.requests).toHaveLength(1);
    instrumentation.enable();
  });
});
