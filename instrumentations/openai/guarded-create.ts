import { context } from '@opentelemetry/api';
import { decideOnce } from '../common/decide-once.js';
import { apiPromiseClassOf, deferredAPIPromise, type APIPromiseClass, type APIPromiseLike } from '../common/stainless-api-promise.js';
import { openGuardedCall, type CallDescription, type GuardBinding, type GuardedCall } from '../common/guarded-call.js';
import { observeAsyncIterator } from '../common/stream-settlement.js';
import { describeRequest, prepareBody, resultUsage, StreamUsageTracker, type OpenAIEndpoint } from './adapter.js';

/**
 * The guarded `create`: one function used by the instrumentation (patched onto
 * the prototypes) and by the wrapper (an own property of the wrapped client's
 * resources).
 *
 * The SDK's `APIPromise` is kept: `create` returns, synchronously, a new
 * APIPromise of the same class whose `responsePromise` first awaits the
 * decision (block throws before the original `create` runs, so nothing is
 * sent) and then runs the original `create` and forwards its
 * `responsePromise`; its `parseResponse` awaits the inner APIPromise's own
 * parse (shared with anyone else holding the inner promise, e.g. another
 * instrumentation) and observes the result: usage of a response, or a lazy
 * wrapper around a stream's `iterator`, so `Stream` objects stay the SDK's
 * (iterable, `tee()`, `controller`, `toReadableStream()`).
 */

/** One decision per call: wrapper over instrumentation (see `../common/decide-once.ts`). */
const once = decideOnce('openai');

/** What a guarded create needs from whoever installs it. */
export interface CreateGuardSource {
  endpoint: OpenAIEndpoint;
  /** The binding for this call; throws when misconfigured (the call then fails closed). */
  binding(): GuardBinding;
  /** False: pass through untouched (instrumentation disabled). */
  enabled(): boolean;
  /** The APIPromise class of the SDK copy this create belongs to, if known. */
  apiPromiseClass?: APIPromiseClass | undefined;
}

type CreateFn = (this: unknown, ...args: unknown[]) => unknown;

/** Builds the guarded version of an original `create`. */
export function makeGuardedCreate(original: CreateFn, source: CreateGuardSource): CreateFn {
  return function guardedCreate(this: unknown, ...args: unknown[]): unknown {
    if (once.alreadyDecided()) return once.passThrough(() => original.apply(this, args));
    if (!source.enabled()) return original.apply(this, args);
    return guardedCall(this, original, source, args);
  };
}

/** Whether `context.active()` is inside a guarded call (for tests and diagnostics). */
export function isInsideGuardedCall(): boolean {
  return once.alreadyDecided();
}

function guardedCall(resource: unknown, original: CreateFn, source: CreateGuardSource, args: unknown[]): unknown {
  const endpoint = source.endpoint;
  const client = (resource as { _client?: unknown } | null)?._client;
  let call: GuardedCall | undefined;
  let description: CallDescription | undefined;
  let hideUsageChunk = false;

  // Boxed: an async function returning the (thenable) APIPromise would adopt it, i.e. parse it.
  const started: Promise<{ inner: APIPromiseLike }> = (async () => {
    const binding = source.binding();
    const [body, rawOptions, ...rest] = args;
    const options = isThenable(rawOptions) ? await rawOptions : rawOptions;
    const described = describeRequest(endpoint, body, options);
    description = described.description;
    call = await openGuardedCall(binding, described.description);
    let prepared: ReturnType<typeof prepareBody>;
    try {
      prepared = prepareBody(endpoint, body, call.model, call.clampedMaxOutputTokens);
    } catch (error) {
      await call.fail(error);
      throw error;
    }
    hideUsageChunk = prepared.hideUsageChunk;
    const callArgs = args.length >= 2 || described.options !== undefined ? [prepared.body, described.options, ...rest] : [prepared.body];
    const guardedContext = once.markDecided(call.context);
    try {
      return { inner: context.with(guardedContext, () => original.apply(resource, callArgs)) as APIPromiseLike };
    } catch (error) {
      await call.fail(error);
      throw error;
    }
  })();

  const outer = deferredAPIPromise(source.apiPromiseClass ?? apiPromiseClassOf(client), client, {
    started,
    // Shared with anyone else holding the inner promise (contrib instrumentation-openai parses it too).
    parse: 'shared',
    fail: async (error) => {
      if (call && !call.done) await call.fail(error);
    },
    observe: (result) => (call && description ? observeResult(call, description, endpoint, hideUsageChunk, result) : result),
    // asResponse() alone never parses: settle from a clone of the raw response instead.
    onAsResponse: (response) => {
      if (call && description && !call.done) void settleFromRawResponse(call, description, endpoint, response);
      return response;
    },
  }) as APIPromiseLike;
  if (typeof outer.asResponse !== 'function') return outer; // a plain Promise: unknown SDK shape, still guarded
  // Like the SDK's own: parse first (it may retry a body timeout), then the response of the inner promise.
  Object.defineProperty(outer, 'withResponse', {
    configurable: true,
    writable: true,
    value: async () => {
      const data = await outer;
      const { inner } = await started;
      if (typeof inner.withResponse === 'function') return { ...(await inner.withResponse()), data };
      const props = (await outer.responsePromise) as { response?: { headers?: { get(name: string): string | null } } };
      return { data, response: props.response, request_id: props.response?.headers?.get('x-request-id') ?? null };
    },
  });
  return outer;
}

