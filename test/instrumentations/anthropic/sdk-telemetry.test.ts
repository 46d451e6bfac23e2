import * as sdk from '@anthropic-ai/sdk';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { AnthropicSpendGuardInstrumentation, withAnthropicSpendGuard } from '../../../instrumentations/anthropic/index.js';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { lastDecision, makeGuard, MODEL, policy, setupOtel, spans, startFake, userMessage } from '../../helpers/anthropic.js';

/**
 * The SDK (recent 0.x such as 0.137, and 1.x) traces its own calls with OpenTelemetry by default: a
 * CLIENT span `anthropic.messages.create`. Our choice (README, "Spans"): the
 * call's span is OURS, `chat {model}`, carrying the gen_ai.* and all
 * agentguard.* attributes and recorded in the signed decision; the SDK's span,
 * when its telemetry is on, stays as it is — a child of ours for
 * `messages.create`, the parent of ours for `messages.stream()` (the helper
 * starts its span before it calls `create`) — and carries no agentguard.*.
 */
const otel = setupOtel();
const instrumentation = new AnthropicSpendGuardInstrumentation({ enabled: false });
instrumentation.patchExports(sdk);
afterAll(() => instrumentation.unpatchExports(sdk));

const SDK_SPAN = 'anthropic.messages.create';
const OURS = `chat ${MODEL}`;
const hasAgentguard = (s: ReadableSpan) => Object.keys(s.attributes).some((k) => k.startsWith('agentguard.'));
const parentId = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe('anthropic spans with the SDK’s own telemetry on and off', () => {
  let fake: FakeProvider;
  beforeAll(async () => {
    fake = await startFake();
  });
  afterAll(async () => {
    delete process.env.ANTHROPIC_OPEN_TELEMETRY;
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    otel.exporter.reset();
    delete process.env.ANTHROPIC_OPEN_TELEMETRY;
  });

  const make = (opts: Record<string, unknown> = {}) => {
    const g = makeGuard();
    instrumentation.setConfig({ guard: g.guard, scope: { tenantId: 'acme' } });
    const client = new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, ...opts });
    return { ...g, client, sdkTraces: !!(client as unknown as { openTelemetry?: { traces?: { enabled?: boolean } } }).openTelemetry?.traces?.enabled };
  };

  it('the SDK of this version has telemetry on by default (1.x)', () => {
    const { client } = make();
    const major = Number((sdk as unknown as { VERSION?: string }).VERSION?.split('.')[0] ?? NaN);
    if (major >= 1) expect((client as unknown as { openTelemetry: { traces: { enabled: boolean } } }).openTelemetry.traces.enabled).toBe(true);
  });

  for (const kind of ['create', 'create stream', 'messages.stream()'] as const) {
    it(`SDK telemetry on — ${kind}: our span + the SDK's, agentguard.* only on ours, decision points at ours`, async () => {
      const { client, log, sdkTraces } = make();
      if (kind === 'create') await client.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage() });
      else if (kind === 'create stream')
        for await (const e of await client.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage(), stream: true })) void e;
      else await client.messages.stream({ model: MODEL, max_tokens: 10, messages: userMessage() }).finalMessage();
      const all = await spans();
      const ours = all.filter((s) => s.name === OURS);
      const theirs = all.filter((s) => s.name === SDK_SPAN);
      expect(ours).toHaveLength(1);
      expect(theirs).toHaveLength(sdkTraces ? 1 : 0);
      expect(all).toHaveLength(sdkTraces ? 2 : 1);
      expect(hasAgentguard(ours[0]!)).toBe(true);
      const d = lastDecision(log)!;
      expect(d.traceId).toBe(ours[0]!.spanContext().traceId);
      expect(d.spanId).toBe(ours[0]!.spanContext().spanId);
      if (sdkTraces) {
        const sdkSpan = theirs[0]!;
        expect(hasAgentguard(sdkSpan)).toBe(false);
        expect(sdkSpan.spanContext().traceId).toBe(ours[0]!.spanContext().traceId);
        if (kind === 'messages.stream()') expect(parentId(ours[0]!)).toBe(sdkSpan.spanContext().spanId);
        else expect(parentId(sdkSpan)).toBe(ours[0]!.spanContext().spanId);
        // the request carried the trace (the SDK injects its span's context)
        const traceparent = fake.requests[0]!.headers['traceparent'] as string;
        expect(traceparent).toContain(ours[0]!.spanContext().traceId);
      }
    });
  }

  it('SDK telemetry off by client option: one span per call, ours', async () => {
    const { client, log } = make({ openTelemetry: false });
    await client.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage() });
    for await (const e of await client.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage(), stream: true })) void e;
    await client.messages.stream({ model: MODEL, max_tokens: 10, messages: userMessage() }).finalMessage();
    const all = await spans();
    expect(all.map((s) => s.name)).toEqual([OURS, OURS, OURS]);
    expect(all.every(hasAgentguard)).toBe(true);
    expect(lastDecision(log)!.spanId).toBe(all[2]!.spanContext().spanId);
  });

  it('SDK telemetry off by ANTHROPIC_OPEN_TELEMETRY=false: one span per call, ours', async () => {
    process.env.ANTHROPIC_OPEN_TELEMETRY = 'false';
    const { client } = make();
    await client.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage() });
    const all = await spans();
    expect(all.map((s) => s.name)).toEqual([OURS]);
  });

  it('a blocked create never reaches the SDK: only our span, with an error status', async () => {
    const g = makeGuard(policy({ caps: [{ amountCents: 0, window: 'per_call', action: 'block', reason: 'nothing' }] }));
    instrumentation.setConfig({ guard: g.guard, scope: { tenantId: 'acme' } });
    const client = new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 0 });
    await client.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage() }).catch(() => undefined);
    const all = await spans();
    expect(all.map((s) => s.name)).toEqual([OURS]);
    expect(fake.requests).toHaveLength(0);
  });

  it('the wrapper makes the same spans as the instrumentation', async () => {
    instrumentation.setConfig({});
    const g = makeGuard();
    const client = withAnthropicSpendGuard(new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 0 }), { guard: g.guard, scope: { tenantId: 'acme' } });
    const sdkTraces = !!(client as unknown as { openTelemetry?: { traces?: { enabled?: boolean } } }).openTelemetry?.traces?.enabled;
    await client.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage() });
    const all = await spans();
    expect(all.filter((s) => s.name === OURS)).toHaveLength(1);
    expect(all).toHaveLength(sdkTraces ? 2 : 1);
    expect(lastDecision(g.log)!.spanId).toBe(all.find((s) => s.name === OURS)!.spanContext().spanId);
  });
});
