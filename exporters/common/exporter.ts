import type { DecisionLogEntry } from '../../src/audit/chain.js';

/** Whether an export reached its destination. */
export const ExportResultCode = { SUCCESS: 0, FAILED: 1 } as const;
export type ExportResultCode = (typeof ExportResultCode)[keyof typeof ExportResultCode];

/** Outcome of {@link DecisionLogExporter.export}. */
export interface ExportResult {
  code: ExportResultCode;
  /** Why it failed, when `code` is `FAILED`. */
  error?: Error;
}

/**
 * Where signed decision-log entries go, shaped like OpenTelemetry's
 * `SpanExporter` (`export`, `forceFlush`, `shutdown`).
 *
 * One deliberate difference: `export` returns a promise of the result instead
 * of taking a `resultCallback`, so a caller can `await` it. Entries are handed
 * over in sequence order, one call at a time (a caller never starts a second
 * `export` before the first has settled), and an exporter must keep that order:
 * an entry missing from the middle of a chain breaks every later link.
 */
export interface DecisionLogExporter {
  /** Delivers `entries` (in sequence order). Resolves, never rejects: failures are a `FAILED` result. */
  export(entries: readonly DecisionLogEntry[]): Promise<ExportResult>;
  /** Resolves once everything exported so far is as durable as the exporter promises. */
  forceFlush(): Promise<void>;
  /** Flushes and releases resources; later exports fail. */
  shutdown(): Promise<void>;
}
