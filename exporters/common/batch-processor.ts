import type { DecisionLogEntry } from '../../src/audit/chain.js';
import { ExportResultCode, type DecisionLogExporter, type ExportResult } from './exporter.js';

/** Tuning of a {@link BatchDecisionLogProcessor}, after OpenTelemetry's `BatchSpanProcessor`. */
export interface BatchProcessorOptions {
  /** Entries held before `onEntry` makes its caller wait (default 2048). Entries are never dropped. */
  maxQueueSize?: number;
  /** Longest an entry waits in the queue before an export starts (default 1000 ms). */
  scheduledDelayMillis?: number;
  /** Most entries per `export` call; a full batch is exported at once (default 512). */
  maxExportBatchSize?: number;
  /** An export that takes longer counts as failed (default 30000 ms). */
  exportTimeoutMillis?: number;
  /** Told about each failed export. */
  onError?: (error: Error) => void;
}

interface Waiter {
  index: number;
  resolve: () => void;
}

/**
 * Queues entries and hands them to an exporter in batches, in order, one
 * export at a time: when `maxExportBatchSize` entries are queued, or
 * `scheduledDelayMillis` after the first entry of a batch was queued.
 *
 * Unlike a span processor it never drops an entry (a missing entry would break
 * the chain): past `maxQueueSize` queued entries, the promise `onEntry` returns
 * settles only once the queue has room, which slows the producer down. Nor does
 * it retry a failed batch: an exporter that can fail transiently keeps what it
 * could not deliver and delivers it on its next export or flush (the file
 * exporter does), and the failure is kept in {@link lastError} until an export
 * succeeds.
 *
 * Loss window: entries still queued here when the process dies are lost, i.e.
 * at most `scheduledDelayMillis` worth of entries (bounded by `maxQueueSize`
 * plus the entries of callers waiting for room). Call {@link shutdown} (or
 * {@link forceFlush}) on exit.
 */
export class BatchDecisionLogProcessor {
  readonly #exporter: DecisionLogExporter;
  readonly #maxQueueSize: number;
  readonly #delay: number;
  readonly #batchSize: number;
  readonly #timeout: number;
  readonly #onError: ((error: Error) => void) | undefined;
  #queue: DecisionLogEntry[] = [];
  #accepted = 0;
  #dequeued = 0;
  #waiters: Waiter[] = [];
  #timer: NodeJS.Timeout | null = null;
  #exporting: Promise<void> | null = null;
  #lastError: Error | null = null;
  #shutdown = false;

  constructor(exporter: DecisionLogExporter, options: BatchProcessorOptions = {}) {
    this.#exporter = exporter;
    this.#maxQueueSize = positiveInt(options.maxQueueSize ?? 2048, 'maxQueueSize');
    this.#delay = nonNegativeInt(options.scheduledDelayMillis ?? 1000, 'scheduledDelayMillis');
    this.#batchSize = Math.min(positiveInt(options.maxExportBatchSize ?? 512, 'maxExportBatchSize'), this.#maxQueueSize);
    this.#timeout = positiveInt(options.exportTimeoutMillis ?? 30_000, 'exportTimeoutMillis');
    this.#onError = options.onError;
  }

  /** The error of the last export, until one succeeds. */
  get lastError(): Error | null {
    return this.#lastError;
  }

  /** Entries queued and not yet handed to the exporter. */
  get queueLength(): number {
    return this.#queue.length;
  }

  /**
   * Queues an entry (synchronously, in call order). The returned promise
   * settles at once while the queue has room, else when it has.
   */
  onEntry(entry: DecisionLogEntry): Promise<void> {
    if (this.#shutdown) return Promise.reject(new Error('decision log processor is shut down'));
    const index = this.#accepted++;
    this.#queue.push(entry);
    if (this.#queue.length >= this.#batchSize) this.#exportSoon(0);
    else this.#exportSoon(this.#delay);
    if (index - this.#dequeued < this.#maxQueueSize) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ index, resolve }));
  }

  /**
   * Removes and returns every queued entry, in order, for a caller that writes
   * them itself synchronously (a process that is exiting). Waiting producers are let go.
   */
  takeQueued(): DecisionLogEntry[] {
    const taken = this.#queue;
    this.#queue = [];
    this.#dequeued += taken.length;
    this.#releaseWaiters();
    this.#clearTimer();
    return taken;
  }

  /** Exports everything queued so far, then flushes the exporter. Rejects with the last export error. */
  async forceFlush(): Promise<void> {
    const target = this.#accepted;
    while (this.#dequeued < target) {
      await (this.#exporting ?? this.#startExport());
    }
    if (this.#exporting) await this.#exporting;
    if (this.#lastError) throw this.#lastError;
    await this.#exporter.forceFlush();
  }

  /** Flushes, then shuts the exporter down. Later entries are refused. */
  async shutdown(): Promise<void> {
    if (this.#shutdown) return;
    try {
      await this.forceFlush();
    } finally {
      this.#shutdown = true;
      this.#clearTimer();
      await this.#exporter.shutdown();
    }
  }

  #exportSoon(delay: number): void {
    if (this.#exporting) return; // the running export schedules the next one
    if (delay === 0) {
      this.#clearTimer();
      void this.#startExport();
      return;
    }
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#startExport();
    }, delay);
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #startExport(): Promise<void> {
    if (this.#exporting) return this.#exporting;
    this.#clearTimer();
    this.#exporting = this.#exportOnce().finally(() => {
      this.#exporting = null;
      if (this.#queue.length >= this.#batchSize) this.#exportSoon(0);
      else if (this.#queue.length > 0) this.#exportSoon(this.#delay);
    });
    return this.#exporting;
  }

  async #exportOnce(): Promise<void> {
    const batch = this.#queue.splice(0, this.#batchSize);
    this.#dequeued += batch.length;
    this.#releaseWaiters();
    const result = batch.length ? await this.#exportWithTimeout(batch) : { code: ExportResultCode.SUCCESS };
    if (result.code === ExportResultCode.SUCCESS) {
      this.#lastError = null;
    } else {
      this.#lastError = result.error ?? new Error('decision log export failed');
      this.#onError?.(this.#lastError);
    }
  }

  #releaseWaiters(): void {
    while (this.#waiters.length > 0 && this.#waiters[0]!.index - this.#dequeued < this.#maxQueueSize) this.#waiters.shift()!.resolve();
  }

  async #exportWithTimeout(batch: DecisionLogEntry[]): Promise<ExportResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<ExportResult>((resolve) => {
      timer = setTimeout(
        () => resolve({ code: ExportResultCode.FAILED, error: new Error(`decision log export timed out after ${this.#timeout} ms`) }),
        this.#timeout,
      );
      timer.unref();
    });
    try {
      return await Promise.race([
        this.#exporter.export(batch).catch((err: unknown) => ({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) })),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function positiveInt(v: number, name: string): number {
  if (!Number.isSafeInteger(v) || v <= 0) throw new TypeError(`${name}: expected a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function nonNegativeInt(v: number, name: string): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`${name}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}
