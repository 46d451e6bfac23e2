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

const current = new AsyncLocalStorage<AttemptLog>();

/** Runs `send` so that every attempt a counted transport makes inside it is recorded in `log`. */
export function withAttemptLog<T>(log: AttemptLog, send: () => T): T {
  return current.run(log, send);
}

/** The attempt log of the guarded call running now, if any. */
export function currentAttemptLog(): AttemptLog | undefined {
  return current.getStore();
}

type Fetch = (this: unknown, ...args: unknown[]) => Promise<unknown>;
const counted = new WeakSet<object>();

/**
 * Makes a Stainless client's transport (its `fetch` property, called once per
 * attempt, retries included) record each attempt made inside a guarded call.
 * Idempotent per client; calls outside a guarded call pass straight through.
 * The client's `fetch` property becomes a wrapper around the one it held.
 */
export function countFetchAttempts(client: unknown): void {
  if (!client || typeof client !== 'object') return;
  const holder = client as { fetch?: unknown };
  const fetch = holder.fetch;
  if (typeof fetch !== 'function' || counted.has(fetch)) return;
  const original = fetch as Fetch;
  const countedFetch = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
    const log = current.getStore();
    if (!log) return original.apply(this, args);
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
