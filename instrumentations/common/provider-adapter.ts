import type { UsageTokens } from '../../src/engine/pricing.js';
import type { SpendCallOverrides } from './scope-context.js';
import type { ServerAddress } from './server-address.js';
import type { PartialUsage, StreamedOutput } from './unreported-usage.js';

/**
 * What a provider integration knows, and nothing else: how to read a call
 * before it is sent, how to rewrite it after the decision, and where the
 * provider reports usage. The lifecycle around it (span, decision, block,
 * settlement by the unreported-usage rule, a stream's end or abandonment) is
 * written once, in `./guarded-runner.ts` over `GuardedCall`, and drives any
 * adapter; the patching of an SDK is the instrumentation's.
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

  /**
   * A reader that folds one stream's events into the usage reported so far
   * and the output seen. `request` is the caller's request (as given to
   * {@link describe}), not the prepared one.
   */
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
  /**
   * Whether the caller sees `event` (asked after {@link observe}); absent:
   * every event. For events the adapter's `prepare` asked for and the caller
   * did not (e.g. a usage-only chunk).
   */
  visible?(event: StreamEvent): boolean;
  /**
   * The stream ended normally (called before `usage` is read at its end). A
   * reader whose counts are final only at the end (not in a marked event)
   * reports them as `final` from then on.
   */
  end?(): void;
}

/** A provider call described by its adapter, before anything is sent. */
export interface CallDescription {
  provider: string;
  /** `gen_ai.operation.name`, e.g. `chat`. */
  operation: string;
  model: string;
  estimatedInputTokens: number;
  /** The output bound the call is priced at: the request's own, or the model's maximum when it sent none. */
  maxOutputTokens: number;
  /**
   * Whether the request carried its own output bound (`max_tokens`,
   * `max_output_tokens`, `maxTokens`...). False when `maxOutputTokens` is the
   * model's maximum projected by the adapter: the engine may then apply a
   * policy's default bound, which `prepare` writes into the request.
   */
  outputBoundSent: boolean;
  /** The models the call can be sent to, when not any (an Azure client's deployments); see `CallRequest.routableModels`. */
  routableModels?: readonly string[];
  stream: boolean;
  /** Overrides taken from the call itself (stripped headers). */
  overrides?: SpendCallOverrides;
  /** Where the call is sent (`server.address`/`server.port`), read from the client by the caller of the adapter. */
  server?: ServerAddress | undefined;
  /** Provider-specific span attributes the conventions define (e.g. `openai.api.type`); never content. */
  attributes?: Record<string, string | number | boolean>;
}
