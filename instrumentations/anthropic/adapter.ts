import { trace, type Context, type Span } from '@opentelemetry/api';
import { inputTokenBound } from '../common/estimate.js';
import { ClampNotAppliedError, type CallDescription } from '../common/guarded-call.js';
import type { PreparedCall, ProviderAdapter, ReportedUsage, StreamUsageReader } from '../common/provider-adapter.js';
import { takeOverrideHeadersFromOptions, type StainlessRequest } from '../common/stainless.js';
import { AnthropicUsageAccumulator } from './usage.js';

/** Provider name of this adapter (engine, price table, span). */
export const PROVIDER = 'anthropic';
/** `gen_ai.operation.name` of `messages.create`. */
export const OPERATION = 'chat';
/**
 * Output bound used only when a request has no valid `max_tokens`. The
 * Messages API requires `max_tokens` and rejects a request without it, so this
 * only prices (and releases) a call the API is about to refuse; it is set
 * above every current Claude model's output limit so it never under-reserves.
 */
export const DEFAULT_MAX_TOKENS_CEILING = 128_000;

/**
 * The adapter of `messages.create` (plain and beta) for a client billed by
 * `provider` (see {@link anthropicProviderOf}).
 */
export function anthropicAdapter(provider: string): ProviderAdapter<StainlessRequest> {
  let adapter = ADAPTERS.get(provider);
  if (!adapter) {
    adapter = makeAdapter(provider);
    ADAPTERS.set(provider, adapter);
  }
  return adapter;
}

const ADAPTERS = new Map<string, ProviderAdapter<StainlessRequest>>();

function makeAdapter(provider: string): ProviderAdapter<StainlessRequest> {
  return {
    describe: (request) => describe(provider, request),
    prepare,
    responseUsage,
    streamUsage: () => new AnthropicStreamReader(),
  };
}

/**
 * Which provider bills a client's calls. `@anthropic-ai/bedrock-sdk` and
 * `@anthropic-ai/vertex-sdk` clients extend this SDK's client and use the same
 * `Messages` class (so they are guarded too), but are billed (and priced) as
 * Bedrock / Vertex models: recognised by their `awsRegion` / `projectId` fields.
 */
export function anthropicProviderOf(client: unknown): string {
  if (client && typeof client === 'object') {
    if ('awsRegion' in client) return 'bedrock';
    if ('projectId' in client && 'region' in client) return 'google-vertex';
  }
  return PROVIDER;
}

/**
 * The context a call's span starts in: under `messages.stream()` the SDK's
 * helper passes its own span down as `options.__span`, and ours is its child.
 */
export function helperSpanContext(request: StainlessRequest, active: Context): Context {
  const span = (request.options as { __span?: { span?: Span } } | undefined)?.__span?.span;
  if (!span || typeof span.spanContext !== 'function' || !trace.isSpanContextValid(span.spanContext())) return active;
  return trace.setSpan(active, span);
}

/**
 * Tokens Anthropic adds for its tool-use system prompt when a request defines
 * tools: at most 530 by its documentation (Claude 3 Opus; 346 or fewer for
 * Claude 3.5 and later).
 */
export const TOOL_PROMPT_TOKENS = 530;

/**
 * `messages.create` params → {@link CallDescription}, or undefined for params
 * that are not an object (sent untouched; the SDK rejects them). Input
 * estimate: no exact tokenizer for Claude runs locally, so the proven bound of
 * `../common/estimate.ts` (UTF-8 bytes, one token per byte at most) over
 * `system` + `messages` + `tools`, plus {@link TOOL_PROMPT_TOKENS} when tools
 * are defined (the provider's reported usage settles the call). Output bound:
 * `max_tokens`.
 */
