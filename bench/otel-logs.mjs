// Cost of shipping signed entries as OpenTelemetry log records. Prints JSON.
//   npm run build && node bench/otel-logs.mjs     (--quick: a fifth of the counts)
// appendMicros: main-thread time per entry appended (pre-signed entries, in
//   series) to InMemoryDecisionLogStore (baseline) and to OtelLogRecordStore with
//   the real SDK LoggerProvider + BatchLogRecordProcessor and an exporter that
//   drops every batch (the OTLP exporter's network time happens off the append).
// guardCallMicros: decide + settle (2 entries) through a real SpendGuard with each store.
import { logs } from '@opentelemetry/api';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { performance } from 'node:perf_hooks';
import { OtelLogRecordStore } from '../dist/exporters.js';
import { generateKeypair, InMemoryDecisionLogStore, parsePolicy, SpendGuard } from '../dist/index.js';

const quick = process.argv.includes('--quick');
const N = quick ? 4_000 : 20_000;
const keys = generateKeypair();
const policy = parsePolicy({
  id: 'bench',
  name: 'bench',
  scope: { tenantId: 't' },
  mode: 'enforce',
  version: 1,
  effectiveFrom: '2020-01-01T00:00:00Z',
  caps: [{ amountCents: 1_000_000_000, window: 'per_day', action: 'block', reason: 'daily budget' }],
});
const pricing = { overrides: { openai: { 'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10 } } } };
const request = {
  provider: 'openai',
  model: 'gpt-4o',
  scope: { tenantId: 't', agentId: 'bench-agent' },
  estimatedInputTokens: 1200,
  maxOutputTokens: 800,
  traceId: 'a'.repeat(32),
  spanId: 'b'.repeat(16),
};

let exported = 0;
const dropAll = {
  export: (batch, done) => {
    exported += batch.length;
    done({ code: 0 });
  },
  shutdown: async () => {},
  forceFlush: async () => {},
};
const provider = new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter: dropAll, maxQueueSize: N * 2, maxExportBatchSize: 512 })] });
logs.setGlobalLoggerProvider(provider);

async function signedEntries(n) {
  // Unbounded: the default capacity (10 000) would never reach a larger n.
  const log = new InMemoryDecisionLogStore({ capacity: Infinity });
  const guard = new SpendGuard({ signingKeys: keys, logStore: log, policy, pricing, metrics: false });
  for (let made = 0; made < n; made += 2) await guard.settle(await guard.decide(request), { inputTokens: 1100, outputTokens: 400 });
  return log.entries().slice(0, n);
}

async function appendMicros(store, entries) {
  const start = performance.now();
  for (const e of entries) await store.append(e);
  return ((performance.now() - start) * 1000) / entries.length;
}

async function guardCallMicros(store, calls) {
  const guard = new SpendGuard({ signingKeys: keys, logStore: store, policy, pricing, metrics: false });
  for (let i = 0; i < 200; i++) await guard.settle(await guard.decide(request), { inputTokens: 1100, outputTokens: 400 });
  const start = performance.now();
  for (let i = 0; i < calls; i++) await guard.settle(await guard.decide(request), { inputTokens: 1100, outputTokens: 400 });
  return ((performance.now() - start) * 1000) / calls;
}

const entries = await signedEntries(N);
const round = (x) => Math.round(x * 100) / 100;
const memory = await appendMicros(new InMemoryDecisionLogStore(), entries);
const otelStore = new OtelLogRecordStore({ checkpoints: false });
const otel = await appendMicros(otelStore, entries);
await otelStore.flush();
const calls = Math.floor(N / 4);
const guardMemory = await guardCallMicros(new InMemoryDecisionLogStore(), calls);
const guardOtel = await guardCallMicros(new OtelLogRecordStore(), calls);
await provider.forceFlush();
process.stdout.write(
  `${JSON.stringify(
    {
      node: process.version,
      entries: N,
      appendMicros: { memory: round(memory), otelLogRecords: round(otel) },
      guardCallMicros: { memory: round(guardMemory), otelLogRecords: round(guardOtel), ratio: round(guardOtel / guardMemory) },
      recordsExported: exported,
    },
    null,
    2,
  )}\n`,
);
await provider.shutdown();
