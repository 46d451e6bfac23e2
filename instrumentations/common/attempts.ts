import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The HTTP attempts of one guarded call. An SDK retries under one decision
 * (after a timeout, a dropped connection, a 5xx); each such attempt may have
 * reached the provider and run, but reports no usage we can read, so each is
 * charged the decision's projection at settlement (see `docs/decisions.md`,
 * "Money and usage"). An attempt answered with a 2xx is charged by its usage;
 * one answered with another status (4xx, 429) was refused, not run; one that
 * never connected (refused, unresolvable host) never reached the provider.
 */
export class AttemptLog {
  /** Attempts sent. */
  sent = 0;
  /** Attempts that may have run without reporting usage. */
  unanswered = 0;

  /** Records an attempt's response status. */
  answered(status: number): void {
    if (status >= 500) this.unanswered++;
  }

  /** Records an attempt that failed without a response. */
  failed(error: unknown): void {
    if (!neverConnected(error)) this.unanswered++;
  }
}

/** Connection errors that prove the request never reached the provider. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_INVALID_URL']);

function neverConnected(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_CONNECTED.has(code)) return true;
  }
  return false;
}

/**
 * The fallback scope of attempt logs, for transports that cannot carry the log
 * with the request. Entered only when needed: once an AsyncLocalStorage is
 * entered, Node (before async context frames) runs a hook on every promise of
 * the process from then on (measured here: ~100 µs of CPU per OpenAI call).
 */
const current = new AsyncLocalStorage<AttemptLog>();

/** Runs `send` so that every attempt a counted transport makes inside it is recorded in `log`. */
export function withAttemptLog<T>(log: AttemptLog, send: () => T): T {
  return current.run(log, send);
}

/** The attempt log of the guarded call running now, if any. */
export function currentAttemptLog(): AttemptLog | undefined {
  return current.getStore();
}

/**
 * Key under which a guarded call's {@link AttemptLog} rides in a Stainless
 * request's `fetchOptions`: the SDKs spread `fetchOptions` (symbol keys
 * included) into the init of every `fetch` attempt, retries included, so the
 * counted transport finds the call's log without an async context.
 */
export const ATTEMPT_LOG = Symbol.for('agentguard-spend.attempt-log');

/** Request options whose `fetchOptions` carry `log` to the transport (the caller's options are not touched). */
export function withAttemptLogInFetchOptions(options: unknown, log: AttemptLog): Record<string | symbol, unknown> {
  const given = options && typeof options === 'object' ? (options as Record<string, unknown>) : {};
  const fetchOptions = given.fetchOptions && typeof given.fetchOptions === 'object' ? given.fetchOptions : {};
  return { ...given, fetchOptions: { ...fetchOptions, [ATTEMPT_LOG]: log } };
}

/** The log in a fetch init (shaped like an {@link AttemptLog}: another copy of this package may have put it there). */
function attemptLogIn(init: unknown): AttemptLog | undefined {
  const log = init && typeof init === 'object' ? (init as Record<symbol, unknown>)[ATTEMPT_LOG] : undefined;
  return log && typeof log === 'object' && typeof (log as AttemptLog).answered === 'function' && typeof (log as AttemptLog).failed === 'function'
    ? (log as AttemptLog)
    : undefined;
}

type Fetch = (this: unknown, ...args: unknown[]) => Promise<unknown>;
const counted = new WeakSet<object>();
/** Clients whose transport is counted (a wrapper's proxy may hand out a new bound `fetch` on every read). */
const countedClients = new WeakSet<object>();
/** Fetch inits already counted: a transport wrapped twice (a proxy's bound copy, two copies of this package) counts an attempt once. */
const countedInits = new WeakSet<object>();

/**
 * Makes a Stainless client's transport (its `fetch` property, called once per
 * attempt, retries included) record each attempt of a guarded call: the one
 * whose log rides in the attempt's init ({@link ATTEMPT_LOG}), else the one
 * whose scope it runs in ({@link withAttemptLog}).
 * Idempotent per client; calls outside a guarded call pass straight through.
 * The client's `fetch` property becomes a wrapper around the one it held.
 */
export function countFetchAttempts(client: unknown): void {
  if (!client || typeof client !== 'object') return;
  if (countedClients.has(client)) return;
  const holder = client as { fetch?: unknown };
  const fetch = holder.fetch;
  if (typeof fetch !== 'function' || counted.has(fetch)) return;
  countedClients.add(client);
  const original = fetch as Fetch;
  const countedFetch = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
    const init = args[1];
    const log = attemptLogIn(init) ?? current.getStore();
    if (!log) return original.apply(this, args);
    if (init && typeof init === 'object') {
      if (countedInits.has(init)) return original.apply(this, args);
      countedInits.add(init);
    }
    log.sent++;
    let response: unknown;
    try {
      response = await original.apply(this, args);
    } catch (error) {
      log.failed(error);
      throw error;
    }
    const status = (response as { status?: unknown } | null)?.status;
    if (typeof status === 'number') log.answered(status);
    return response;
  };
  counted.add(countedFetch);
  try {
    holder.fetch = countedFetch;
  } catch {
    // A frozen client: attempts go uncounted.
  }
}
