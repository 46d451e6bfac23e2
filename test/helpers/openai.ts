import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { FakeProvider } from '../../fake-provider/server.js';
import { openaiRoutes } from '../../fake-provider/openai.js';
import {
  generateKeypair,
  InMemoryDecisionLogStore,
  parsePolicy,
  SpendGuard,
  type DecisionLogEntry,
  type SpendCap,
  type SpendDecision,
  type SpendPolicy,
} from '../../src/index.js';

/** Fixed prices for the tests (USD per million tokens), independent of the price table's version. */
export const PRICES = {
  openai: {
    'gpt-4o': { inputPerMTok: 2.5, cachedInputPerMTok: 1.25, outputPerMTok: 10 },
    'gpt-4o-mini': { inputPerMTok: 0.15, cachedInputPerMTok: 0.075, outputPerMTok: 0.6 },
    o3: { inputPerMTok: 2, cachedInputPerMTok: 0.5, outputPerMTok: 8 },
    // Output only: projections are then exactly max_tokens × price, whatever the input estimate.
    'flat-1c-per-1k-out': { inputPerMTok: 0, outputPerMTok: 10 },
  },
};

/** Expected cents of usage at {@link PRICES} (rounded up, as the engine charges). */
export function expectedCents(model: keyof typeof PRICES.openai, u: { input: number; output: number; cached?: number }): number {
  const p = PRICES.openai[model] as { inputPerMTok: number; cachedInputPerMTok?: number; outputPerMTok: number };
  const cached = u.cached ?? 0;
  // $1 per million tokens = 1e5 nanocents per token; charged in whole cents, rounded up.
  const rate = (usdPerMTok: number) => Math.round(usdPerMTok * 100_000);
  const nanocents = (u.input - cached) * rate(p.inputPerMTok) + cached * rate(p.cachedInputPerMTok ?? p.inputPerMTok) + u.output * rate(p.outputPerMTok);
  return Math.ceil(nanocents / 1e9);
}

let tracing: { exporter: InMemorySpanExporter; provider: TracerProvider } | undefined;

/** One in-memory span exporter for the test process (global tracer provider + async context). */
export function setupTracing(): InMemorySpanExporter {
  if (!tracing) {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    tracing = { exporter, provider };
  }
  return tracing.exporter;
}

export function policy(caps: Partial<SpendCap>[], extra: Partial<SpendPolicy> = {}): SpendPolicy {
  return parsePolicy({
    id: 'p-openai',
    name: 'openai test policy',
    scope: { tenantId: 't1' },
    mode: 'enforce',
    version: 1,
    effectiveFrom: '2026-01-01T00:00:00Z',
    caps: caps.map((c, i) => ({ amountCents: 1000, window: 'per_day', action: 'block', reason: `cap ${i}`, ...c })),
    ...extra,
  });
}

export interface TestGuard {
  guard: SpendGuard;
  log: InMemoryDecisionLogStore;
  keys: ReturnType<typeof generateKeypair>;
  decisions(): SpendDecision[];
  outcomes(): SpendDecision[];
  entries(): DecisionLogEntry<SpendDecision>[];
}

export function makeGuard(policies: SpendPolicy[], opts: { modeOverride?: 'shadow' } = {}): TestGuard {
  const keys = generateKeypair();
  const log = new InMemoryDecisionLogStore();
  const guard = new SpendGuard({ signingKeys: keys, logStore: log, policies, pricing: { overrides: PRICES }, ...opts });
  const entries = () => log.entries() as DecisionLogEntry<SpendDecision>[];
  return {
    guard,
    log,
    keys,
    entries,
    decisions: () =>
      entries()
        .map((e) => e.decision)
        .filter((d) => d.entryType === 'decision'),
    outcomes: () =>
      entries()
        .map((e) => e.decision)
        .filter((d) => d.entryType === 'outcome'),
  };
}

export async function startFake(): Promise<FakeProvider> {
  const fake = new FakeProvider(openaiRoutes);
  await fake.listen();
  return fake;
}

/** Our spans (not another instrumentation's). */
export function ourSpans(exporter: InMemorySpanExporter): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name.startsWith('agentguard-spend'));
}

/** Waits until `fn` is true (settlement after a stream's end runs asynchronously). */
export async function until(fn: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Everything we exported (spans and signed log), as one string to grep for prompt text. */
export function exportedText(exporter: InMemorySpanExporter, log: InMemoryDecisionLogStore): string {
  const spans = exporter.getFinishedSpans().map((s) => ({
    name: s.name,
    attributes: s.attributes,
    events: s.events,
    status: s.status,
    links: s.links,
    resource: s.resource.attributes,
  }));
  return JSON.stringify(spans) + JSON.stringify(log.entries());
}
