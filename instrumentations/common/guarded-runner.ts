import { context, type Context } from '@opentelemetry/api';
import { withAttemptLog } from './attempts.js';
import type { DecideOnce } from './decide-once.js';
import { openGuardedCall, type GuardBinding, type GuardedCall } from './guarded-call.js';
import type { CallDescription, ProviderAdapter, ReportedUsage, StreamUsageReader } from './provider-adapter.js';
import type { ServerAddress } from './server-address.js';
import { observeAsyncIterator } from './stream-settlement.js';

/**
 * The lifecycle of a guarded call, written once and driven by any
 * {@link ProviderAdapter}: describe → decide (a block throws before anything
 * is sent) → prepare → send inside the call's span context → settle from the
 * response, or follow the stream to its end, or release by the
 * unreported-usage rule. Provider folders supply the adapter and the patching;
 * SDK-family glue (`./stainless.ts`) and the Bedrock `send` use these steps.
 */

/** A call the guard allowed: the open {@link GuardedCall} and the request to send. */
export interface StartedCall<Request> {
  call: GuardedCall;
  /** The request to send (the adapter's `prepare`d copy). */
  request: Request;
  description: CallDescription;
}

/**
 * Describes, decides and prepares a call. Resolves `undefined` for a call the
 * adapter does not guard (send it untouched). Throws the block, or the
 * adapter's `prepare` error (the reservation is then released). `server` is
 * where the client sends it (`server.address`/`server.port` on the span).
 */
export async function startGuardedCall<Request>(
  binding: GuardBinding,
  adapter: ProviderAdapter<Request, unknown, unknown>,
  request: Request,
  parent: Context = context.active(),
  server?: ServerAddress,
): Promise<StartedCall<Request> | undefined> {
  const described = adapter.describe(request);
  if (!described) return undefined;
  const description = server && !described.server ? { ...described, server } : described;
  const call = await openGuardedCall(binding, description, parent);
  try {
    return { call, request: adapter.prepare(request, call.prepared), description };
  } catch (error) {
    await call.fail(error);
    throw error;
  }
}

/**
 * Runs `send` inside the call's span context, marked as decided for `once`
 * (a guarded layer of the same SDK below passes it through). With `scoped`
 * (default), its HTTP attempts are recorded in the call's attempt log through
 * an async scope ({@link withAttemptLog}); a caller whose transport gets the
 * log with each request passes false, and no async scope is entered. A
 * synchronous throw releases the call.
 */
export function sendInCall<T>(call: GuardedCall, once: DecideOnce, send: () => T, scoped = true): T {
  try {
    const inContext = () => context.with(once.markDecided(call.context), send);
    return scoped ? withAttemptLog(call.attempts, inContext) : inContext();
  } catch (error) {
    void call.fail(error);
    throw error;
  }
}

/** Settles a complete response with its usage, or releases it by rule 1 of the unreported-usage rule. */
export async function finishResponse(call: GuardedCall, usage: ReportedUsage): Promise<void> {
  call.recordResponse(usage);
  if (usage.final) await call.settle(usage.final, usage.model ?? call.model);
  else await call.releaseUnreported(usage.reported, 'the response reported no usage');
}

/** Ends a stream's call by the one rule (see `./unreported-usage.ts`) with what `reader` saw. */
export function finishStreamCall<E>(call: GuardedCall, reader: StreamUsageReader<E>, outcome: { error?: unknown; abandoned?: boolean }): Promise<void> {
  if (outcome.error === undefined && !outcome.abandoned) reader.end?.();
  const usage = reader.usage;
  // A stream cut short before its finish reason: the conventions' `error` for the generation.
  const cutShort = outcome.error !== undefined || outcome.abandoned === true;
  call.recordResponse({ ...usage, finishReasons: usage.finishReasons ?? (cutShort ? ['error'] : undefined) });
  return call.finishStream(outcome, { final: usage.final, reported: usage.reported, model: usage.model ?? call.model }, reader.output);
}

/**
 * The stream's events as the caller pulls them (never read ahead): each one
 * observed by `reader`, hidden when the reader says so, and the call ended
 * exactly once when the stream ends, fails or is abandoned.
 */
export function observeStream<E>(call: GuardedCall, reader: StreamUsageReader<E>, source: AsyncIterator<E>): AsyncIterableIterator<E> {
  const finish = (outcome: { error?: unknown; abandoned?: boolean }) => finishStreamCall(call, reader, outcome);
  if (reader.visible) return observeAsyncIterator(visibleOnly(source, reader), () => undefined, finish);
  return observeAsyncIterator(source, (event) => reader.observe(event), finish);
}

/** Observes every event and skips the ones the reader hides. */
function visibleOnly<E>(source: AsyncIterator<E>, reader: StreamUsageReader<E>): AsyncIterator<E> {
  const it: AsyncIterator<E> = {
    async next(...a: [] | [unknown]) {
      for (;;) {
        const step = await source.next(...a);
        if (step.done) return step;
        let visible = true;
        try {
          reader.observe(step.value);
          visible = reader.visible!(step.value);
        } catch {
          // Observing usage must never break the caller's stream.
        }
        if (visible) return step;
      }
    },
  };
  if (source.return) it.return = (v?: unknown) => source.return!(v);
  if (source.throw) it.throw = (e?: unknown) => source.throw!(e);
  return it;
}
