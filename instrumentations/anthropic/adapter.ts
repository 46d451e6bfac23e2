import { context, trace, type Span } from '@opentelemetry/api';
import { AgentGuardError } from '../../src/audit/errors.js';
import { streamAbandoned } from '../common/unreported-usage.js';
import { decideOnce } from '../common/decide-once.js';
import { apiPromiseClassOf, deferredAPIPromise } from '../common/stainless-api-promise.js';
import { estimateTokensFromBytes } from '../common/estimate.js';
import { ClampNotAppliedError, openGuardedCall, type CallDescription, type GuardBinding, type GuardedCall } from '../common/guarded-call.js';
import { OVERRIDE_HEADERS, takeOverrideHeaders, type SpendCallOverrides } from '../common/scope-context.js';
import { observeAsyncIterator } from '../common/stream-settlement.js';
import { AnthropicUsageAccumulator } from './usage.js';

/** Provider name of this adapter (engine, price table, span). */
export const ANTHROPIC_PROVIDER = 'anthropic';
/** `gen_ai.operation.name` of `messages.create`. */
export const ANTHROPIC_OPERATION = 'chat';
/**
 * Output bound used only when a request has no valid `max_tokens`. The
 * Messages API requires `max_tokens` and rejects a request without it, so this
 * only prices (and releases) a call the API is about to refuse; it is set
 * above every current Claude model's output limit so it never under-reserves.
 */
export const DEFAULT_MAX_TOKENS_CEILING = 128_000;

/** One decision per call: wrapper over instrumentation (see `../common/decide-once.ts`). */
const once = decideOnce('anthropic');

/** The SDK's `messages.create` (plain or beta). */
export type MessagesCreate = (this: unknown, params: unknown, options?: unknown) => unknown;

/** A request, described for the engine, with the headers to send. */
export interface PreparedMessagesCall {
  description: CallDescription;
  /** The request options with `x-agentguard-*` headers removed. */
  options: unknown;
}

/**
 * `messages.create` params/options → {@link CallDescription}. Input estimate:
 * no light exact tokenizer exists for Claude, so the documented
 * 3-bytes-per-token estimate over `system` + `messages` + `tools` (the
 * provider's reported usage settles the call). Output bound: `max_tokens`.
 */
export function describeMessagesCall(params: Record<string, unknown>, options: unknown, provider: string = ANTHROPIC_PROVIDER): PreparedMessagesCall {
  const maxTokens = params.max_tokens;
  const maxOutputTokens = typeof maxTokens === 'number' && Number.isSafeInteger(maxTokens) && maxTokens >= 0 ? maxTokens : DEFAULT_MAX_TOKENS_CEILING;
  const { options: sendOptions, overrides } = takeHeadersFromOptions(options);
  return {
    description: {
      provider,
      operation: ANTHROPIC_OPERATION,
      model: String(params.model ?? ''),
      estimatedInputTokens: estimateTokensFromBytes({ system: params.system, messages: params.messages, tools: params.tools }),
      maxOutputTokens,
      stream: params.stream === true,
      overrides,
    },
    options: sendOptions,
  };
}

/**
 * Reads and strips the `x-agentguard-*` override headers from request options.
 * The SDK accepts headers as a plain object, a `Headers`, or a list of pairs;
 * the options are copied only when an override header is present.
 */
export function takeHeadersFromOptions(options: unknown): { options: unknown; overrides: SpendCallOverrides } {
  if (!options || typeof options !== 'object') return { options, overrides: {} };
  const headers = (options as { headers?: unknown }).headers;
  if (!headers || typeof headers !== 'object') return { options, overrides: {} };
  let plain: Record<string, unknown> | undefined;
  if (typeof (headers as Headers).forEach === 'function' && typeof (headers as Headers).get === 'function' && !Array.isArray(headers)) {
    const h = headers as Headers;
    if (!Object.keys(OVERRIDE_HEADERS).some((name) => h.has(name))) return { options, overrides: {} };
    plain = {};
    h.forEach((value, name) => (plain![name] = value));
  } else if (Array.isArray(headers)) {
    if (!headers.some((pair) => Array.isArray(pair) && typeof pair[0] === 'string' && pair[0].toLowerCase() in OVERRIDE_HEADERS)) return { options, overrides: {} };
    plain = {};
    for (const pair of headers as unknown[][]) if (Array.isArray(pair) && typeof pair[0] === 'string') plain[pair[0]] = pair[1];
  } else {
    plain = headers as Record<string, unknown>;
  }
  const taken = takeOverrideHeaders(plain);
  if (taken.headers === plain && plain === headers) return { options, overrides: {} };
  return { options: { ...(options as object), headers: taken.headers }, overrides: taken.overrides };
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
  return ANTHROPIC_PROVIDER;
}

