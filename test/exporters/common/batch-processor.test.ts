import { describe, expect, it } from 'vitest';
import { BatchDecisionLogProcessor } from '../../../exporters/common/batch-processor.js';
import { ExportResultCode, type DecisionLogExporter, type ExportResult } from '../../../exporters/common/exporter.js';
import { generateKeypair, type DecisionLogEntry } from '../../../src/index.js';
import { ChainWriter } from '../../../src/audit/chain.js';
import { createSigner } from '../../../src/audit/signer.js';

/** An exporter that records batches; `gate` holds exports until released; `fail` makes them fail. */
class RecordingExporter implements DecisionLogExporter {
  batches: number[][] = [];
  flushed = 0;
  shut = false;
  fail: Error | null = null;
  gate: Promise<void> | null = null;
  async export(entries: readonly DecisionLogEntry[]): Promise<ExportResult> {
    if (this.gate) await this.gate;
    if (this.fail) return { code: ExportResultCode.FAILED, error: this.fail };
    this.batches.push(entries.map((e) => e.sequence));
    return { code: ExportResultCode.SUCCESS };
  }
  async forceFlush(): Promise<void> {
    this.flushed++;
  }
  async shutdown(): Promise<void> {
    this.shut = true;
  }
}

const chain = new ChainWriter(createSigner(generateKeypair()));
const entries = Array.from({ length: 20 }, (_, i) => chain.append({ n: i }));
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('BatchDecisionLogProcessor', () => {
  it('exports full batches at once and the rest after the scheduled delay, in order', async () => {
    const exporter = new RecordingExporter();
    const p = new BatchDecisionLogProcessor(exporter, { maxExportBatchSize: 4, scheduledDelayMillis: 50 });
    for (const e of entries.slice(0, 10)) await p.onEntry(e);
    await tick();
    expect(exporter.batches).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    await new Promise((r) => setTimeout(r, 80));
    expect(exporter.batches.flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await p.shutdown();
    expect(exporter.flushed).toBe(1);
    expect(exporter.shut).toBe(true);
    await expect(p.onEntry(entries[10]!)).rejects.toThrow('shut down');
  });

  it('never drops: past maxQueueSize the caller waits until the queue has room', async () => {
    const exporter = new RecordingExporter();
    let release!: () => void;
    exporter.gate = new Promise((r) => (release = r));
    const p = new BatchDecisionLogProcessor(exporter, { maxQueueSize: 4, maxExportBatchSize: 2, scheduledDelayMillis: 10_000 });
    const settled: number[] = [];
    const promises = entries.slice(0, 8).map((e, i) => p.onEntry(e).then(() => settled.push(i)));
    await tick();
    // entries 0-1 are in the (stuck) export, 2-5 fill the queue; 6 and 7 wait.
    expect(settled).toEqual([0, 1, 2, 3, 4, 5]);
    release();
    exporter.gate = null;
    await Promise.all(promises);
    expect(settled).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await p.forceFlush();
    expect(exporter.batches.flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('keeps a failed export as lastError, tells onError, and clears it once an export succeeds', async () => {
    const exporter = new RecordingExporter();
    const errors: string[] = [];
    const p = new BatchDecisionLogProcessor(exporter, { scheduledDelayMillis: 10_000, onError: (e) => errors.push(e.message) });
    exporter.fail = new Error('disk full');
    await p.onEntry(entries[0]!);
    await expect(p.forceFlush()).rejects.toThrow('disk full');
    expect(p.lastError?.message).toBe('disk full');
    expect(errors).toEqual(['disk full']);
    exporter.fail = null;
    await p.onEntry(entries[1]!);
    await p.forceFlush();
    expect(p.lastError).toBeNull();
  });

  it('fails an export that exceeds exportTimeoutMillis', async () => {
    const exporter = new RecordingExporter();
    exporter.gate = new Promise(() => undefined);
    const p = new BatchDecisionLogProcessor(exporter, { exportTimeoutMillis: 30 });
    await p.onEntry(entries[0]!);
    await expect(p.forceFlush()).rejects.toThrow('timed out after 30 ms');
  });

  it('rejects bad options with errors naming them', () => {
    expect(() => new BatchDecisionLogProcessor(new RecordingExporter(), { maxQueueSize: 0 })).toThrow('maxQueueSize: expected a positive integer, got 0');
    expect(() => new BatchDecisionLogProcessor(new RecordingExporter(), { scheduledDelayMillis: -1 })).toThrow('scheduledDelayMillis');
  });
});
