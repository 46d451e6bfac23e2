import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { anthropicRoutes } from '../../fake-provider/anthropic.js';
import { FakeProvider } from '../../fake-provider/server.js';
import {
  generateKeypair,
  InMemoryDecisionLogStore,
  parsePolicy,
  SpendGuard,
  type DecisionLogEntry,
  type SpendDecision,
  type SpendPolicy,
} from '../../src/index.js';

/** A unique string placed in prompts; it must never show up in spans or the log. */
export const PROMPT_MARKER = 'ZEBRA-MARKER-7f3a9c1e-never-export';

export const MODEL = 'claude-sonnet-4-5';
export const CHEAP_MODEL = 'claude-haiku-4-5';

let otel: { exporter: InMemorySpanExporter; provider: TracerProvider } | undefined;

/** One global tracer provider (in-memory exporter) and context manager per test file. */
export function setupOtel() {
  if (!otel) {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const cm = new AsyncLocalStorageContextManager();
    cm.enable();
    context.setGlobalContextManager(cm);
    trace.setGlobalTracerProvider(provider);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    otel = { exporter, provider };
  }
  return otel;
}

/** Finished spans, after the (asynchronous) simple processor has exported them. */
export async function spans(): Promise<ReadableSpan[]> {
  const { provider, exporter } = setupOtel();
  await provider.forceFlush();
  return exporter.getFinishedSpans();
}

export async function startFake(): Promise<FakeProvider> {
  const fake = new FakeProvider(anthropicRoutes);
  await fake.listen();
  return fake;
}

export function policy(p: Partial<SpendPolicy> & Pick<SpendPolicy, 'caps'>): SpendPolicy {
  return parsePolicy({
    id: 'p-anthropic',
    name: 'anthropic test policy',
    scope: { tenantId: 'acme' },
    mode: 'enforce',
    version: 1,
    effectiveFrom: '2025-01-01T00:00:00Z',
    ...p,
  });
}

export function makeGuard(p: SpendPolicy | SpendPolicy[] = policy({ caps: [] })) {
  const keys = generateKeypair();
  const log = new InMemoryDecisionLogStore();
  const guard = new SpendGuard({ signingKeys: keys, logStore: log, policies: Array.isArray(p) ? p : [p] });
  return { guard, log, keys };
}

export function decisions(log: InMemoryDecisionLogStore): SpendDecision[] {
  return (log.entries() as DecisionLogEntry<SpendDecision>[]).map((e) => e.decision);
}

export function lastOutcome(log: InMemoryDecisionLogStore): SpendDecision | undefined {
  return decisions(log)
    .filter((d) => d.entryType === 'outcome')
    .at(-1);
}

export function lastDecision(log: InMemoryDecisionLogStore): SpendDecision | undefined {
  return decisions(log)
    .filter((d) => d.entryType === 'decision')
    .at(-1);
}

/** Everything exported: spans (names, attributes, events, status) and log entries, as one string. */
export async function exportedText(log: InMemoryDecisionLogStore): Promise<string> {
  const spanData = (await spans()).map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status, links: s.links }));
  return JSON.stringify({ spanData, entries: log.entries() });
}

export function userMessage(text = `Say hello. ${PROMPT_MARKER}`) {
  return [{ role: 'user' as const, content: text }];
}
