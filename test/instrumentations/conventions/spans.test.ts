/**
 * The spans of allowed, downgraded, blocked, streamed and failed calls, for
 * the three providers' real SDKs against the fake provider, exported by the
 * real OpenTelemetry SDK and held against the GenAI client-inference
 * conventions' Required and Conditionally Required attributes
 * (`genAiSpanProblems`), plus the response attributes once a response arrived.
 */
import Anthropic from '@anthropic-ai/sdk';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFakeProvider, type FakeProvider } from '../../../fake-provider/index.js';
import { withAnthropicSpendGuard } from '../../../instrumentations/anthropic/index.js';
import { withBedrockSpendGuard } from '../../../instrumentations/bedrock/index.js';
import { bedrockServerOf } from '../../../instrumentations/bedrock/server.js';
import { PACKAGE_VERSION } from '../../../instrumentations/common/version.js';
import { withSpendGuard } from '../../../instrumentations/openai/index.js';
import {
  generateKeypair,
  InMemoryDecisionLogStore,
  parsePolicy,
  SpendGuard,
  type DecisionLogEntry,
  type SpendCap,
  type SpendDecision,
} from '../../../src/index.js';
import { genAiSpanProblems, type ExpectedCall } from '../../helpers/genai-conventions.js';

const PROMPT = 'CONVENTIONS-PROMPT-MARKER-5d1e';
const KEY = 'sk-conventions-test-key';
const SCOPE = { tenantId: 't1' };

const exporter = new InMemorySpanExporter();
let fake: FakeProvider;
let port: number;

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
  fake = createFakeProvider();
  await fake.listen();
  port = Number(new URL(fake.url).port);
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  exporter.reset();
});

/** A guard whose one policy allows, downgrades or blocks every call of `model`. */
function guardFor(model: string, action: 'allow' | 'downgrade' | 'block', cheap: string): { guard: SpendGuard; log: InMemoryDecisionLogStore } {
  const cap: Partial<SpendCap> =
    action === 'allow'
      ? { amountCents: 1_000_000, window: 'per_day', action: 'block' }
      : { amountCents: 0, window: 'per_call', action, ...(action === 'downgrade' ? { downgradeTo: cheap } : {}) };
  const log = new InMemoryDecisionLogStore();
  const policy = parsePolicy({
    id: 'conventions',
    name: 'conventions',
    scope: SCOPE,
    mode: 'enforce',
    version: 1,
    effectiveFrom: '2026-01-01T00:00:00Z',
    // Only the expensive model is capped: the downgrade target passes.
    caps: [{ reason: 'test', models: [model], ...cap }],
  });
  return { guard: new SpendGuard({ signingKeys: generateKeypair(), logStore: log, policies: [policy] }), log };
}

