/**
 * The real `@aws-sdk/client-bedrock-runtime` against the fake Bedrock server, guarded by
 * the instrumentation and by the explicit wrapper (same suite for both).
 */
import { createRequire } from 'node:module';
import { SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BedrockSpendGuardInstrumentation, withBedrockSpendGuard, withSpendScope } from '../../../instrumentations/bedrock/index.js';
import type { UsageTokens } from '../../../src/index.js';
import { verifyChain } from '../../../src/audit.js';
import {
  ACCESS_KEY_MARKER,
  basePolicy,
  clientConfig,
  converseInput,
  decisions,
  expectedCents,
  exportedText,
  HAIKU,
  outcomes,
  policy,
  PROMPT_MARKER,
  resetHarness,
  SECRET_MARKER,
  SONNET,
  startHarness,
  type Harness,
} from '../../helpers/bedrock.js';

const require = createRequire(import.meta.url);
type Sdk = typeof import('@aws-sdk/client-bedrock-runtime');

const SCOPE = { tenantId: 'acme', agentId: 'agent-1' };
const BIG = { inputTokens: 100_000, outputTokens: 20_000 };

let h: Harness;
let instrumentation: BedrockSpendGuardInstrumentation;
let sdk: Sdk;

beforeAll(async () => {
  h = await startHarness();
  // Enabled before the SDK is required: the require hook patches the prototype.
  instrumentation = new BedrockSpendGuardInstrumentation({ guard: h.guard, scope: SCOPE });
  sdk = require('@aws-sdk/client-bedrock-runtime') as Sdk;
});

afterAll(async () => {
  instrumentation.disable();
  await h.fake.close();
});

type Mode = 'instrumentation' | 'wrapper';

function makeClient(mode: Mode, extra: Record<string, unknown> = {}, Cls: 'client' | 'aggregated' = 'client') {
  const Ctor = Cls === 'client' ? sdk.BedrockRuntimeClient : sdk.BedrockRuntime;
  const raw = new Ctor(clientConfig(h.fake, extra));
  if (mode === 'instrumentation') {
    instrumentation.setConfig({ guard: h.guard, scope: SCOPE });
    instrumentation.enable();
    return raw;
  }
  instrumentation.disable();
  return withBedrockSpendGuard(raw, { guard: h.guard, scope: SCOPE });
}

/** Finished spans (the SimpleSpanProcessor exports asynchronously: flush first). */
async function finishedSpans() {
  await h.provider.forceFlush();
  return h.exporter.getFinishedSpans();
}

async function lastSpan() {
  const spans = await finishedSpans();
  return spans[spans.length - 1]!;
}

async function assertSettled(model: string, usage: UsageTokens) {
  const out = outcomes(h.log);
  expect(out).toHaveLength(1);
  expect(out[0]!.outcome).toBe('settled');
  expect(out[0]!.actualInputTokens).toBe(usage.inputTokens);
  expect(out[0]!.actualOutputTokens).toBe(usage.outputTokens);
  expect(out[0]!.actualCents).toBe(expectedCents(model, usage));
  expect(h.guard.pendingCount).toBe(0);
  expect(verifyChain(h.log.entries(), h.keys.publicKey)).toEqual({ ok: true, count: h.log.entries().length });
}

