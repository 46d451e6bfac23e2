import Anthropic, { APIPromise } from '@anthropic-ai/sdk';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../fake-provider/server.js';
import type { SpendGuard } from '../../src/index.js';
import { GenaiPricesTable } from '../../src/engine/pricing.js';
import { TOOL_PROMPT_TOKENS } from '../../instrumentations/anthropic/adapter.js';
import { inputTokenBound } from '../../instrumentations/common/estimate.js';
import {
  CHEAP_MODEL,
  decisions,
  exportedText,
  lastDecision,
  lastOutcome,
  makeGuard,
  MODEL,
  policy,
  PROMPT_MARKER,
  setupOtel,
  spans,
  startFake,
  userMessage,
} from './anthropic.js';

/** Makes a client whose calls go through `guard` (by instrumentation or by wrapper). */
export type GuardedClientFactory = (guard: SpendGuard, baseURL: string, clientOptions?: Record<string, unknown>) => Anthropic;

const ourSpans = async () => (await spans()).filter((s) => s.name.startsWith('chat '));

/**
 * The behaviour every guarded path must have, run against the real SDK and
 * the fake provider. SDK telemetry is off here (`openTelemetry: false`) so the
 * span assertions are about ours alone; sdk-telemetry.test.ts covers it on.
 */