/** The span a stream helper (`messages.stream()`) started for its call, passed down as `__span`. */
function helperSpanOf(options: unknown): Span | undefined {
  const span = (options as { __span?: { span?: Span } } | undefined)?.__span?.span;
  if (!span || typeof span.spanContext !== 'function') return undefined;
  return trace.isSpanContextValid(span.spanContext()) ? span : undefined;
}

/**
 * The params to send: the caller's, with the decided model and, when a
 * `clampMaxTokens` cap lowered the output bound, `max_tokens` set to it. With
 * extended thinking on, `thinking.budget_tokens` must stay below `max_tokens`
 * and at least 1024, so a budget at or above the clamp is lowered to
 * `max_tokens − 1`; a clamp to 1024 tokens or fewer cannot keep thinking on and
 * throws {@link ClampNotAppliedError} (the call is not sent). The caller's
 * object is never changed.
 */
export function paramsToSend(request: Record<string, unknown>, model: string, clampedMaxTokens: number | undefined): Record<string, unknown> {
  if (model === request.model && clampedMaxTokens === undefined) return request;
  const out: Record<string, unknown> = { ...request, model };
  if (clampedMaxTokens === undefined) return out;
  out.max_tokens = clampedMaxTokens;
  const thinking = request.thinking as { type?: unknown; budget_tokens?: unknown } | undefined;
  if (thinking && thinking.type === 'enabled' && typeof thinking.budget_tokens === 'number' && thinking.budget_tokens >= clampedMaxTokens) {
    if (clampedMaxTokens - 1 < 1024) throw new ClampNotAppliedError(clampedMaxTokens, 'extended thinking needs a budget of at least 1024 tokens below max_tokens');
    out.thinking = { ...thinking, budget_tokens: clampedMaxTokens - 1 };
  }
  return out;
}

/**
 * Wraps the SDK's `messages.create` so every call is decided before anything
 * is sent, and settled from the provider's reported usage.
 *
 * It keeps the SDK's return type: it returns, synchronously, a new `APIPromise`
 * of the client's own SDK copy whose response promise first awaits the
 * decision, then calls the original `create` (with the model rewritten on
 * `downgrade`) and forwards that call's response promise; its parse step
 * delegates to the original's and observes the result (usage of a Message, or
 * the events of a `Stream`, observed in place as the caller reads them).
 * `.withResponse()`, `.asResponse()`, `_thenUnwrap` (`messages.parse`,
 * `messages.stream`) therefore work as before.
 */
export function guardMessagesCreate(original: MessagesCreate, getBinding: () => GuardBinding): MessagesCreate {
  return function agentguardMessagesCreate(this: unknown, params: unknown, options?: unknown): unknown {
    if (once.alreadyDecided()) return once.passThrough(() => original.call(this, params, options));
    if (!params || typeof params !== 'object') return original.call(this, params, options);
    const self = this;
    const client = (self as { _client?: unknown } | undefined)?._client;
    const APIPromise = apiPromiseClassOf(client);
    if (!APIPromise) {
      throw new AgentGuardError('agentguard-spend: unsupported @anthropic-ai/sdk client (no APIPromise found); refusing to send an unguarded call');
    }
    const request = params as Record<string, unknown>;
    const parent = context.active();
    let call: GuardedCall | undefined;

    const started = (async () => {
      const binding = getBinding();
      const prepared = describeMessagesCall(request, options, anthropicProviderOf(client));
      // Under `messages.stream()` the SDK's helper already started its span: ours is its child.
      const helper = helperSpanOf(options);
      const guarded = await context.with(helper ? trace.setSpan(parent, helper) : parent, () => openGuardedCall(binding, prepared.description));
      call = guarded;
      try {
        const sendParams = paramsToSend(request, guarded.model, guarded.clampedMaxOutputTokens);
        return { inner: context.with(once.markDecided(guarded.context), () => original.call(self, sendParams, prepared.options)) };
      } catch (error) {
        await guarded.fail(error);
        throw error;
      }
    })();

    return deferredAPIPromise(APIPromise, client, {
      started,
      // The SDK's parse() ends its own span: parsed once, by the outer promise.
      parse: 'own',
      fail: async (error) => {
        await call?.fail(error);
      },
      observe: async (data) => {
        const guarded = call!;
        if (request.stream === true && isStreamLike(data)) {
          observeStreamInPlace(data, guarded);
        } else {
          const acc = new AnthropicUsageAccumulator();
          acc.onMessage(data);
          const usage = acc.final();
          if (usage) await guarded.settle(usage, acc.model);
          else await guarded.releaseUnreported(acc.reported(), 'the response reported no usage');
        }
        return data;
      },
      // `.asResponse()` alone never parses: observe the body the caller reads instead,
      // so the call still settles from the usage in it. (`.withResponse()` parses too.)
      onAsResponse: (response, parseStarted) => (parseStarted || !call || call.done ? response : tapResponse(response as Response, call, request.stream === true)),
    });
  };
}

