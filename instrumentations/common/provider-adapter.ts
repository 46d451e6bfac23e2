import type { UsageTokens } from '../../src/engine/pricing.js';
import type { CallDescription } from './guarded-call.js';
import type { PartialUsage, StreamedOutput } from './unreported-usage.js';

/**
 * What a provider integration knows, and nothing else: how to read a call
 * before it is sent, how to rewrite it after the decision, and where the
 * provider reports usage. The lifecycle around it (span, decision, block,
 * settlement by the unreported-usage rule) is `GuardedCall`'s, the same for
 * every provider; the patching of an SDK is the instrumentation's.
 *
 * `Request` is whatever the SDK method receives (params and options, a
 * command, a language-model call's options); `Response` what a complete call
 * returns; `StreamEvent` one item of its stream.
 */
export interface ProviderAdapter<Request, Response = unknown, StreamEvent = unknown> {
  /**
   * Describes the call for the engine (provider, operation, model, input
   * estimate, output bound, stream flag, per-call overrides), or `undefined`
   * for a call this adapter does not guard (it is sent untouched).
   */
  describe(request: Request): CallDescription | undefined;

  /**
   * The request to send once the decision allows it: the decision's model
   * (a downgrade), its output bound (a clamp or a default bound the guard
   * set), and without the per-call override headers. Never mutates `request`.
   * Throws `ClampNotAppliedError` when a lower bound cannot be written.
   */
  prepare(request: Request, decided: PreparedCall): Request;

  /** Usage reported in a complete response. */
  responseUsage(response: Response): ReportedUsage;

  /** A reader that folds one stream's events into the usage reported so far and the output seen. */
  streamUsage(request: Request): StreamUsageReader<StreamEvent>;
}

/** What the decision asks of the request to send. */
export interface PreparedCall {
  /** The model to call (the requested one, or the downgrade target). */
  model: string;
  /** The output bound to write, when it differs from the request's own (clamped, or set because none was sent). */
  maxOutputTokens: number | undefined;
}

/**
 * Usage as a provider reports it: `final` when it is complete (settle with it),
 * else whatever parts were `reported` (the unreported-usage rule fills the rest).
 */
export interface ReportedUsage {
  final?: UsageTokens | undefined;
  reported?: PartialUsage | undefined;
  /** The model the provider says answered, for `gen_ai.response.model`. */
  model?: string | undefined;
  /** `gen_ai.response.id`, when the provider sends one. */
  id?: string | undefined;
  /** `gen_ai.response.finish_reasons`. */
  finishReasons?: string[] | undefined;
}

/** Folds a stream's events; read `usage` and `output` when the stream ends or is abandoned. */
export interface StreamUsageReader<StreamEvent> {
  observe(event: StreamEvent): void;
  readonly usage: ReportedUsage;
  readonly output: StreamedOutput;
}