function describe(provider: string, request: StainlessRequest): CallDescription | undefined {
  if (!request.params || typeof request.params !== 'object') return undefined;
  const params = request.params as Record<string, unknown>;
  const maxTokens = params.max_tokens;
  const sent = typeof maxTokens === 'number' && Number.isSafeInteger(maxTokens) && maxTokens >= 0;
  return {
    provider,
    operation: OPERATION,
    model: String(params.model ?? ''),
    estimatedInputTokens:
      inputTokenBound({ system: params.system, messages: params.messages, tools: params.tools }) +
      (Array.isArray(params.tools) && params.tools.length > 0 ? TOOL_PROMPT_TOKENS : 0),
    maxOutputTokens: sent ? maxTokens : DEFAULT_MAX_TOKENS_CEILING,
    outputBoundSent: sent,
    stream: params.stream === true,
    overrides: takeOverrideHeadersFromOptions(request.options).overrides,
  };
}

/**
 * The request to send: the caller's params with the decided model and, when
 * the decision set an output bound, `max_tokens` set to it; the options
 * without the override headers. With extended thinking on,
 * `thinking.budget_tokens` must stay below `max_tokens` and at least 1024, so
 * a budget at or above the bound is lowered to `max_tokens − 1`; a bound of
 * 1024 tokens or fewer cannot keep thinking on and throws
 * {@link ClampNotAppliedError} (the call is not sent). The caller's objects
 * are never changed.
 */
function prepare(request: StainlessRequest, decided: PreparedCall): StainlessRequest {
  const params = request.params as Record<string, unknown>;
  const options = takeOverrideHeadersFromOptions(request.options).options;
  const max = decided.maxOutputTokens;
  if (decided.model === params.model && max === undefined) return { params, options };
  const out: Record<string, unknown> = { ...params, model: decided.model };
  if (max === undefined) return { params: out, options };
  out.max_tokens = max;
  const thinking = params.thinking as { type?: unknown; budget_tokens?: unknown } | undefined;
  if (thinking && thinking.type === 'enabled' && typeof thinking.budget_tokens === 'number' && thinking.budget_tokens >= max) {
    if (max - 1 < 1024) throw new ClampNotAppliedError(max, 'extended thinking needs a budget of at least 1024 tokens below max_tokens');
    out.thinking = { ...thinking, budget_tokens: max - 1 };
  }
  return { params: out, options };
}

/** Usage, id and stop reason of a whole (non-streamed) Message. */
function responseUsage(message: unknown): ReportedUsage {
  const acc = new AnthropicUsageAccumulator();
  acc.onMessage(message);
  const m = (message && typeof message === 'object' ? message : {}) as { id?: unknown; stop_reason?: unknown };
  return {
    final: acc.final(),
    reported: acc.reported(),
    model: acc.model,
    ...(typeof m.id === 'string' ? { id: m.id } : {}),
    ...(typeof m.stop_reason === 'string' ? { finishReasons: [m.stop_reason] } : {}),
  };
}

/**
 * Usage of a stream: `message_start` (input side, the message id) and
 * `message_delta` (cumulative usage, final; the stop reason).
 */
class AnthropicStreamReader implements StreamUsageReader<unknown> {
  readonly #acc = new AnthropicUsageAccumulator();
  #id: string | undefined;
  #stopReason: string | undefined;

  observe(event: unknown): void {
    this.#acc.onEvent(event);
    const e = (event && typeof event === 'object' ? event : {}) as { type?: unknown; message?: { id?: unknown }; delta?: { stop_reason?: unknown } };
    if (e.type === 'message_start' && typeof e.message?.id === 'string') this.#id = e.message.id;
    if (e.type === 'message_delta' && typeof e.delta?.stop_reason === 'string') this.#stopReason = e.delta.stop_reason;
  }

  get usage(): ReportedUsage {
    return {
      final: this.#acc.final(),
      reported: this.#acc.reported(),
      model: this.#acc.model,
      id: this.#id,
      finishReasons: this.#stopReason ? [this.#stopReason] : undefined,
    };
  }

  get output() {
    return this.#acc.output;
  }
}
