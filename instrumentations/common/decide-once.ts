import { context, type Context } from '@opentelemetry/api';

/**
 * "Already guarded": each call is decided exactly once, even when two of our
 * guarded layers sit on its path (the explicit `with…SpendGuard` wrapper over
 * an instrumented client). The layer that decides sends the call inside a
 * context marked for its SDK; the next guarded layer of that SDK below it sees
 * the mark and passes the call through, consuming the mark so nothing further
 * down is mistaken for the same call.
 *
 * One key per SDK (a Bedrock call made while an OpenAI call is being sent is
 * still guarded), made with `Symbol.for` so every copy of this package (the
 * ESM and CommonJS builds, two versions) shares it.
 *
 * Every mark also sets the `provider-http` key, which the safety net below the
 * SDKs reads and which no layer's pass-through removes: the HTTP request that
 * carries a decided call is never decided again, even after an inner layer of
 * the same SDK consumed its own mark (an explicit wrapper over a
 * register-instrumented client).
 */
export interface DecideOnce {
  /** Whether the active context is inside a call an outer guarded layer already decided. */
  alreadyDecided(ctx?: Context): boolean;
  /** The context in which a decided call is sent. */
  markDecided(ctx: Context): Context;
  /** Runs `send` (the layer's original method) without the mark: call it when {@link alreadyDecided}. */
  passThrough<T>(send: () => T): T;
}

/** The key the safety net reads (see {@link decideOnce}). */
export const PROVIDER_HTTP = 'provider-http';
const keyOf = (sdk: string) => Symbol.for(`agentguard-spend.${sdk}.guarded-call`);
const PROVIDER_HTTP_KEY = keyOf(PROVIDER_HTTP);

export function decideOnce(sdk: string): DecideOnce {
  const key = keyOf(sdk);
  return {
    alreadyDecided: (ctx = context.active()) => ctx.getValue(key) === true,
    markDecided: (ctx) => ctx.setValue(key, true).setValue(PROVIDER_HTTP_KEY, true),
    passThrough: (send) => context.with(context.active().deleteValue(key), send),
  };
}
