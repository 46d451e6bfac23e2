import { context } from '@opentelemetry/api';
import { decideOnce } from '../common/decide-once.js';
import { ResponseTap, openNetCall, watchedEndpoint, type NetCall, type SafetyNetConfig } from './net-call.js';

/**
 * undici's `Dispatcher#dispatch`, guarded: what `undici.request`,
 * `undici.fetch`, `stream`, `pipeline` and every `Client`/`Pool`/`Agent` of
 * the npm `undici` package (and the dispatcher behind Node's own `fetch`) end
 * in. A request to a watched provider endpoint that no guard above decided is
 * held (the dispatcher is told nothing until then), decided from its body, and
 * dispatched with the body rewritten, or failed through the dispatcher's own
 * error path so the caller gets the refusal as it gets a connection error.
 * The response is read for usage as the handler receives it (either handler
 * API: `onHeaders`/`onData`/`onComplete`, or `onResponseStart`/`onResponseData`/`onResponseEnd`).
 *
 * Nested dispatchers (an `Agent` dispatching to its `Pool`, then `Client`;
 * interceptors such as redirects) see the request marked in its options and
 * pass it: it is decided once.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type DispatchFn = (this: any, opts: DispatchOptions, handler: Handler) => boolean;
type Handler = Record<string, unknown>;
interface DispatchOptions {
  origin?: string | URL;
  path?: string;
  method?: string;
  body?: unknown;
  headers?: unknown;
  [key: symbol]: unknown;
}

/** Set on the options of a request the net handled (copied by the `{...opts}` of nested dispatchers and interceptors). */
const HANDLED = Symbol.for('agentguard-spend.safety-net.undici-dispatch');
const NET_MARK = decideOnce('provider-http');

export function guardUndiciDispatch(original: DispatchFn, net: () => SafetyNetConfig): DispatchFn {
  return function agentguardDispatch(this: unknown, opts: DispatchOptions, handler: Handler): boolean {
    // Only POSTs are priced calls (`matchEndpoint`): everything else passes before any parsing.
    if (!opts || typeof opts !== 'object' || opts[HANDLED] || !handler || typeof handler !== 'object' || !isPost(opts.method))
      return original.call(this, opts, handler);
    const target = targetOf(opts, this);
    const config = net();
    if (!target || !watchedEndpoint(config, target.method, target.url)) return original.call(this, opts, handler);
    const self = this;
    const marked: DispatchOptions = { ...opts, [HANDLED]: true };
    void readBody(opts.body)
      .then((body) => {
        // A streamed body was read whole: it is sent from what was read.
        if (body.replaced) marked.body = body.bytes;
        return openNetCall(config, target.method, target.url, body.text);
      })
      .then(
        (netCall) => {
          if (!netCall) return void original.call(self, marked, handler);
          if (netCall.body !== undefined) {
            marked.body = netCall.body;
            marked.headers = withoutContentLength(opts.headers);
          }
          const tapped = netCall.call && netCall.request ? tappingHandler(handler, netCall) : handler;
          context.with(NET_MARK.markDecided(context.active()), () => original.call(self, marked, tapped));
        },
        (error: unknown) => failThrough(original, self, handler, error),
      );
    return true;
  };
}

/**
 * Reports `error` through the dispatcher's own error path: its `dispatch`
 * catches what reading the options throws and hands it to the handler in the
 * handler's API, as it does for any request it cannot make.
 */
function failThrough(original: DispatchFn, self: unknown, handler: Handler, error: unknown): void {
  const failing = {
    get origin(): never {
      throw error;
    },
    get path(): never {
      throw error;
    },
    get method(): never {
      throw error;
    },
    [HANDLED]: true,
  };
  try {
    original.call(self, failing as unknown as DispatchOptions, handler);
  } catch {
    // A dispatcher that throws instead: the handler was told nothing more can be done.
  }
}

const isPost = (method: unknown): boolean => method === 'POST' || (typeof method === 'string' && method.toUpperCase() === 'POST');

function targetOf(opts: DispatchOptions, dispatcher: unknown): { method: string; url: URL } | undefined {
  try {
    const origin = opts.origin ?? originOf(dispatcher);
    if (!origin || typeof opts.path !== 'string') return undefined;
    return { method: (opts.method ?? 'GET').toUpperCase(), url: new URL(opts.path, origin) };
  } catch {
    return undefined;
  }
}