/** Our one span of the call, after any asynchronous settlement. */
async function ourSpan(): Promise<ReadableSpan> {
  const end = Date.now() + 2000;
  for (;;) {
    const ours = exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name.startsWith('agentguard-spend'));
    if (ours.length) {
      expect(ours).toHaveLength(1);
      return ours[0]!;
    }
    if (Date.now() > end) throw new Error('no span of ours was exported');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function expectConforms(span: ReadableSpan, call: ExpectedCall, scope: string): void {
  expect(genAiSpanProblems(span, call)).toEqual([]);
  expect(span.instrumentationScope).toMatchObject({ name: scope, version: PACKAGE_VERSION });
  // Nothing of the request, the key or a provider message goes on the span.
  const text = JSON.stringify({ name: span.name, attributes: span.attributes, events: span.events, status: span.status });
  expect(text).not.toContain(PROMPT);
  expect(text).not.toContain(KEY);
  expect(text).not.toContain('fake provider failure');
  for (const e of span.events) expect(e.attributes?.['exception.message']).toBeUndefined();
}

type Scenario = 'allow' | 'downgrade' | 'block' | 'stream' | 'failure';
const SCENARIOS: Scenario[] = ['allow', 'downgrade', 'block', 'stream', 'failure'];

interface ProviderCase {
  name: string;
  provider: ExpectedCall['provider'];
  scope: string;
  model: string;
  cheap: string;
  /** The error class a 500 from the provider surfaces as. */
  failure: string;
  openaiApiType?: ExpectedCall['openaiApiType'];
  /** Makes the call; reads a stream to its end. */
  call(guard: SpendGuard, model: string, stream: boolean): Promise<void>;
}

const CASES: ProviderCase[] = [
  {
    name: 'openai chat.completions',
    provider: 'openai',
    scope: 'agentguard-spend/instrumentation-openai',
    model: 'gpt-4o',
    cheap: 'gpt-4o-mini',
    failure: 'InternalServerError',
    openaiApiType: 'chat_completions',
    async call(guard, model, stream) {
      const client = withSpendGuard(new OpenAI({ apiKey: KEY, baseURL: `${fake.url}/v1`, maxRetries: 0 }), { guard, scope: SCOPE });
      const messages = [{ role: 'user' as const, content: PROMPT }];
      if (!stream) return void (await client.chat.completions.create({ model, messages, max_tokens: 100 }));
      for await (const _ of await client.chat.completions.create({ model, messages, max_tokens: 100, stream: true }));
    },
  },
  {
    name: 'openai responses',
    provider: 'openai',
    scope: 'agentguard-spend/instrumentation-openai',
    model: 'gpt-4o',
    cheap: 'gpt-4o-mini',
    failure: 'InternalServerError',
    openaiApiType: 'responses',
    async call(guard, model, stream) {
      const client = withSpendGuard(new OpenAI({ apiKey: KEY, baseURL: `${fake.url}/v1`, maxRetries: 0 }), { guard, scope: SCOPE });
      if (!stream) return void (await client.responses.create({ model, input: PROMPT, max_output_tokens: 100 }));
      for await (const _ of await client.responses.create({ model, input: PROMPT, max_output_tokens: 100, stream: true }));
    },
  },
  {
    name: 'anthropic messages',
    provider: 'anthropic',
    scope: 'agentguard-spend/instrumentation-anthropic',
    model: 'claude-sonnet-4-5',
    cheap: 'claude-haiku-4-5',
    failure: 'InternalServerError',
    async call(guard, model, stream) {
      const raw = new Anthropic({ apiKey: KEY, baseURL: fake.url, maxRetries: 0, openTelemetry: false } as ConstructorParameters<typeof Anthropic>[0]);
      const client = withAnthropicSpendGuard(raw, { guard, scope: SCOPE });
      const messages = [{ role: 'user' as const, content: PROMPT }];
      if (!stream) return void (await client.messages.create({ model, max_tokens: 100, messages }));
      for await (const _ of await client.messages.create({ model, max_tokens: 100, messages, stream: true }));
    },
  },
  {
    name: 'bedrock converse',
    provider: 'aws.bedrock',
    scope: 'agentguard-spend/instrumentation-bedrock',
    model: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
    cheap: 'anthropic.claude-3-haiku-20240307-v1:0',
    failure: 'InternalServerException',
    async call(guard, model, stream) {
      const client = withBedrockSpendGuard(bedrockClient(), { guard, scope: SCOPE });
      const input = { modelId: model, messages: [{ role: 'user' as const, content: [{ text: PROMPT }] }], inferenceConfig: { maxTokens: 100 } };
      if (!stream) return void (await client.send(new ConverseCommand(input)));
      const out = await client.send(new ConverseStreamCommand(input));
      for await (const _ of out.stream!);
    },
  },
];

function bedrockClient(extra: Record<string, unknown> = {}): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: fake.url,
    credentials: { accessKeyId: 'AKIDCONVENTIONS', secretAccessKey: 'secret' },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
    ...extra,
  });
}