interface StreamLike {
  controller?: AbortController;
  iterator?: () => AsyncIterator<unknown>;
  [Symbol.asyncIterator]: () => AsyncIterator<unknown>;
}

function isStreamLike(value: unknown): value is StreamLike {
  return !!value && typeof value === 'object' && typeof (value as StreamLike)[Symbol.asyncIterator] === 'function';
}

/**
 * Observes the SDK's `Stream` in place: the same object (iterable, `tee()`,
 * `toReadableStream()`, `controller`) whose iterator now feeds usage from
 * `message_start`/`message_delta` and settles the call when the caller's read
 * ends, is abandoned (`break`, `controller.abort()`) or fails. Nothing is read
 * ahead of the caller. The SDK's `tee()`/`[Symbol.asyncIterator]` call the
 * instance's `iterator` function (0.50 … 1.x), so that is what is replaced;
 * only the first iterator is observed (the SDK allows one).
 */
export function observeStreamInPlace(stream: StreamLike, call: GuardedCall): void {
  const acc = new AnthropicUsageAccumulator();
  const signal = stream.controller?.signal;
  let observed = false;
  // Aborted before anyone reads: release now rather than waiting for the reservation to expire.
  const onAbort = () => void call.releaseCutShort(streamAbandoned('stream aborted before it was read'), acc.reported(), acc.output);
  if (signal?.aborted) return onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });

  const wrap = (source: AsyncIterator<unknown>): AsyncIterator<unknown> => {
    if (observed) return source;
    observed = true;
    signal?.removeEventListener('abort', onAbort);
    return observeAsyncIterator(
      source,
      (event) => acc.onEvent(event),
      // The one rule for a stream's end (see `../common/unreported-usage.ts`).
      (outcome) => call.finishStream(outcome, { final: acc.final(), reported: acc.reported(), model: acc.model }, acc.output),
    );
  };

  if (typeof stream.iterator === 'function' && Object.prototype.hasOwnProperty.call(stream, 'iterator')) {
    const iterate = stream.iterator;
    stream.iterator = function (this: unknown) {
      return wrap(iterate.call(this));
    };
  } else {
    const iterate = stream[Symbol.asyncIterator];
    Object.defineProperty(stream, Symbol.asyncIterator, {
      configurable: true,
      writable: true,
      value: function (this: unknown) {
        return wrap(iterate.call(this));
      },
    });
  }
}

/**
 * For `.asResponse()`: a Response whose body passes the original body through
 * as the caller pulls it (never ahead), picking the usage out of it — the SSE
 * `message_start`/`message_delta` events, or the JSON Message — and settling
 * when the body ends, fails or is cancelled.
 */
function tapResponse(response: Response, call: GuardedCall, streamed: boolean): Response {
  const source = response.body;
  if (!source) {
    void call.releaseUnreported(undefined, 'the response has no body');
    return response;
  }
  const acc = new AnthropicUsageAccumulator();
  const decoder = new TextDecoder();
  let buffered = '';
  const feed = (text: string, final: boolean) => {
    buffered += text;
    if (!streamed) return;
    const lines = buffered.split(/\r?\n/);
    buffered = final ? '' : lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('data:') || !(line.includes('"message_') || line.includes('"content_block_delta"'))) continue;
      try {
        acc.onEvent(JSON.parse(line.slice(5)));
      } catch {
        // Not an event we need.
      }
    }
  };
  const finish = async () => {
    feed(decoder.decode(), true);
    if (!streamed) {
      try {
        acc.onMessage(JSON.parse(buffered));
      } catch {
        // Not JSON: no usage.
      }
      buffered = '';
    }
    const usage = acc.final();
    if (usage) await call.settle(usage, acc.model);
    else await call.releaseUnreported(acc.reported(), 'the response body reported no final usage');
  };
  // A stream cut short follows rule 2; a non-streamed Message was generated in full before it was sent: rule 1.
  const cutShort = (outcome: { error?: unknown; abandoned?: boolean }) =>
    streamed
      ? call.finishStream(outcome, { final: acc.final(), reported: acc.reported(), model: acc.model }, acc.output)
      : call.releaseUnreported(undefined, 'the response body was not read to its end');
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      reader ??= source.getReader();
      let step: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>>;
      try {
        step = await reader.read();
      } catch (error) {
        await cutShort({ error });
        controller.error(error);
        return;
      }
      if (step.done) {
        await finish();
        controller.close();
        return;
      }
      feed(decoder.decode(step.value, { stream: true }), false);
      controller.enqueue(step.value);
    },
    async cancel(reason) {
      await cutShort({ abandoned: true });
      await (reader ? reader.cancel(reason) : source.cancel(reason));
    },
  });
  const tapped = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  for (const key of ['url', 'redirected', 'type'] as const) {
    try {
      Object.defineProperty(tapped, key, { value: response[key], configurable: true });
    } catch {
      // Best effort.
    }
  }
  return tapped;
}