/**
 * Settles a call whose caller took the raw `Response` (`asResponse()`): reads
 * a clone of the body in the background (JSON, or SSE events for streams). The
 * caller's own body is untouched; with SSE the clone buffers what the caller
 * has not read yet. If the caller also parses the promise, whichever finishes
 * first settles (exactly once).
 */
async function settleFromRawResponse(call: GuardedCall, description: CallDescription, endpoint: OpenAIEndpoint, response: unknown): Promise<void> {
  let clone: { text(): Promise<string> };
  try {
    clone = (response as { clone(): { text(): Promise<string> } }).clone();
  } catch {
    return; // body already used: the parse path settles
  }
  const tracker = new StreamUsageTracker(endpoint, false);
  try {
    const text = await clone.text();
    if (call.done) return;
    if (description.stream) {
      for (const line of text.split('\n')) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (!data || data === '[DONE]') continue;
        try {
          tracker.observe(JSON.parse(data));
        } catch {
          // Not JSON: not an event we read usage from.
        }
      }
      await call.finishStream({}, { final: tracker.usage, model: tracker.model }, tracker.output);
      return;
    }
    const { usage, model } = resultUsage(endpoint, JSON.parse(text));
    if (usage) await call.settle(usage, model);
    else await call.releaseUnreported(undefined, 'no usage in the response');
  } catch (error) {
    if (call.done) return;
    // A stream cut short follows rule 2; a non-stream response was generated in full: rule 1.
    if (description.stream) await call.finishStream({ error }, { final: tracker.usage, model: tracker.model }, tracker.output);
    else await call.releaseUnreported(undefined, 'the response body could not be read');
  }
}

async function observeResult(call: GuardedCall, description: CallDescription, endpoint: OpenAIEndpoint, hideUsageChunk: boolean, result: unknown): Promise<unknown> {
  if (description.stream && isStream(result)) {
    wrapStream(result, call, new StreamUsageTracker(endpoint, hideUsageChunk));
    return result;
  }
  const { usage, model } = resultUsage(endpoint, result);
  if (usage) await call.settle(usage, model);
  else await call.releaseUnreported(undefined, 'no usage in the response');
  return result;
}

interface StreamLike {
  iterator: (...args: unknown[]) => AsyncIterator<unknown>;
  controller?: AbortController;
}

function isStream(v: unknown): v is StreamLike {
  return !!v && typeof v === 'object' && typeof (v as StreamLike).iterator === 'function';
}

/**
 * Wraps the stream's `iterator` (the source that `[Symbol.asyncIterator]`,
 * `tee()` and `toReadableStream()` all read from) lazily: nothing is read until
 * the caller reads. Settles at the end, or releases on error/abandon/abort.
 */
function wrapStream(stream: StreamLike, call: GuardedCall, tracker: StreamUsageTracker): void {
  const source = stream.iterator;
  // The one rule for a stream's end (see `../common/unreported-usage.ts`).
  const finish = (outcome: { error?: unknown; abandoned?: boolean }) => call.finishStream(outcome, { final: tracker.usage, model: tracker.model }, tracker.output);
  stream.iterator = function guardedIterator(this: unknown, ...args: unknown[]) {
    const inner = source.apply(this, args);
    return observeAsyncIterator(filterIterator(inner, tracker), () => undefined, finish);
  };
  const signal = stream.controller?.signal;
  if (signal && typeof signal.addEventListener === 'function') {
    if (signal.aborted) void finish({ abandoned: true });
    else signal.addEventListener('abort', () => void finish({ abandoned: true }), { once: true });
  }
}

/** Skips the items the tracker hides (the usage-only chunk the caller did not ask for). */
function filterIterator(source: AsyncIterator<unknown>, tracker: StreamUsageTracker): AsyncIterator<unknown> {
  const it: AsyncIterator<unknown> = {
    async next(...a: [] | [unknown]) {
      for (;;) {
        const step = await source.next(...a);
        if (step.done || tracker.observe(step.value)) return step;
      }
    },
  };
  if (source.return) it.return = (v?: unknown) => source.return!(v);
  if (source.throw) it.throw = (e?: unknown) => source.throw!(e);
  return it;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return !!v && (typeof v === 'object' || typeof v === 'function') && typeof (v as PromiseLike<unknown>).then === 'function';
}