describe.each(CASES)('GenAI conventions: $name', (c) => {
  it.each(SCENARIOS)('%s', async (scenario) => {
    const action = scenario === 'downgrade' || scenario === 'block' ? scenario : 'allow';
    const { guard, log } = guardFor(c.model, action, c.cheap);
    if (scenario === 'failure') fake.behaviour = { failWithStatus: 500 };
    const thrown = await c.call(guard, c.model, scenario === 'stream').then(
      () => undefined,
      (e: unknown) => e,
    );
    const sentModel = scenario === 'downgrade' ? c.cheap : c.model;
    const errorType = scenario === 'block' ? 'AgentGuardBlockedError' : scenario === 'failure' ? c.failure : undefined;
    if (scenario === 'block') expect((thrown as Error).name).toBe('AgentGuardBlockedError');
    else if (scenario === 'failure') expect(thrown).toBeInstanceOf(Error);
    else expect(thrown).toBeUndefined();
    // What the provider received: nothing on a block, the sent model otherwise.
    expect(fake.requests).toHaveLength(scenario === 'block' ? 0 : 1);
    const span = await ourSpan();
    expectConforms(
      span,
      {
        provider: c.provider,
        operation: 'chat',
        sentModel,
        requestedModel: c.model,
        stream: scenario === 'stream',
        ...(errorType ? { errorType } : {}),
        responded: scenario === 'allow' || scenario === 'downgrade' || scenario === 'stream',
        serverAddress: '127.0.0.1',
        ...(c.openaiApiType ? { openaiApiType: c.openaiApiType } : {}),
      },
      c.scope,
    );
    expect(span.attributes['server.port']).toBe(port);
    expect(span.attributes['agentguard.decision.model_requested']).toBe(c.model);
    // The span is the one the decision signed.
    const decision = (log.entries() as DecisionLogEntry<SpendDecision>[]).find((e) => e.decision.entryType === 'decision')!.decision;
    expect([decision.traceId, decision.spanId, decision.modelResolved]).toEqual([span.spanContext().traceId, span.spanContext().spanId, sentModel]);
    if (scenario === 'downgrade') expect(span.attributes['agentguard.decision.action']).toBe('downgrade');
  });
});

describe('GenAI conventions: response attributes read from each provider', () => {
  it('finish reasons and ids are the provider’s own', async () => {
    const expectations: [ProviderCase, boolean, unknown, RegExp][] = [
      [CASES[0]!, false, ['stop'], /^chatcmpl-/],
      [CASES[0]!, true, ['stop'], /^chatcmpl-/],
      [CASES[1]!, false, ['stop'], /^resp_/],
      [CASES[1]!, true, ['stop'], /^resp_/],
      [CASES[2]!, false, ['end_turn'], /^msg_/],
      [CASES[2]!, true, ['end_turn'], /^msg_/],
      [CASES[3]!, false, ['end_turn'], /^fake-request-id$/],
      [CASES[3]!, true, ['end_turn'], /^fake-request-id$/],
    ];
    for (const [c, stream, reasons, id] of expectations) {
      exporter.reset();
      const { guard } = guardFor(c.model, 'allow', c.cheap);
      await c.call(guard, c.model, stream);
      const span = await ourSpan();
      expect([c.name, stream, span.attributes['gen_ai.response.finish_reasons']]).toEqual([c.name, stream, reasons]);
      expect(span.attributes['gen_ai.response.id'], `${c.name} stream=${stream}`).toMatch(id);
    }
  });

  it('Bedrock InvokeModel: the model body’s id and stop reason', async () => {
    const { guard } = guardFor(CASES[3]!.model, 'allow', CASES[3]!.cheap);
    const client = withBedrockSpendGuard(bedrockClient(), { guard, scope: SCOPE });
    const body = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] });
    await client.send(new InvokeModelCommand({ modelId: CASES[3]!.model, body, contentType: 'application/json' }));
    const span = await ourSpan();
    expect(span.attributes).toMatchObject({
      'gen_ai.response.id': 'msg_fake',
      'gen_ai.response.finish_reasons': ['end_turn'],
      'gen_ai.operation.name': 'chat',
    });
    expect('gen_ai.request.stream' in span.attributes).toBe(false);
  });
});

