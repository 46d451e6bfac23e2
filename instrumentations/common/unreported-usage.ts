/**
 * The one rule for charging a call whose usage the provider did not (fully)
 * report. The provider ran the call, so money errs on the side of charging:
 *
 * 1. A completed response without (complete) usage — a non-stream response, or
 *    a stream that ended normally without its final usage — is charged the
 *    decision's projection (the worst case the engine reserved: the input
 *    estimate and the output bound), reason {@link USAGE_NOT_REPORTED}.
 * 2. A stream abandoned (`break`, abort, cancel) or failing mid-way is charged
 *    what was reported so far; for the parts not reported, the input estimate
 *    and the streamed output's UTF-8 bytes at {@link BYTES_PER_TOKEN} per token
 *    (the larger of that and a reported running output count), reason
 *    {@link STREAM_ABANDONED}, or the error's class name for a provider error.
 * 3. A request that failed before any response (HTTP error, network) is
 *    released at 0 (`GuardedCall.fail(error)` without usage).
 *
 * In both 1 and 2 a part the provider did report (an input count from a
 * stream's first event, say) replaces the estimate for that part.
 */
import type { UsageTokens } from '../../src/engine/pricing.js';
import { StreamAbandonedError, UsageNotReportedError } from './call-errors.js';
import { BYTES_PER_TOKEN } from './estimate.js';

/** Release reason of rule 1, the same for every provider. */
export const USAGE_NOT_REPORTED = 'UsageNotReported';
/** Release reason of rule 2 when the caller stopped reading, the same for every provider. */
export const STREAM_ABANDONED = 'StreamAbandoned';

/** Usage as far as it was reported: an undefined count was not reported. */
export interface PartialUsage {
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
}

/** The error a call without usage is released with (rule 1). */
export function usageNotReported(message?: string): UsageNotReportedError {
  return new UsageNotReportedError(message, USAGE_NOT_REPORTED);
}

/** The error an abandoned stream is released with (rule 2). */
export function streamAbandoned(message?: string): StreamAbandonedError {
  return new StreamAbandonedError(message, STREAM_ABANDONED);
}

/** Counts the UTF-8 bytes of a stream's output text as the caller reads it. */
export class StreamedOutput {
  bytes = 0;

  /** Adds a piece of streamed output text (non-strings are ignored). */
  add(text: unknown): void {
    if (typeof text === 'string' && text) this.bytes += Buffer.byteLength(text, 'utf8');
  }

  /** The streamed output in tokens, at {@link BYTES_PER_TOKEN}. */
  get tokens(): number {
    return Math.ceil(this.bytes / BYTES_PER_TOKEN);
  }
}

/**
 * Usage to charge: the reported parts, and `fallback` for the parts not
 * reported. With `atLeastOutput`, a reported output count (a running count of
 * a stream cut short) is raised to the fallback when that is larger. Cache and
 * reasoning breakdowns are kept only where they fit the charged totals.
 */
export function fillUnreported(
  reported: PartialUsage | undefined,
  fallback: { inputTokens: number; outputTokens: number },
  atLeastOutput = false,
): UsageTokens {
  const r = reported ?? {};
  const inputReported = isCount(r.inputTokens);
  const inputTokens = inputReported ? r.inputTokens! : fallback.inputTokens;
  const outputTokens = isCount(r.outputTokens) ? (atLeastOutput ? Math.max(r.outputTokens!, fallback.outputTokens) : r.outputTokens!) : fallback.outputTokens;
  const usage: UsageTokens = { inputTokens, outputTokens };
  if (inputReported) {
    const cached = isCount(r.cachedInputTokens) ? r.cachedInputTokens! : undefined;
    const written = isCount(r.cacheWriteTokens) ? r.cacheWriteTokens! : undefined;
    if ((cached ?? 0) + (written ?? 0) <= inputTokens) {
      if (cached !== undefined) usage.cachedInputTokens = cached;
      if (written !== undefined) usage.cacheWriteTokens = written;
    }
  }
  if (isCount(r.reasoningTokens) && r.reasoningTokens! <= outputTokens) usage.reasoningTokens = r.reasoningTokens!;
  return usage;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
