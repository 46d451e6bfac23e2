import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { context, logs, TraceFlags, type SpanContext } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { createLoggerConfigurator, InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FileDecisionLogStore } from '../../../exporters/file/file-store.js';
import { LOG_EVENT, LOG_RECORD_ATTR, LOG_RECORD_SCOPE, OtelLogRecordStore } from '../../../exporters/otel/log-records.js';
import { generateKeypair, type DecisionLogEntry } from '../../../src/index.js';
import { verifyChain } from '../../../src/audit.js';
import { guardWith, oneCall, openPolicy, tempDir } from '../../helpers/log.js';

const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);
const t = tempDir('agentguard-otel-logs-');
afterAll(() => {
  t.cleanup();
  context.disable();
});
afterEach(() => logs.disable());

/** A real SDK LoggerProvider, registered as the global one, exporting to memory. */
function registerLogs(config?: ConstructorParameters<typeof LoggerProvider>[0]): InMemoryLogRecordExporter {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ ...config, processors: [new SimpleLogRecordProcessor({ exporter })] });
  expect(logs.setGlobalLoggerProvider(provider)).toBe(true);
  return exporter;
}

const entriesOf = (records: readonly ReadableLogRecord[]) => records.filter((r) => r.eventName === LOG_EVENT.ENTRY);

