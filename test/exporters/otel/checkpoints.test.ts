import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_ATTR, CHECKPOINT_EVENT } from '../../../exporters/otel/checkpoints.js';
import { checkpointFromAttributes, checkpointSpanEvents } from '../../../src/audit.js';
import { FileDecisionLogStore } from '../../../src/stores.js';
import { generateKeypair } from '../../../src/index.js';
import type { Checkpoint } from '../../../src/audit.js';
import { bytesToHex } from '../../../src/audit/hex.js';
import { guardWith, oneCall, openPolicy, tempDir } from '../../helpers/log.js';
import { readEntries, run, writeEntries } from '../../helpers/cli.js';

const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);
const t = tempDir('agentguard-audit-otel-');
afterAll(() => {
  t.cleanup();
  context.disable();
});

describe('checkpoints on the OpenTelemetry span stream', () => {
  it('checkpointSpanEvents adds each checkpoint as an agentguard.checkpoint event (active span, else a span of its own); rebuilt from the trace, they verify the log and catch a cut-off tail', async () => {
    const exporter = new InMemorySpanExporter();
    const tracer = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }).getTracer('test');
    const keys = generateKeypair();
    const logDir = join(t.dir, 'log');
    const store = await FileDecisionLogStore.open({ dir: logDir, chainId: 'svc', checkpoints: { every: 3, onCheckpoint: checkpointSpanEvents({ tracer }) } });
    const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() });
    await tracer.startActiveSpan('app work', async (span) => {
      for (let i = 0; i < 4; i++) await oneCall(guard); // 8 entries: checkpoints at 2 and 5
      span.end();
    });
    await store.close(); // no active span: the shutdown checkpoint (7) gets its own span

    const spans = exporter.getFinishedSpans();
    const app = spans.find((s) => s.name === 'app work')!;
    const own = spans.filter((s) => s.name === CHECKPOINT_EVENT);
    expect(app.events.filter((e) => e.name === CHECKPOINT_EVENT).map((e) => e.attributes![CHECKPOINT_ATTR.SEQUENCE])).toEqual([2, 5]);
    expect(own.map((s) => s.events[0]!.attributes![CHECKPOINT_ATTR.SEQUENCE])).toEqual([7]);

    const fromTrace = spans.flatMap((s) => s.events.filter((e) => e.name === CHECKPOINT_EVENT).map((e) => checkpointFromAttributes(e.attributes!)));
    const fromFile = readFileSync(join(logDir, 'svc.checkpoints.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Checkpoint);
    expect(fromTrace).toEqual(fromFile);
    const event = app.events.find((e) => e.name === CHECKPOINT_EVENT)!;
    expect(Object.keys(event.attributes!).sort()).toEqual(Object.values(CHECKPOINT_ATTR).sort());

    // The trace backend's copy, given to verify: it holds even when the log's own checkpoint file is ignored.
    const exported = join(t.dir, 'from-trace.jsonl');
    writeFileSync(exported, fromTrace.map((c) => JSON.stringify(c)).join('\n') + '\n');
    const pub = bytesToHex(keys.publicKey);
    const ok = run(['verify', logDir, '-k', pub, '--no-auto-checkpoints', '--checkpoints', exported]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('svc: ok, 8 entries in 1 file, 3 checkpoints matched');
    writeEntries(readEntries(logDir, 'svc').slice(0, 6));
    const cut = run(['verify', logDir, '-k', pub, '--no-auto-checkpoints', '--checkpoints', exported]);
    expect(cut.status).toBe(1);
    expect(cut.stdout).toContain('svc: FAILED at sequence 6 (truncated)');
    expect(() => checkpointFromAttributes({ ...event.attributes!, [CHECKPOINT_ATTR.SIGNATURE]: undefined })).toThrow(
      'agentguard.checkpoint.signature: expected a string attribute, got nothing',
    );
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
