/**
 * The errors a guarded call is released with when the provider did not report
 * what settlement needs, and the one rule for naming an error on a span or in
 * the log. Only the name is ever recorded: provider messages can echo request
 * content.
 */

/**
 * The response (or the stream's end) carried no usage: the call is released
 * charging an estimate instead of settled. `name` is the reason recorded in the
 * log; every adapter records `UsageNotReported` (see `./unreported-usage.ts`).
 */
export class UsageNotReportedError extends Error {
  constructor(message = 'the provider reported no token usage for the call', name = 'UsageNotReportedError') {
    super(message);
    this.name = name;
  }
}

/**
 * The caller stopped reading a stream (`break`, abort, cancel) before its final
 * usage arrived: released charging what was reported or estimated so far;
 * every adapter records `StreamAbandoned` (see `./unreported-usage.ts`).
 */
export class StreamAbandonedError extends Error {
  constructor(message = 'the stream was abandoned before it ended', name = 'StreamAbandonedError') {
    super(message);
    this.name = name;
  }
}

/**
 * An error's class name, never its message. SDK error classes often leave
 * `name` as `'Error'` (the `openai` ones do), so the constructor's name is
 * used then. A thrown non-Error gives its `typeof`.
 */
export function errorName(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  if (error.name && error.name !== 'Error') return error.name;
  const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof ctor === 'string' && ctor ? ctor : error.name || 'Error';
}
