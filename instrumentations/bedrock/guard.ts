import { context } from '@opentelemetry/api';
import { decideOnce } from '../common/decide-once.js';
import type { GuardBinding } from '../common/guarded-call.js';
import { finishResponse, observeStream, sendInCall, startGuardedCall } from '../common/guarded-runner.js';
import {
  bedrockAdapter,
  bedrockRequestId,
  countAttemptsOf,
  guardedCommandName,
  streamPropertyOf,
  type BedrockRequest,
  type BedrockSendOptions,
} from './adapter.js';
import { isObject } from './models.js';
import { bedrockServerOf } from './server.js';

// The enforcing `send`, apart from the instrumentation class so that `register`'s
// engine builds the same function without loading `@opentelemetry/instrumentation`.

/** `BedrockRuntimeClient.send(command, options?, cb?)`. */
export type SendFn = (this: unknown, command: unknown, optionsOrCb?: unknown, cb?: unknown) => unknown;

/** One decision per call: wrapper over instrumentation (see `../common/decide-once.ts`). */
const once = decideOnce('bedrock');

/**
 * `send(command, options?, cb?)` of `client`, guarded: used by the
 * instrumentation and the wrapper. `original` is the SDK's own `send`;
 * `binding` is resolved per call (the instrumentation's config can change).
 * Commands other than the four inference commands pass through untouched. The
 * callback form keeps working: the callback gets `(null, output)` or `(error)`.
 */
export function guardSend(binding: () => GuardBinding, client: unknown, original: SendFn, command: unknown, optionsOrCb?: unknown, cb?: unknown): unknown {
  if (once.alreadyDecided()) return once.passThrough(() => original.call(client, command, optionsOrCb, cb));
  if (!guardedCommandName(command)) return original.call(client, command, optionsOrCb, cb);
  const callback =
    typeof optionsOrCb === 'function'
      ? (optionsOrCb as (err: unknown, out?: unknown) => void)
      : typeof cb === 'function'
        ? (cb as (err: unknown, out?: unknown) => void)
        : undefined;
  const options = typeof optionsOrCb === 'function' ? undefined : (optionsOrCb as BedrockSendOptions | undefined);
  const promise = sendGuarded(binding, client, original, { command, options });
  if (!callback) return promise;
  promise.then(
    (output) => callback(null, output),
    (error) => callback(error),
  );
  return undefined;
}

/** Clients whose attempts are counted in an async scope (a call of theirs answered with no attempt counted by input). */
const scopedClients = new WeakSet<object>();

/**
 * Decides, sends the prepared command, and settles: at once for Converse and
 * InvokeModel, when the event stream ends for ConverseStream and
 * InvokeModelWithResponseStream (observed lazily, never read ahead).
 */
async function sendGuarded(binding: () => GuardBinding, client: unknown, original: SendFn, request: BedrockRequest): Promise<unknown> {
  const started = await startGuardedCall(binding(), bedrockAdapter, request, context.active(), await bedrockServerOf(client));
  if (!started) return original.call(client, request.command, request.options);
  const { call, request: sent } = started;
  let output: unknown;
  try {
    // The header middleware finds the call's attempt log by the command's input: no async scope unless it cannot.
    const scoped = scopedClients.has(client as object) || !countAttemptsOf(sent.command, call.attempts);
    output = await sendInCall(call, once, () => original.call(client, sent.command, sent.options), scoped);
    // An answer without an attempt counted: this client's middleware saw another input; count its later calls in a scope.
    if (call.attempts.sent === 0 && client && typeof client === 'object') scopedClients.add(client);
  } catch (error) {
    // A 2xx whose body could not be deserialized: the model ran, so the projection is charged.
    // Older SDKs throw the parser's SyntaxError without $metadata: it too can only come from a response body.
    const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
    if ((typeof status === 'number' && status >= 200 && status < 300) || (error instanceof SyntaxError && status === undefined)) {
      await call.releaseUnreported(undefined, 'the response body could not be read');
    } else await call.fail(error);
    throw error;
  }
  const key = streamPropertyOf(sent);
  if (!key) {
    await finishResponse(call, bedrockAdapter.responseUsage({ output, sent }));
    return output;
  }
  call.recordResponse({ id: bedrockRequestId(output) });
  const source = isObject(output) ? output[key] : undefined;
  if (!isObject(output) || !source || typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') {
    await call.releaseUnreported(undefined, 'Bedrock reported no token usage for the call');
    return output;
  }
  const reader = bedrockAdapter.streamUsage(request);
  // A proxy of the event stream whose iterator is observed; nothing is read until the caller reads.
  output[key] = new Proxy(source as AsyncIterable<unknown> & object, {
    get(target, prop) {
      if (prop === Symbol.asyncIterator) return () => observeStream(call, reader, target[Symbol.asyncIterator]());
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return output;
}