describe.each<Mode>(['instrumentation', 'wrapper'])('bedrock via %s', (mode) => {
  beforeEach(async () => {
    await h.provider.forceFlush();
    resetHarness(h);
    h.fake.behaviour.usage = { ...BIG };
  });

  it('allow: Converse passes, settles from usage, span carries GenAI and decision attributes', async () => {
    const client = makeClient(mode);
    expect(client).toBeInstanceOf(sdk.BedrockRuntimeClient);
    const out = await client.send(new sdk.ConverseCommand(converseInput(SONNET)));
    expect(out.output?.message?.content?.[0]?.text).toContain('fake Bedrock');
    expect(out.usage?.inputTokens).toBe(100_000);
    expect(out.$metadata.httpStatusCode).toBe(200);
    await assertSettled(SONNET, BIG);
    const [d] = decisions(h.log);
    expect(d!.action).toBe('allow');
    const span = await lastSpan();
    expect(span.name).toBe(`chat ${SONNET}`);
    const a = span.attributes;
    expect(a['gen_ai.provider.name']).toBe('aws.bedrock');
    expect(a['gen_ai.operation.name']).toBe('chat');
    expect(a['gen_ai.request.model']).toBe(SONNET);
    expect(a['gen_ai.response.model']).toBe(SONNET);
    expect(a['gen_ai.request.max_tokens']).toBe(20_000);
    expect(a['gen_ai.usage.input_tokens']).toBe(100_000);
    expect(a['gen_ai.usage.output_tokens']).toBe(20_000);
    expect(a['agentguard.decision.id']).toBe(d!.decisionId);
    expect(a['agentguard.decision.action']).toBe('allow');
    expect(a['agentguard.decision.entry_hash']).toBe(h.log.entries()[0]!.entryHash);
    expect(a['agentguard.decision.sequence']).toBe(0);
    expect(a['agentguard.decision.signer']).toBe(h.log.entries()[0]!.signerFingerprint);
    expect(a['agentguard.policy.id']).toBe('bedrock-test');
    expect(typeof a['agentguard.cost.projected_cents']).toBe('number');
    expect(a['agentguard.cost.actual_cents']).toBe(expectedCents(SONNET, BIG));
    expect(d!.traceId).toBe(span.spanContext().traceId);
    expect(d!.spanId).toBe(span.spanContext().spanId);
  });

  it('Converse cache tokens: inputTokens is normalized to include cache read and write', async () => {
    h.fake.behaviour.usage = { inputTokens: 100_000, outputTokens: 1000, cachedInputTokens: 60_000, cacheWriteTokens: 10_000 };
    const client = makeClient(mode);
    const out = await client.send(new sdk.ConverseCommand(converseInput(SONNET)));
    expect(out.usage?.inputTokens).toBe(30_000); // Bedrock reports uncached input apart
    const usage = { inputTokens: 100_000, outputTokens: 1000, cachedInputTokens: 60_000, cacheWriteTokens: 10_000 };
    await assertSettled(SONNET, usage);
    const a = (await lastSpan()).attributes;
    expect(a['gen_ai.usage.cache_read.input_tokens']).toBe(60_000);
    expect(a['gen_ai.usage.cache_creation.input_tokens']).toBe(10_000);
  });

  it('downgrade: rewrites modelId on a new command; the caller command is untouched', async () => {
    resetHarness(h, [policy({ caps: [{ amountCents: 0, window: 'per_call', action: 'downgrade', downgradeTo: HAIKU, reason: 'too big for sonnet' }] })]);
    h.fake.behaviour.usage = { inputTokens: 100, outputTokens: 8 };
    const client = makeClient(mode);
    const input = converseInput(SONNET, { inferenceConfig: { maxTokens: 8 } });
    const command = new sdk.ConverseCommand(input);
    await client.send(command);
    expect(h.fake.requests).toHaveLength(1);
    expect(decodeURIComponent(h.fake.requests[0]!.path)).toBe(`/model/${HAIKU}/converse`);
    expect(command.input.modelId).toBe(SONNET);
    expect(command.input).toBe(input);
    const [d] = decisions(h.log);
    expect(d!.action).toBe('downgrade');
    expect(d!.modelResolved).toBe(HAIKU);
    expect((await lastSpan()).attributes['agentguard.decision.model_resolved']).toBe(HAIKU);
    await assertSettled(HAIKU, { inputTokens: 100, outputTokens: 8 });
  });

  it('block: throws AgentGuardBlockedError before any byte goes out', async () => {
    resetHarness(h, [policy({ caps: [{ amountCents: 0, window: 'per_call', action: 'block', reason: 'no big calls' }] })]);
    const client = makeClient(mode);
    const err = await client.send(new sdk.ConverseCommand(converseInput(SONNET))).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AgentGuardBlockedError');
    expect(h.fake.requests).toHaveLength(0);
    expect(h.guard.pendingCount).toBe(0);
    const span = await lastSpan();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['agentguard.decision.action']).toBe('block');
    // Streams too.
    const err2 = await client
      .send(
        new sdk.InvokeModelWithResponseStreamCommand({
          modelId: SONNET,
          body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, messages: [] }),
        }),
      )
      .catch((e: unknown) => e);
    expect((err2 as Error).name).toBe('AgentGuardBlockedError');
    expect(h.fake.requests).toHaveLength(0);
  });

  it('shadow: a policy in shadow mode changes nothing', async () => {
    resetHarness(h, [
      policy({ mode: 'shadow', caps: [{ amountCents: 0, window: 'per_call', action: 'downgrade', downgradeTo: HAIKU, reason: 'would downgrade' }] }),
    ]);
    h.fake.behaviour.usage = { ...BIG };
    const client = makeClient(mode);
    await client.send(new sdk.ConverseCommand(converseInput(SONNET)));
    expect(decodeURIComponent(h.fake.requests[0]!.path)).toBe(`/model/${SONNET}/converse`);
    const [d] = decisions(h.log);
    expect(d!.action).toBe('downgrade'); // what it would have done, in shadow mode
    expect(d!.enforcementMode).toBe('shadow');
    expect(d!.modelResolved).toBe(SONNET);
    await assertSettled(SONNET, BIG);
  });

  it('capability: blocks a call without the required claim; the per-call option and withSpendScope lift it', async () => {
    resetHarness(h, [{ ...basePolicy(), requiredCapability: 'payment_execute' }]);
    const client = makeClient(mode);
    const err = await client.send(new sdk.ConverseCommand(converseInput(SONNET))).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AgentGuardBlockedError');
    expect(h.fake.requests).toHaveLength(0);
    await client.send(new sdk.ConverseCommand(converseInput(SONNET)), {
      agentguard: { capabilityClaim: 'payment_execute', scope: { taskId: 'task-9' } },
    } as never);
    expect(h.fake.requests).toHaveLength(1);
    await withSpendScope({ capabilityClaim: 'payment_execute' }, () => client.send(new sdk.ConverseCommand(converseInput(SONNET))));
    expect(h.fake.requests).toHaveLength(2);
    const ds = decisions(h.log);
    expect(ds.map((d) => d.action)).toEqual(['block', 'allow', 'allow']);
    expect(ds[1]!.actor).toMatchObject({ tenantId: 'acme', agentId: 'agent-1', taskId: 'task-9' });
  });

  it('ConverseStream: wrapped lazily, events intact, settled at the end from metadata usage', async () => {
    h.fake.behaviour.streamChunks = 4;
    const client = makeClient(mode);
    const out = await client.send(new sdk.ConverseStreamCommand(converseInput(SONNET)));
    expect(h.guard.pendingCount).toBe(1); // nothing read yet
    const kinds: string[] = [];
    let text = '';
    for await (const event of out.stream!) {
      kinds.push(Object.keys(event).filter((k) => (event as unknown as Record<string, unknown>)[k] !== undefined)[0]!);
      text += event.contentBlockDelta?.delta?.text ?? '';
    }
    expect(kinds).toEqual([
      'messageStart',
      'contentBlockDelta',
      'contentBlockDelta',
      'contentBlockDelta',
      'contentBlockDelta',
      'contentBlockStop',
      'messageStop',
      'metadata',
    ]);
    expect(text).toBe('part 1 part 2 part 3 part 4 ');
    await assertSettled(SONNET, BIG);
    expect((await lastSpan()).attributes['agentguard.cost.actual_cents']).toBe(expectedCents(SONNET, BIG));
  });

  it('stream abort: breaking out early releases the reservation', async () => {
    h.fake.behaviour.streamChunks = 20;
    h.fake.behaviour.chunkDelayMs = 5;
    const client = makeClient(mode);
    const out = await client.send(new sdk.ConverseStreamCommand(converseInput(SONNET)));
    for await (const event of out.stream!) {
      if (event.contentBlockDelta) break;
    }
    expect(h.guard.pendingCount).toBe(0);
    const [o] = outcomes(h.log);
    expect(o!.outcome).toBe('released');
    expect(o!.reasons[0]).toBe('released: StreamAbandoned');
    expect((await lastSpan()).status.code).toBe(SpanStatusCode.ERROR);
  });

  it('usage not reported, stream abandoned: charged the input estimate and the streamed bytes at 3 bytes/token (StreamAbandoned)', async () => {
    h.knobs.omitUsage = true;
    h.fake.behaviour.streamChunks = 20;
    h.fake.behaviour.chunkDelayMs = 5;
    const client = makeClient(mode);
    const out = await client.send(new sdk.ConverseStreamCommand(converseInput(SONNET)));
    let text = '';
    let deltas = 0;
    for await (const event of out.stream!) {
      text += event.contentBlockDelta?.delta?.text ?? '';
      if (event.contentBlockDelta && ++deltas === 3) break;
    }
    expect(h.guard.pendingCount).toBe(0);
    const [d] = decisions(h.log);
    const [o] = outcomes(h.log);
    expect(Buffer.byteLength(text)).toBeGreaterThan(3);
    expect(o).toMatchObject({ outcome: 'released', actualInputTokens: d!.estimatedInputTokens, actualOutputTokens: Math.ceil(Buffer.byteLength(text) / 3) });
    expect(o!.reasons[0]).toBe('released: StreamAbandoned');
  });

  it('stream error: a modelStreamErrorException mid-stream releases with the error', async () => {
    h.knobs.streamErrorAfterChunks = 2;
    const client = makeClient(mode);
    const out = await client.send(
      new sdk.InvokeModelWithResponseStreamCommand({
        modelId: HAIKU,
        body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, messages: [{ role: 'user', content: PROMPT_MARKER }] }),
      }),
    );
    const err = await (async () => {
      for await (const _ of out.body!) void _;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(h.guard.pendingCount).toBe(0);
    const [o] = outcomes(h.log);
    expect(o!.outcome).toBe('released');
    // Input was reported by message_start before the failure: it is charged.
    expect(o!.actualInputTokens).toBe(100_000);
  });

  it('provider error: a 500 rejects; the attempt, which may have run, is charged its projection', async () => {
    h.fake.behaviour.failWithStatus = 500;
    const client = makeClient(mode);
    const err = await client.send(new sdk.ConverseCommand(converseInput(SONNET))).catch((e: unknown) => e);
    expect((err as Error).name).toBe('InternalServerException');
    expect(h.guard.pendingCount).toBe(0);
    const [o] = outcomes(h.log);
    expect(o!.outcome).toBe('released');
    expect(o!.actualCents).toBe(decisions(h.log)[0]!.projectedCents);
    expect(o!.unansweredAttempts).toBe(1);
    expect((await lastSpan()).status.code).toBe(SpanStatusCode.ERROR);
  });

  it('concurrency: 50 parallel calls against a daily cap, exactly the affordable number pass', async () => {
    // Find the projected cost of one call, then allow exactly 7 of them.
    const probe = makeClient(mode);
    await probe.send(new sdk.ConverseCommand(converseInput(SONNET, { inferenceConfig: { maxTokens: 4000 } })));
    const projected = decisions(h.log)[0]!.projectedCents;
    expect(projected).toBeGreaterThan(1);
    resetHarness(h, [policy({ caps: [{ amountCents: projected * 7, window: 'per_day', action: 'block', reason: 'daily budget' }] })]);
    h.fake.behaviour.usage = { inputTokens: 10, outputTokens: 10 };
    h.fake.behaviour.delayMs = 150; // every decision happens while the first calls are in flight
    const client = makeClient(mode);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => client.send(new sdk.ConverseCommand(converseInput(SONNET, { inferenceConfig: { maxTokens: 4000 } })))),
    );
    const passed = results.filter((r) => r.status === 'fulfilled').length;
    const blocked = results.filter((r) => r.status === 'rejected' && (r.reason as Error).name === 'AgentGuardBlockedError').length;
    expect(passed).toBe(7);
    expect(blocked).toBe(43);
    expect(h.fake.requests).toHaveLength(7);
    expect(h.guard.pendingCount).toBe(0);
    const maxAfter = Math.max(...decisions(h.log).map((d) => d.windowSpendAfter));
    expect(maxAfter).toBeLessThanOrEqual(projected * 7);
  });

  it('InvokeModel per family: usage from the body (Anthropic with cache, Nova, Titan, Meta) or the metering headers (Mistral)', async () => {
    const cases: { model: string; body: unknown; usage: UsageTokens; max: number }[] = [
      {
        model: HAIKU,
        body: { anthropic_version: 'bedrock-2023-05-31', max_tokens: 300, messages: [{ role: 'user', content: PROMPT_MARKER }] },
        usage: { inputTokens: 100_000, outputTokens: 300, cachedInputTokens: 50_000, cacheWriteTokens: 0 },
        max: 300,
      },
      {
        model: 'amazon.nova-lite-v1:0',
        body: { schemaVersion: 'messages-v1', messages: [{ role: 'user', content: [{ text: PROMPT_MARKER }] }], inferenceConfig: { max_new_tokens: 301 } },
        usage: { inputTokens: 100_000, outputTokens: 301, cachedInputTokens: 0, cacheWriteTokens: 0 },
        max: 301,
      },
      {
        model: 'amazon.titan-text-express-v1',
        body: { inputText: PROMPT_MARKER, textGenerationConfig: { maxTokenCount: 302 } },
        usage: { ...BIG, outputTokens: 302 },
        max: 302,
      },
      { model: 'meta.llama3-70b-instruct-v1:0', body: { prompt: PROMPT_MARKER, max_gen_len: 303 }, usage: { ...BIG, outputTokens: 303 }, max: 303 },
      { model: 'mistral.mistral-large-2402-v1:0', body: { prompt: PROMPT_MARKER, max_tokens: 304 }, usage: { ...BIG, outputTokens: 304 }, max: 304 },
    ];
    for (const c of cases) {
      resetHarness(h);
      h.fake.behaviour.usage = { ...c.usage };
      const client = makeClient(mode);
      const out = await client.send(new sdk.InvokeModelCommand({ modelId: c.model, body: JSON.stringify(c.body), contentType: 'application/json' }));
      expect(out.body.transformToString()).toContain('fake Bedrock'); // the caller can still read the body
      await assertSettled(c.model, c.usage);
      expect((await lastSpan()).attributes['gen_ai.request.max_tokens']).toBe(c.max);
    }
  });

  it('InvokeModelWithResponseStream per family: settled from the stream (family usage or invocationMetrics)', async () => {
    const cases: { model: string; body: unknown }[] = [
      { model: HAIKU, body: { anthropic_version: 'bedrock-2023-05-31', max_tokens: 300, messages: [{ role: 'user', content: PROMPT_MARKER }] } },
      {
        model: 'us.amazon.nova-lite-v1:0',
        body: { messages: [{ role: 'user', content: [{ text: PROMPT_MARKER }] }], inferenceConfig: { max_new_tokens: 300 } },
      },
      { model: 'amazon.titan-text-express-v1', body: { inputText: PROMPT_MARKER, textGenerationConfig: { maxTokenCount: 300 } } },
      { model: 'meta.llama3-70b-instruct-v1:0', body: { prompt: PROMPT_MARKER, max_gen_len: 300 } },
      { model: 'mistral.mistral-large-2402-v1:0', body: { prompt: PROMPT_MARKER, max_tokens: 300 } },
    ];
    // Within the bound of 300 every case sends: usage beyond it would be capped.
    const usage = { ...BIG, outputTokens: 300 };
    for (const c of cases) {
      resetHarness(h);
      h.fake.behaviour.usage = { ...usage };
      const client = makeClient(mode);
      const out = await client.send(new sdk.InvokeModelWithResponseStreamCommand({ modelId: c.model, body: new TextEncoder().encode(JSON.stringify(c.body)) }));
      let chunks = 0;
      for await (const event of out.body!) {
        expect(event.chunk?.bytes).toBeInstanceOf(Uint8Array);
        chunks++;
      }
      expect(chunks).toBeGreaterThan(1);
      await assertSettled(c.model, usage);
    }
  });

  it('usage not reported, completed response: released charging the projection (UsageNotReported)', async () => {
    h.knobs.omitUsage = true;
    const client = makeClient(mode);
    await client.send(
      new sdk.InvokeModelCommand({ modelId: HAIKU, body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 1000, messages: [] }) }),
    );
    const [d] = decisions(h.log);
    const [o] = outcomes(h.log);
    expect(o!.outcome).toBe('released');
    expect(o!.reasons[0]).toBe('released: UsageNotReported');
    expect(o!.actualInputTokens).toBe(d!.estimatedInputTokens);
    expect(o!.actualOutputTokens).toBe(1000);
    expect(o!.actualCents).toBe(d!.projectedCents);
    expect(h.guard.pendingCount).toBe(0);
  });

  // Releases before ~3.6xx export only the four guarded commands.
  const OtherCommand = (createRequire(import.meta.url)('@aws-sdk/client-bedrock-runtime') as Record<string, unknown>).GetAsyncInvokeCommand as
    (new (input: unknown) => object) | undefined;

  it.skipIf(!OtherCommand)('other commands pass through unguarded', async () => {
    const client = makeClient(mode);
    const err = await client
      .send(new OtherCommand!({ invocationArn: 'arn:aws:bedrock:us-east-1:123456789012:async-invoke/abc' }) as never)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error); // the fake has no such route
    expect(h.fake.requests).toHaveLength(1);
    expect(h.log.entries()).toHaveLength(0);
    expect(await finishedSpans()).toHaveLength(0);
  });

  it('callback form of send keeps working', async () => {
    const client = makeClient(mode);
    const out = await new Promise<unknown>((resolve, reject) => {
      client.send(new sdk.ConverseCommand(converseInput(SONNET)), (err: unknown, data?: unknown) => (err ? reject(err) : resolve(data)));
    });
    expect((out as { stopReason?: string }).stopReason).toBe('end_turn');
    await assertSettled(SONNET, BIG);
  });

  it('aggregated BedrockRuntime methods (converse, invokeModel) are guarded', async () => {
    const client = makeClient(mode, {}, 'aggregated') as InstanceType<Sdk['BedrockRuntime']>;
    expect(client).toBeInstanceOf(sdk.BedrockRuntime);
    await client.converse(converseInput(SONNET));
    await assertSettled(SONNET, BIG);
    resetHarness(h, [policy({ caps: [{ amountCents: 0, window: 'per_call', action: 'block', reason: 'no' }] })]);
    const blocked = makeClient(mode, {}, 'aggregated') as InstanceType<Sdk['BedrockRuntime']>;
    const err = await blocked.converse(converseInput(SONNET)).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AgentGuardBlockedError');
    expect(h.fake.requests).toHaveLength(0);
  });

  it('a command object can be sent twice, and cacheMiddleware clients report each call', async () => {
    const client = makeClient(mode, { cacheMiddleware: true });
    const cmd = new sdk.InvokeModelCommand({ modelId: 'mistral.mistral-large-2402-v1:0', body: JSON.stringify({ prompt: 'x', max_tokens: 20_000 }) });
    await client.send(cmd);
    h.fake.behaviour.usage = { inputTokens: 7, outputTokens: 3 };
    await client.send(cmd);
    const out = outcomes(h.log);
    expect(out.map((o) => [o.outcome, o.actualInputTokens, o.actualOutputTokens])).toEqual([
      ['settled', 100_000, 20_000],
      ['settled', 7, 3],
    ]);
  });

  it('inference-profile ids and ARNs are priced', async () => {
    const client = makeClient(mode);
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0';
    await client.send(new sdk.ConverseCommand(converseInput(arn)));
    await assertSettled(arn, BIG);
    expect(decodeURIComponent(h.fake.requests[0]!.path)).toBe(`/model/${arn}/converse`);
  });

  it('no prompt text or AWS credential reaches a span or the log', async () => {
    const client = makeClient(mode);
    await client.send(new sdk.ConverseCommand(converseInput(SONNET)));
    const s = await client.send(new sdk.ConverseStreamCommand(converseInput(SONNET)));
    for await (const _ of s.stream!) void _;
    await client.send(
      new sdk.InvokeModelCommand({
        modelId: HAIKU,
        body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 10, messages: [{ role: 'user', content: PROMPT_MARKER }] }),
      }),
    );
    h.fake.behaviour.failWithStatus = 400;
    await client.send(new sdk.ConverseCommand(converseInput(SONNET))).catch(() => undefined);
    resetHarnessKeepLog();
    const text = exportedText(await finishedSpans(), h.log.entries());
    expect((await finishedSpans()).length).toBeGreaterThanOrEqual(4);
    expect(text).not.toContain(PROMPT_MARKER);
    expect(text).not.toContain(ACCESS_KEY_MARKER);
    expect(text).not.toContain(SECRET_MARKER);
    // The request did carry the marker to the provider: the grep is meaningful.
    expect(JSON.stringify(h.fake.requests.map((r) => r.body))).toContain(PROMPT_MARKER);
  });
});

function resetHarnessKeepLog() {
  h.fake.behaviour = {};
}