export function anthropicScenarios(label: string, makeClient: GuardedClientFactory): void {
  describe(`anthropic ${label}`, () => {
    let fake: FakeProvider;
    const otel = setupOtel();
    const client = (guard: SpendGuard, extra: Record<string, unknown> = {}) =>
      makeClient(guard, fake.url, { apiKey: 'sk-ant-test-key-SECRET', maxRetries: 0, openTelemetry: false, ...extra });

    beforeAll(async () => {
      fake = await startFake();
    });
    afterAll(async () => {
      await fake.close();
    });
    beforeEach(() => {
      fake.reset();
      otel.exporter.reset();
    });

    it('allows: sends unchanged, settles from reported usage, span carries the decision', async () => {
      const { guard, log } = makeGuard();
      const c = client(guard);
      const promise = c.messages.create({ model: MODEL, max_tokens: 1000, messages: userMessage() });
      expect(promise).toBeInstanceOf(APIPromise);
      const message = await promise;
      expect(message.content[0]).toMatchObject({ type: 'text' });
      expect(fake.requestsTo('/v1/messages')).toHaveLength(1);
      expect((fake.requests[0]!.body as { model: string }).model).toBe(MODEL);
      expect(guard.pendingCount).toBe(0);

      const d = lastDecision(log)!;
      expect(d.action).toBe('allow');
      const outcome = lastOutcome(log)!;
      expect(outcome.outcome).toBe('settled');
      expect(outcome.actualInputTokens).toBe(20);
      expect(outcome.actualOutputTokens).toBe(12);

      const [span] = await ourSpans();
      expect(await ourSpans()).toHaveLength(1);
      expect(span!.name).toBe(`chat ${MODEL}`);
      expect(span!.kind).toBe(SpanKind.CLIENT);
      expect(span!.attributes).toMatchObject({
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': MODEL,
        'gen_ai.response.model': MODEL,
        'gen_ai.request.max_tokens': 1000,
        'gen_ai.usage.input_tokens': 20,
        'gen_ai.usage.output_tokens': 12,
        'agentguard.decision.id': d.decisionId,
        'agentguard.decision.action': 'allow',
        'agentguard.decision.sequence': 0,
        'agentguard.policy.id': 'p-anthropic',
        'agentguard.cost.projected_cents': d.projectedCents,
        'agentguard.cost.actual_cents': outcome.actualCents,
      });
      expect(span!.attributes['agentguard.decision.entry_hash']).toBe(log.entries()[0]!.entryHash);
      expect(span!.attributes['agentguard.decision.signer']).toBe(log.entries()[0]!.signerFingerprint);
      // The signed decision points at the span that carries it.
      expect(d.traceId).toBe(span!.spanContext().traceId);
      expect(d.spanId).toBe(span!.spanContext().spanId);
    });

    it('bounds input by the UTF-8 bytes of system + messages + tools plus the tool-use prompt, output by max_tokens', async () => {
      const { guard, log } = makeGuard();
      const system = 'You are terse.';
      const messages = userMessage();
      const tools = [{ name: 'lookup', description: 'Look up', input_schema: { type: 'object' as const, properties: {} } }];
      await client(guard).messages.create({ model: MODEL, max_tokens: 321, system, messages, tools });
      const d = lastDecision(log)!;
      expect(d.estimatedInputTokens).toBe(inputTokenBound({ system, messages, tools }) + TOOL_PROMPT_TOKENS);
      expect(d.estimatedInputTokens).toBeGreaterThanOrEqual(Buffer.byteLength(system + messages[0]!.content + JSON.stringify(tools)));
      expect(d.estimatedOutputTokens).toBe(321);
    });

    it('downgrades: the model is rewritten before the call, the response is the provider’s', async () => {
      const { guard, log } = makeGuard(
        policy({ caps: [{ amountCents: 1, window: 'per_call', action: 'downgrade', downgradeTo: CHEAP_MODEL, reason: 'small calls only' }] }),
      );
      const message = await client(guard).messages.create({ model: MODEL, max_tokens: 1000, messages: userMessage() });
      expect((fake.requests[0]!.body as { model: string }).model).toBe(CHEAP_MODEL);
      expect(message.model).toBe(CHEAP_MODEL);
      expect(lastDecision(log)).toMatchObject({ action: 'downgrade', modelRequested: MODEL, modelResolved: CHEAP_MODEL });
      const [span] = await ourSpans();
      // The span says the model the request was sent with; the requested one is kept beside it.
      expect(span!.name).toBe(`chat ${CHEAP_MODEL}`);
      expect(span!.attributes).toMatchObject({
        'agentguard.decision.action': 'downgrade',
        'gen_ai.request.model': CHEAP_MODEL,
        'agentguard.decision.model_requested': MODEL,
        'gen_ai.response.model': CHEAP_MODEL,
      });
      expect(guard.pendingCount).toBe(0);
    });

    it('blocks before any byte is sent', async () => {
      const { guard, log } = makeGuard(policy({ caps: [{ amountCents: 1, window: 'per_call', action: 'block', reason: 'too expensive' }] }));
      const c = client(guard);
      const err = await c.messages.create({ model: MODEL, max_tokens: 1000, messages: userMessage() }).catch((e: unknown) => e);
      expect((err as Error).name).toBe('AgentGuardBlockedError');
      expect((err as { reason: string }).reason).toMatch(/too expensive/);
      // streamed and helper paths block the same way
      const err2 = await c.messages.create({ model: MODEL, max_tokens: 1000, messages: userMessage(), stream: true }).catch((e: unknown) => e);
      expect((err2 as Error).name).toBe('AgentGuardBlockedError');
      const err3 = await c.messages
        .stream({ model: MODEL, max_tokens: 1000, messages: userMessage() })
        .finalMessage()
        .catch((e: unknown) => e);
      // MessageStream wraps errors that are not its own in an AnthropicError, with ours as `cause`
      expect(err3).toBeInstanceOf(Anthropic.AnthropicError);
      expect(((err3 as Error).cause as Error).name).toBe('AgentGuardBlockedError');
      const err4 = await c.messages
        .create({ model: MODEL, max_tokens: 1000, messages: userMessage() })
        .withResponse()
        .catch((e: unknown) => e);
      expect((err4 as Error).name).toBe('AgentGuardBlockedError');
      expect(fake.requests).toHaveLength(0);
      expect(guard.pendingCount).toBe(0);
      expect(decisions(log).every((d) => d.action === 'block')).toBe(true);
      const blocked = await ourSpans();
      expect(blocked).toHaveLength(4);
      for (const s of blocked) {
        expect(s.status.code).toBe(SpanStatusCode.ERROR);
        expect(s.attributes['agentguard.decision.action']).toBe('block');
      }
    });

    it('capability gate blocks a call whose claim is below the policy’s requirement', async () => {
      const { guard, log } = makeGuard(policy({ caps: [], requiredCapability: 'payment_execute' }));
      const c = client(guard);
      const err = await c.messages
        .create({ model: MODEL, max_tokens: 100, messages: userMessage() }, { headers: { 'x-agentguard-capability': 'read_only' } })
        .catch((e: unknown) => e);
      expect((err as Error).name).toBe('AgentGuardBlockedError');
      expect(fake.requests).toHaveLength(0);
      expect(lastDecision(log)).toMatchObject({ action: 'block', capabilityClaim: 'read_only' });
      // with a sufficient claim the same client goes through, and the header is stripped before sending
      await c.messages.create(
        { model: MODEL, max_tokens: 100, messages: userMessage() },
        { headers: { 'X-AgentGuard-Capability': 'payment_execute', 'x-agentguard-agent-id': 'payer' } },
      );
      expect(fake.requests).toHaveLength(1);
      expect(Object.keys(fake.requests[0]!.headers).filter((h) => h.startsWith('x-agentguard'))).toEqual([]);
      expect(lastDecision(log)).toMatchObject({ action: 'allow', capabilityClaim: 'payment_execute', actor: { tenantId: 'acme', agentId: 'payer' } });
    });

    it('shadow changes nothing but records what it would have done', async () => {
      const { guard, log } = makeGuard(policy({ mode: 'shadow', caps: [{ amountCents: 1, window: 'per_call', action: 'block', reason: 'would block' }] }));
      await client(guard).messages.create({ model: MODEL, max_tokens: 1000, messages: userMessage() });
      expect(fake.requests).toHaveLength(1);
      expect((fake.requests[0]!.body as { model: string }).model).toBe(MODEL);
      expect(lastDecision(log)).toMatchObject({ enforcementMode: 'shadow', action: 'block' });
      expect(lastOutcome(log)!.outcome).toBe('settled');
      expect(guard.pendingCount).toBe(0);
    });

    it('keeps APIPromise: withResponse() and asResponse() work and still settle', async () => {
      const { guard, log } = makeGuard();
      const c = client(guard);
      const { data, response, request_id } = await c.messages.create({ model: MODEL, max_tokens: 100, messages: userMessage() }).withResponse();
      expect(data.usage.output_tokens).toBe(12);
      expect(response.status).toBe(200);
      expect(request_id).toMatch(/^req_fake_/);
      expect(lastOutcome(log)).toMatchObject({ outcome: 'settled', actualOutputTokens: 12 });

      const raw = await c.messages.create({ model: MODEL, max_tokens: 100, messages: userMessage() }).asResponse();
      expect(raw.status).toBe(200);
      expect(raw.headers.get('request-id')).toMatch(/^req_fake_/);
      const json = (await raw.json()) as { usage: { output_tokens: number } };
      expect(json.usage.output_tokens).toBe(12);
      expect(lastOutcome(log)).toMatchObject({ outcome: 'settled', actualOutputTokens: 12 });

      // raw SSE through asResponse(): settled from the events the caller reads
      fake.behaviour.usage = { inputTokens: 30, outputTokens: 40 };
      const rawStream = await c.messages.create({ model: MODEL, max_tokens: 100, messages: userMessage(), stream: true }).asResponse();
      const text = await rawStream.text();
      expect(text).toContain('event: message_stop');
      expect(lastOutcome(log)).toMatchObject({ outcome: 'settled', actualInputTokens: 30, actualOutputTokens: 40 });
      expect(guard.pendingCount).toBe(0);
    });

    it('stream: settles at the end with usage from message_start + message_delta, cache read/write priced once', async () => {
      const { guard, log } = makeGuard();
      // engine semantics: 100k input of which 40k cache read and 10k cache write; the wire says input_tokens=50000
      fake.behaviour.usage = { inputTokens: 100_000, cachedInputTokens: 40_000, cacheWriteTokens: 10_000, outputTokens: 20_000 };
      const stream = await client(guard).messages.create({ model: MODEL, max_tokens: 30_000, messages: userMessage(), stream: true });
      expect(typeof stream.tee).toBe('function');
      expect(stream.controller).toBeInstanceOf(AbortController);
      expect(guard.pendingCount).toBe(1); // not drained early: nothing read yet
      const types: string[] = [];
      for await (const event of stream) types.push(event.type);
      expect(types[0]).toBe('message_start');
      expect(types.at(-1)).toBe('message_stop');
      expect(guard.pendingCount).toBe(0);
      const outcome = lastOutcome(log)!;
      const r = new GenaiPricesTable().rates('anthropic', MODEL, 100_000)!;
      const expected = Math.ceil((50_000 * r.input + 40_000 * r.cachedInput + 10_000 * r.cacheWrite + 20_000 * r.output) / 1e9);
      expect(outcome).toMatchObject({
        outcome: 'settled',
        actualInputTokens: 100_000,
        actualOutputTokens: 20_000,
        actualCachedInputTokens: 40_000,
        actualCacheWriteTokens: 10_000,
        actualCents: expected,
      });
      expect(expected).toBe(50); // 0.5*$3 + 0.4*$0.30 + 0.1*$3.75 per 100k in, 20k out at $15/M
      const [span] = await ourSpans();
      expect(span!.attributes).toMatchObject({
        'gen_ai.usage.input_tokens': 100_000,
        'gen_ai.usage.cache_read.input_tokens': 40_000,
        'gen_ai.usage.cache_creation.input_tokens': 10_000,
        'agentguard.cost.actual_cents': 50,
      });
    });

    it('stream: tee() keeps working and settles once', async () => {
      const { guard, log } = makeGuard();
      const stream = await client(guard).messages.create({ model: MODEL, max_tokens: 100, messages: userMessage(), stream: true });
      const [left, right] = stream.tee();
      const read = async (s: AsyncIterable<{ type: string }>) => {
        const t: string[] = [];
        for await (const e of s) t.push(e.type);
        return t;
      };
      const [a, b] = await Promise.all([read(left), read(right)]);
      expect(a).toEqual(b);
      expect(a.at(-1)).toBe('message_stop');
      expect(decisions(log).filter((d) => d.entryType === 'outcome')).toHaveLength(1);
      expect(guard.pendingCount).toBe(0);
    });

    it('stream abort: breaking early releases the reservation, charging the usage already reported', async () => {
      const { guard, log } = makeGuard();
      fake.behaviour = { chunkDelayMs: 5, streamChunks: 50 };
      const stream = await client(guard).messages.create({ model: MODEL, max_tokens: 1000, messages: userMessage(), stream: true });
      let n = 0;
      for await (const event of stream) {
        void event;
        if (++n === 3) break;
      }
      expect(guard.pendingCount).toBe(0);
      const outcome = lastOutcome(log)!;
      expect(outcome.outcome).toBe('released');
      expect(outcome.reasons.join(' ')).toMatch(/StreamAbandoned/);
      expect(outcome.actualInputTokens).toBe(20); // message_start was read
      expect((await ourSpans())[0]!.status.code).toBe(SpanStatusCode.ERROR);
    });

    it('usage not reported, completed response: released charging the projection (UsageNotReported)', async () => {
      const { guard, log } = makeGuard();
      fake.behaviour.omitUsage = true;
      await client(guard).messages.create({ model: MODEL, max_tokens: 1000, messages: userMessage() });
      expect(guard.pendingCount).toBe(0);
      const d = lastDecision(log)!;
      const outcome = lastOutcome(log)!;
      expect(outcome).toMatchObject({
        outcome: 'released',
        actualInputTokens: d.estimatedInputTokens,
        actualOutputTokens: 1000,
        actualCents: d.projectedCents,
      });
      expect(outcome.reasons).toEqual(['released: UsageNotReported']);
    });

    it('usage not reported, stream abandoned before message_start usage: charged the input estimate and the streamed bytes (StreamAbandoned)', async () => {
      const { guard, log } = makeGuard();
      fake.behaviour = { omitUsage: true, chunkDelayMs: 5, streamChunks: 50 };
      const stream = await client(guard).messages.create({ model: MODEL, max_tokens: 1000, messages: userMessage(), stream: true });
      let text = '';
      let deltas = 0;
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
        if (event.type === 'content_block_delta' && ++deltas === 4) break;
      }
      expect(guard.pendingCount).toBe(0);
      const d = lastDecision(log)!;
      const outcome = lastOutcome(log)!;
      expect(Buffer.byteLength(text)).toBeGreaterThan(3);
      expect(outcome).toMatchObject({
        outcome: 'released',
        actualInputTokens: d.estimatedInputTokens,
        actualOutputTokens: Math.ceil(Buffer.byteLength(text) / 3),
      });
      expect(outcome.actualCents).toBeGreaterThan(0);
      expect(outcome.reasons).toEqual(['released: StreamAbandoned']);
    });

    it('stream abort via controller.abort() before reading releases too', async () => {
      const { guard, log } = makeGuard();
      fake.behaviour = { chunkDelayMs: 5, streamChunks: 50 };
      const stream = await client(guard).messages.create({ model: MODEL, max_tokens: 1000, messages: userMessage(), stream: true });
      stream.controller.abort();
      await new Promise((r) => setTimeout(r, 20));
      expect(guard.pendingCount).toBe(0);
      expect(lastOutcome(log)!.outcome).toBe('released');
    });

    it('messages.stream(): events, finalMessage() and settlement', async () => {
      const { guard, log } = makeGuard();
      fake.behaviour.usage = { inputTokens: 55, outputTokens: 66 };
      const ms = client(guard).messages.stream({ model: MODEL, max_tokens: 500, messages: userMessage() });
      let text = '';
      ms.on('text', (t) => (text += t));
      const final = await ms.finalMessage();
      expect(text).toBe('Hello from the fake Anthropic provider.');
      expect(final.usage.output_tokens).toBe(66);
      expect(guard.pendingCount).toBe(0);
      expect(lastOutcome(log)).toMatchObject({ outcome: 'settled', actualInputTokens: 55, actualOutputTokens: 66 });
      expect(decisions(log).filter((d) => d.entryType === 'decision')).toHaveLength(1);
    });

    it('messages.stream(): abort() releases the reservation', async () => {
      const { guard, log } = makeGuard();
      fake.behaviour = { chunkDelayMs: 5, streamChunks: 50 };
      const ms = client(guard).messages.stream({ model: MODEL, max_tokens: 500, messages: userMessage() });
      await new Promise<void>((resolve) => ms.once('text', () => resolve()));
      ms.abort();
      const err = await ms.done().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.APIUserAbortError);
      expect(guard.pendingCount).toBe(0);
      expect(lastOutcome(log)!.outcome).toBe('released');
    });

    it('provider error (500) charges the attempt, which may have run, its projection, and marks the span', async () => {
      const { guard, log } = makeGuard();
      fake.behaviour.failWithStatus = 500;
      const err = await client(guard)
        .messages.create({ model: MODEL, max_tokens: 100, messages: userMessage() })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.InternalServerError);
      expect(guard.pendingCount).toBe(0);
      const outcome = lastOutcome(log)!;
      expect(outcome).toMatchObject({ outcome: 'released', actualCents: lastDecision(log)!.projectedCents, unansweredAttempts: 1 });
      expect((await ourSpans())[0]!.status.code).toBe(SpanStatusCode.ERROR);
      // streamed call failing at connect
      const err2 = await client(guard)
        .messages.create({ model: MODEL, max_tokens: 100, messages: userMessage(), stream: true })
        .catch((e: unknown) => e);
      expect(err2).toBeInstanceOf(Anthropic.InternalServerError);
      expect(guard.pendingCount).toBe(0);
    });

    it('concurrency: 50 parallel calls against a daily cap — exactly the affordable ones pass', async () => {
      // claude-sonnet-4-5, max_tokens 1000: projected 2 cents each (input estimate + $15/M × 1000); cap 20 → 10 fit.
      const { guard, log } = makeGuard(policy({ caps: [{ amountCents: 20, window: 'per_day', action: 'block', reason: 'daily budget' }] }));
      fake.behaviour.delayMs = 50; // every reservation is taken before any call settles
      const c = client(guard);
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, () => c.messages.create({ model: MODEL, max_tokens: 1000, messages: userMessage('hi') })),
      );
      const passed = results.filter((r) => r.status === 'fulfilled').length;
      const blocked = results.filter((r) => r.status === 'rejected' && (r.reason as Error).name === 'AgentGuardBlockedError').length;
      const projected = lastDecision(log)!.projectedCents;
      expect(projected).toBe(2);
      expect(passed).toBe(10);
      expect(blocked).toBe(40);
      expect(fake.requests).toHaveLength(10);
      expect(guard.pendingCount).toBe(0);
      const maxAfter = Math.max(
        ...decisions(log)
          .filter((d) => d.entryType === 'decision')
          .map((d) => d.windowSpendAfter),
      );
      expect(maxAfter).toBeLessThanOrEqual(20);
    });

    it('never exports prompt text or keys', async () => {
      const { guard, log } = makeGuard();
      const c = client(guard);
      await c.messages.create({ model: MODEL, max_tokens: 100, system: `sys ${PROMPT_MARKER}`, messages: userMessage() });
      for await (const e of await c.messages.create({ model: MODEL, max_tokens: 100, messages: userMessage(), stream: true })) void e;
      fake.behaviour.failWithStatus = 400;
      await c.messages.create({ model: MODEL, max_tokens: 100, messages: userMessage() }).catch(() => undefined);
      const text = await exportedText(log);
      expect(text.length).toBeGreaterThan(100);
      expect(text).not.toContain(PROMPT_MARKER);
      expect(text).not.toContain('SECRET');
      expect(text).not.toContain('Hello from the fake');
    });
  });
}