describe('OtelLogRecordStore: signed entries as OpenTelemetry log records', () => {
  it('alongside the files: each record body is the file line byte for byte, with chain id, sequence, entry hash, signer and the decision trace context; checkpoints travel too', async () => {
    const exported = registerLogs();
    const tracer = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() })] }).getTracer('app');
    const keys = generateKeypair();
    const dir = join(t.dir, 'both');
    let store!: OtelLogRecordStore;
    const files = new FileDecisionLogStore({ dir, chainId: 'svc-1', checkpoints: { every: 3, onCheckpoint: (cp) => store.emitCheckpoint(cp) } });
    store = new OtelLogRecordStore({ inner: files });
    const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() });
    let spanContext!: SpanContext;
    await tracer.startActiveSpan('app call', async (span) => {
      spanContext = span.spanContext();
      const r = await guard.decide({
        provider: 'openai',
        model: 'big',
        scope: { tenantId: 't' },
        estimatedInputTokens: 10,
        maxOutputTokens: 10,
        traceId: spanContext.traceId,
        spanId: spanContext.spanId,
      });
      await guard.settle(r, { inputTokens: 10, outputTokens: 5 });
      span.end();
    });
    await oneCall(guard); // no trace: records without trace context
    await store.close();

    const lines = readdirSync(dir)
      .filter((f) => f.startsWith('svc-1.') && !f.includes('checkpoints'))
      .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
    const records = entriesOf(exported.getFinishedLogRecords());
    expect(lines).toHaveLength(4);
    expect(records.map((r) => r.body)).toEqual(lines);
    records.forEach((r, i) => {
      const e = JSON.parse(lines[i]!) as DecisionLogEntry;
      expect(r.attributes).toEqual({
        [LOG_RECORD_ATTR.CHAIN_ID]: 'svc-1',
        [LOG_RECORD_ATTR.SEQUENCE]: i,
        [LOG_RECORD_ATTR.ENTRY_HASH]: e.entryHash,
        [LOG_RECORD_ATTR.SIGNER]: e.signerFingerprint,
      });
      expect(r.instrumentationScope.name).toBe(LOG_RECORD_SCOPE);
      expect(r.severityText).toBe('INFO');
      expect(r.hrTime[0] * 1000 + Math.floor(r.hrTime[1] / 1e6)).toBe(Date.parse((e.decision as { timestamp: string }).timestamp));
    });
    // The decision and its outcome carry the app span's context (sampled, as the span was).
    for (const r of records.slice(0, 2))
      expect(r.spanContext).toMatchObject({ traceId: spanContext.traceId, spanId: spanContext.spanId, traceFlags: TraceFlags.SAMPLED });
    for (const r of records.slice(2)) expect(r.spanContext).toBeUndefined();

    const cps = exported.getFinishedLogRecords().filter((r) => r.eventName === LOG_EVENT.CHECKPOINT);
    const cpFile = readFileSync(join(dir, 'svc-1.checkpoints.jsonl'), 'utf8').split('\n').filter(Boolean);
    expect(cps.map((r) => r.body)).toEqual(cpFile);
    expect(cps.map((r) => r.attributes[LOG_RECORD_ATTR.SEQUENCE])).toEqual([2, 3]);
    expect(
      verifyChain(
        records.map((r) => JSON.parse(r.body as string) as DecisionLogEntry),
        keys.publicKey,
      ),
    ).toEqual({ ok: true, count: 4 });
  });

  it('instead of files: entries signed before the app registers its LoggerProvider are held and emitted in order once it does; its own checkpoints name the chain', async () => {
    const keys = generateKeypair();
    const store = new OtelLogRecordStore({ checkpoints: { every: 2 } });
    const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() });
    await oneCall(guard); // nothing registered yet
    expect(store.pendingCount).toBe(3); // 2 entries and the checkpoint after them
    const exported = registerLogs();
    await oneCall(guard);
    await store.close();
    const all = exported.getFinishedLogRecords();
    const entries = entriesOf(all).map((r) => JSON.parse(r.body as string) as DecisionLogEntry);
    expect(entries.map((e) => e.sequence)).toEqual([0, 1, 2, 3]);
    expect(verifyChain(entries, keys.publicKey)).toEqual({ ok: true, count: 4 });
    const cps = all.filter((r) => r.eventName === LOG_EVENT.CHECKPOINT).map((r) => JSON.parse(r.body as string) as { chainId: string; sequence: number });
    expect(cps.map((c) => c.sequence)).toEqual([1, 3]);
    expect(cps.every((c) => c.chainId === entries[0]!.entryHash)).toBe(true);
    expect(new Set(all.map((r) => r.attributes[LOG_RECORD_ATTR.CHAIN_ID])).size).toBe(1);
    expect(store.chainId).toMatch(/^agentguard-/);
  });

  it('with no LoggerProvider taking records, a full hold fails the next calls (the refused entry is kept, the chain stays linked) instead of signing entries nobody keeps', async () => {
    const keys = generateKeypair();
    const store = new OtelLogRecordStore({ maxPending: 2, checkpoints: false });
    const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() });
    expect(guard.signsOffThread).toBe(true);
    await oneCall(guard);
    await guard.flush();
    // Entries reach the store after their calls went ahead: the refused one (2) is kept and handed over again.
    await oneCall(guard);
    await expect(guard.flush()).rejects.toThrow(/2 records wait for an OpenTelemetry LoggerProvider.*entry 2 not accepted/);
    // While the store refuses entries, calls fail before anything is signed.
    await expect(oneCall(guard)).rejects.toThrow(/^decision log append failed: decision log: 2 records wait/);
    await expect(store.close()).rejects.toThrow(/2 records \(from sequence 0\) were never emitted/);
    const exported = registerLogs();
    await guard.flush();
    await oneCall(guard); // the chain continues at sequence 4
    await guard.flush();
    const entries = entriesOf(exported.getFinishedLogRecords()).map((r) => JSON.parse(r.body as string) as DecisionLogEntry);
    expect(entries.map((e) => e.sequence)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(verifyChain(entries, keys.publicKey)).toEqual({ ok: true, count: 6 });
  });

  it('a pipeline that drops records of unsampled traces still gets every entry (without trace context: the ids stay in the signed body)', async () => {
    const exported = registerLogs({ loggerConfigurator: createLoggerConfigurator([{ pattern: '*', config: { traceBased: true } }]) });
    const keys = generateKeypair();
    const store = new OtelLogRecordStore({ checkpoints: false });
    const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() });
    const traceId = 'a'.repeat(32);
    const spanId = 'b'.repeat(16);
    await guard.decide({ provider: 'openai', model: 'big', scope: { tenantId: 't' }, estimatedInputTokens: 10, maxOutputTokens: 10, traceId, spanId });
    await guard.flush();
    const [r] = entriesOf(exported.getFinishedLogRecords());
    expect(r!.spanContext).toBeUndefined();
    expect(JSON.parse(r!.body as string).decision).toMatchObject({ traceId, spanId });
  });
});
