import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createBedrockRoutes, FakeProvider, type BedrockFakeKnobs } from '../../fake-provider/index.js';
import {
  generateKeypair,
  InMemoryDecisionLogStore,
  parsePolicies,
  SpendGuard,
  type SpendDecision,
  type SpendPolicy,
  type UsageTokens,
  type DecisionLogEntry,
} from '../../src/index.js';
import { nanocentsToCentsCeil, GenaiPricesTable, usageNanocents } from '../../src/engine/pricing.js';

/** Unique strings that must never appear in anything exported (spans, log). */
export const PROMPT_MARKER = 'PROMPT-MARKER-7f3a9c-never-export';
export const ACCESS_KEY_MARKER = 'AKIDTESTMARKER42';
export const SECRET_MARKER = 'SECRET-MARKER-b1e2-never-export';

export const SONNET = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
export const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';

let tracing: { exporter: InMemorySpanExporter; provider: TracerProvider } | undefined;

/** A global tracer provider with an in-memory exporter (installed once per worker). */
export function setupTracing() {
  if (!tracing) {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    tracing = { exporter, provider };
  }
  return tracing;
}

export interface Harness {
  fake: FakeProvider;
  knobs: BedrockFakeKnobs;
  log: InMemoryDecisionLogStore;
  guard: SpendGuard;
  exporter: InMemorySpanExporter;
  provider: TracerProvider;
  keys: ReturnType<typeof generateKeypair>;
}

export async function startHarness(): Promise<Harness> {
  const { exporter, provider } = setupTracing();
  const knobs: BedrockFakeKnobs = {};
  const fake = new FakeProvider(createBedrockRoutes(knobs));
  await fake.listen();
  const keys = generateKeypair();
  const log = new InMemoryDecisionLogStore();
  const guard = new SpendGuard({ signingKeys: keys, logStore: log, policies: [basePolicy()] });
  return { fake, knobs, log, guard, exporter, provider, keys };
}

/** Fresh engine, log, fake behaviour and spans for each test. */
export function resetHarness(h: Harness, policies: SpendPolicy[] = [basePolicy()]): void {
  h.fake.reset();
  for (const k of Object.keys(h.knobs)) delete (h.knobs as Record<string, unknown>)[k];
  h.log = new InMemoryDecisionLogStore();
  h.guard = new SpendGuard({ signingKeys: h.keys, logStore: h.log, policies });
  h.exporter.reset();
}

export function policy(overrides: Partial<SpendPolicy> & { caps?: SpendPolicy['caps'] }): SpendPolicy {
  return parsePolicies({
    id: 'bedrock-test',
    name: 'bedrock test policy',
    scope: { tenantId: 'acme' },
    caps: [],
    mode: 'enforce',
    version: 1,
    effectiveFrom: '2025-01-01T00:00:00Z',
    ...overrides,
  })[0]!;
}

export function basePolicy(): SpendPolicy {
  return policy({ caps: [{ amountCents: 1_000_000, window: 'per_day', action: 'block', reason: 'daily budget' }] });
}

/** A real SDK client config pointed at the fake (HTTP/1.1 handler: the fake is not h2c). */
export function clientConfig(fake: FakeProvider, extra: Record<string, unknown> = {}) {
  return {
    region: 'us-east-1',
    endpoint: fake.url,
    credentials: { accessKeyId: ACCESS_KEY_MARKER, secretAccessKey: SECRET_MARKER },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
    ...extra,
  };
}

export function converseInput(modelId: string, extra: Record<string, unknown> = {}) {
  return {
    modelId,
    system: [{ text: `You are terse. ${PROMPT_MARKER}` }],
    messages: [{ role: 'user' as const, content: [{ text: `Say hello. ${PROMPT_MARKER}` }] }],
    // Above any output the fake reports: usage beyond the bound sent is capped at it.
    inferenceConfig: { maxTokens: 20_000 },
    ...extra,
  };
}

export function decisions(log: InMemoryDecisionLogStore): SpendDecision[] {
  return log
    .entries()
    .map((e) => e.decision as SpendDecision)
    .filter((d) => d.entryType !== 'outcome');
}

export function outcomes(log: InMemoryDecisionLogStore): SpendDecision[] {
  return log
    .entries()
    .map((e) => e.decision as SpendDecision)
    .filter((d) => d.entryType === 'outcome');
}

const table = new GenaiPricesTable();

/** The cents the engine must charge for `usage` on `model`. */
export function expectedCents(model: string, usage: UsageTokens): number {
  const rates = table.rates('bedrock', model, usage.inputTokens);
  if (!rates) throw new Error(`no price for ${model}`);
  return nanocentsToCentsCeil(usageNanocents(rates, usage));
}

export function spanAttrs(span: ReadableSpan): Record<string, unknown> {
  return { ...span.attributes };
}

/** Everything exported, as text, for the no-leak grep. */
export function exportedText(spans: ReadableSpan[], entries: DecisionLogEntry[]): string {
  const spanJson = spans.map((s) => ({
    name: s.name,
    attributes: s.attributes,
    events: s.events,
    status: s.status,
    links: s.links,
    resource: s.resource?.attributes,
  }));
  return JSON.stringify(spanJson) + '\n' + JSON.stringify(entries);
}