describe('GenAI conventions: streams', () => {
  it('Bedrock InvokeModelWithResponseStream: stream flag, the message id and stop reason from its chunks', async () => {
    const { guard } = guardFor(CASES[3]!.model, 'allow', CASES[3]!.cheap);
    const client = withBedrockSpendGuard(bedrockClient(), { guard, scope: SCOPE });
    const body = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] });
    const out = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: CASES[3]!.model, body, contentType: 'application/json' }));
    for await (const _ of out.body!);
    const span = await ourSpan();
    expectConforms(
      span,
      { provider: 'aws.bedrock', operation: 'chat', sentModel: CASES[3]!.model, stream: true, responded: true, serverAddress: '127.0.0.1' },
      CASES[3]!.scope,
    );
    expect(span.attributes).toMatchObject({ 'gen_ai.response.id': 'msg_fake', 'gen_ai.response.finish_reasons': ['end_turn'] });
  });

  it('a stream the caller abandons: its generation finished with `error`, error.type StreamAbandoned', async () => {
    fake.behaviour = { streamChunks: 5 };
    const { guard } = guardFor('gpt-4o', 'allow', 'gpt-4o-mini');
    const client = withSpendGuard(new OpenAI({ apiKey: KEY, baseURL: `${fake.url}/v1`, maxRetries: 0 }), { guard, scope: SCOPE });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: PROMPT }], max_tokens: 100, stream: true });
    for await (const _ of stream) break;
    const span = await ourSpan();
    expectConforms(
      span,
      {
        provider: 'openai',
        operation: 'chat',
        sentModel: 'gpt-4o',
        stream: true,
        errorType: 'StreamAbandoned',
        serverAddress: '127.0.0.1',
        openaiApiType: 'chat_completions',
      },
      CASES[0]!.scope,
    );
    expect(span.attributes['gen_ai.response.finish_reasons']).toEqual(['error']);
  });
});

describe('GenAI conventions: the guard itself fails', () => {
  class StoreDownError extends Error {
    override name = 'StoreDownError';
  }
  const openai = CASES[0]!;

  it('deciding fails: error.type and an exception with the class only, nothing sent', async () => {
    const { guard } = guardFor(openai.model, 'allow', openai.cheap);
    guard.decide = () => Promise.reject(new StoreDownError(`store at redis://user:pw@host refused ${PROMPT}`));
    const err = await openai.call(guard, openai.model, false).catch((e: unknown) => e);
    expect((err as Error).name).toBe('StoreDownError');
    expect(fake.requests).toHaveLength(0);
    const span = await ourSpan();
    expectConforms(
      span,
      {
        provider: 'openai',
        operation: 'chat',
        sentModel: openai.model,
        errorType: 'StoreDownError',
        serverAddress: '127.0.0.1',
        openaiApiType: 'chat_completions',
      },
      openai.scope,
    );
    expect(JSON.stringify(span.events)).not.toContain('redis://');
  });

  it('settling fails after a good response: an exception event, but no error.type and no ERROR status', async () => {
    const { guard } = guardFor(openai.model, 'allow', openai.cheap);
    guard.settle = () => Promise.reject(new StoreDownError(`settle failed ${PROMPT}`));
    await openai.call(guard, openai.model, false);
    const span = await ourSpan();
    expectConforms(
      span,
      { provider: 'openai', operation: 'chat', sentModel: openai.model, responded: true, serverAddress: '127.0.0.1', openaiApiType: 'chat_completions' },
      openai.scope,
    );
    expect(span.events.map((e) => [e.name, e.attributes?.['exception.type']])).toEqual([['exception', 'StoreDownError']]);
  });
});

describe('server.address of a Bedrock client without a custom endpoint', () => {
  it('the regional endpoint its rule set gives (FIPS included), port 443', async () => {
    const plain = new BedrockRuntimeClient({ region: 'eu-central-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    expect(await bedrockServerOf(plain)).toEqual({ address: 'bedrock-runtime.eu-central-1.amazonaws.com', port: 443 });
    const fips = new BedrockRuntimeClient({ region: 'us-east-1', useFipsEndpoint: true, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    expect(await bedrockServerOf(fips)).toEqual({ address: 'bedrock-runtime-fips.us-east-1.amazonaws.com', port: 443 });
    expect(await bedrockServerOf({})).toBeUndefined();
  });
});
