import { context } from '@opentelemetry/api';
import { decideOnce } from '../common/decide-once.js';
import { openGuardedCall, type GuardBinding, type GuardedCall } from '../common/guarded-call.js';
import { aiSdkAdapter } from './adapter.js';
import type { LanguageModelCall, LanguageModelCallOptions, LanguageModelLike, StreamResultLike } from './model-call.js';
import type { AiSdkStreamReader } from './usage.js';

/**
 * One decision per call, whichever of our layers sees it first: the
 * `spendGuardMiddleware` over a model whose class register also patched, or
 * (under register) the safety net below (see `../common/decide-once.ts`).
 */
export const aiSdkOnce = decideOnce('ai-sdk');
/**
 * The mark the safety net below the SDKs reads: set on every call this
 * integration decided and kept when an inner layer passes the call through
 * (which consumes only the `ai-sdk` mark), so the HTTP request that carries
 * the call is never decided again.
 */
export const providerHttpOnce = decideOnce('provider-http');

/** `doGenerate` or `doStream` of a model instance (the unpatched method). */
export type ModelMethod = (this: LanguageModelLike, options: LanguageModelCallOptions) => PromiseLike<unknown>;

/**
 * Runs one language-model call through the spend guard: describe, decide
 * (a block throws `AgentGuardBlockedError` before `send` runs, so nothing is
 * fetched), prepare (downgrade, output bound), send inside the call's context
 * marked as decided, and settle — from the result's usage, or, for a stream,
 * from its `finish` part when the stream ends (the unreported-usage rule when
 * it does not report, is cancelled or fails).
 */
export async function runGuardedModelCall(binding: GuardBinding, call: LanguageModelCall, send: ModelMethod): Promise<unknown> {
  const description = aiSdkAdapter.describe(call);
  if (!description) return send.call(call.model, call.options);
  const guarded = await openGuardedCall(binding, description);
  let prepared: LanguageModelCall;
  let result: unknown;
  try {
    prepared = aiSdkAdapter.prepare(call, guarded.prepared);
    result = await context.with(providerHttpOnce.markDecided(aiSdkOnce.markDecided(guarded.context)), () => send.call(prepared.model, prepared.options));
  } catch (error) {
    // Rule 3: nothing came back (HTTP error, network, abort, a request that could not be prepared).
    await guarded.fail(error);
    throw error;
  }
  if (call.stream) return observeStreamResult(result, guarded);
  const usage = aiSdkAdapter.responseUsage(result);
  guarded.recordResponse(usage);
  if (usage.final) await guarded.settle(usage.final, usage.model);
  else await guarded.releaseUnreported(usage.reported, 'the result reported no usage');
  return result;
}

/** The `doStream` result with its parts stream observed (same object shape, a new `stream`). */
function observeStreamResult(result: unknown, guarded: GuardedCall): unknown {
  const r = result as StreamResultLike | undefined;
  if (!r || typeof r !== 'object' || !(r.stream instanceof ReadableStream)) {
    void guarded.releaseUnreported(undefined, 'doStream returned no stream');
    return result;
  }
  return { ...r, stream: observePartsStream(r.stream, guarded, aiSdkAdapter.streamUsage({} as LanguageModelCall) as AiSdkStreamReader) };
}

/**
 * A ReadableStream that passes the parts through as the caller pulls them
 * (never ahead: high-water mark 0), folds them into usage, and finishes the
 * call once: at the end (settled from the `finish` part's usage), on an error
 * (the stream's or an `error` part's), or when the caller cancels it.
 */
export function observePartsStream(source: ReadableStream<unknown>, guarded: GuardedCall, reader: AiSdkStreamReader): ReadableStream<unknown> {
  let upstream: ReadableStreamDefaultReader<unknown> | undefined;
  const finish = (outcome: { error?: unknown; abandoned?: boolean }) => {
    guarded.recordResponse(reader.usage);
    return guarded.finishStream(outcome, reader.usage, reader.output);
  };
  return new ReadableStream<unknown>(
    {
      async pull(controller) {
        upstream ??= source.getReader();
        let step: Awaited<ReturnType<ReadableStreamDefaultReader<unknown>['read']>>;
        try {
          step = await upstream.read();
        } catch (error) {
          await finish({ error });
          controller.error(error);
          return;
        }
        if (step.done) {
          await finish(reader.error !== undefined ? { error: reader.error } : {});
          controller.close();
          return;
        }
        try {
          reader.observe(step.value);
        } catch {
          // Observing usage never breaks the caller's stream.
        }
        controller.enqueue(step.value);
      },
      async cancel(reason) {
        await finish({ abandoned: true });
        await (upstream ? upstream.cancel(reason) : source.cancel(reason));
      },
    },
    { highWaterMark: 0 },
  );
}