/**
 * The origin a `Client` or `Pool` was made for (a request to one names only
 * its path): the `URL` undici keeps under its own `url` symbol.
 */
function originOf(dispatcher: unknown): URL | undefined {
  if (!dispatcher || typeof dispatcher !== 'object') return undefined;
  for (const key of Object.getOwnPropertySymbols(dispatcher)) {
    const value = (dispatcher as Record<symbol, unknown>)[key];
    if (key.description === 'url' && value instanceof URL) return value;
  }
  return undefined;
}

/** Largest streamed body the net reads to decide it; a larger one is handled as unreadable. */
const MAX_STREAMED_BODY = 32 * 1024 * 1024;

/**
 * The body as text: at once when undici sends it as is (string, bytes); a
 * stream or async iterable (what `undici.fetch` hands its dispatcher) is read
 * whole, and then sent from the bytes read (`replaced`). Undefined text for a
 * body the net cannot read (a form, a body past the size limit).
 */
async function readBody(body: unknown): Promise<{ text: string | undefined; replaced?: boolean; bytes?: Buffer }> {
  if (body === undefined || body === null) return { text: undefined };
  if (typeof body === 'string') return { text: body };
  if (body instanceof ArrayBuffer) return { text: Buffer.from(body).toString('utf8') };
  if (ArrayBuffer.isView(body)) return { text: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8') };
  if (typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function') return { text: undefined };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<unknown>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    size += bytes.length;
    if (size > MAX_STREAMED_BODY) throw new RangeError(`the request body is over ${MAX_STREAMED_BODY} bytes, more than the safety net reads to decide it`);
    chunks.push(bytes);
  }
  const bytes = Buffer.concat(chunks);
  return { text: bytes.toString('utf8'), replaced: true, bytes };
}

/** The headers without `content-length` (the body was rewritten); undici's three shapes: object, flat array, iterable of pairs. */
function withoutContentLength(headers: unknown): unknown {
  const isLength = (k: unknown) => String(k).toLowerCase() === 'content-length';
  if (!headers) return headers;
  if (Array.isArray(headers)) {
    if (headers.every((h) => Array.isArray(h))) return (headers as unknown[][]).filter(([k]) => !isLength(k));
    const out: unknown[] = [];
    for (let i = 0; i + 1 < headers.length; i += 2) if (!isLength(headers[i])) out.push(headers[i], headers[i + 1]);
    return out;
  }
  if (typeof headers === 'object' && typeof (headers as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function')
    return [...(headers as Iterable<[string, string]>)].filter(([k]) => !isLength(k));
  if (typeof headers === 'object') return Object.fromEntries(Object.entries(headers).filter(([k]) => !isLength(k)));
  return headers;
}

/**
 * The handler, reading the response for usage on the way: every method is
 * the original's (called on the original), the response ones feed the tap.
 */
function tappingHandler(handler: Handler, netCall: NetCall): Handler {
  const { call, request } = netCall as Required<NetCall>;
  let tap: ResponseTap | undefined;
  const start = (status: number, contentType: string | undefined) => (tap = new ResponseTap(call!, request!, status, contentType));
  const failed = (error: unknown) => (tap ? tap.cutShort({ error }) : call!.fail(error));
  const taps: Record<string, (args: unknown[]) => void> = {
    // Legacy API.
    onHeaders: ([status, raw]) => start(Number(status), headerOf(raw, 'content-type')),
    onData: ([chunk]) => tap?.feed(chunk as Uint8Array),
    onComplete: () => void tap?.end(),
    onError: ([error]) => void failed(error),
    // Handler API of undici 7.
    onResponseStart: ([, status, headers]) => start(Number(status), headerOf(headers, 'content-type')),
    onResponseData: ([, chunk]) => tap?.feed(chunk as Uint8Array),
    onResponseEnd: () => void tap?.end(),
    onResponseError: ([, error]) => void failed(error),
  };
  return new Proxy(handler, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown;
      if (typeof value !== 'function') return value;
      const observe = typeof key === 'string' ? taps[key] : undefined;
      return (...args: unknown[]) => {
        if (observe) {
          try {
            observe(args);
          } catch {
            // Reading usage never fails the response.
          }
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** A header from undici's raw headers (flat array of buffers/strings) or a headers object. */
function headerOf(headers: unknown, name: string): string | undefined {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
    return undefined;
  }
  if (headers && typeof headers === 'object') {
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return Array.isArray(v) ? String(v[0]) : String(v);
  }
  return undefined;
}
