import { context, type Context } from '@opentelemetry/api';
import { AgentGuardError } from '../../src/audit/errors.js';
import { countFetchAttempts, withAttemptLogInFetchOptions } from './attempts.js';
import type { DecideOnce } from './decide-once.js';
import type { GuardBinding, GuardedCall } from './guarded-call.js';
import { finishResponse, finishStreamCall, observeStream, sendInCall, startGuardedCall, type StartedCall } from './guarded-runner.js';
import type { ProviderAdapter, StreamUsageReader } from './provider-adapter.js';
import { serverOfStainlessClient } from './server-address.js';
import { OVERRIDE_HEADERS, takeOverrideHeaders, type SpendCallOverrides } from './scope-context.js';

/**
 * What the two Stainless-generated SDKs (`openai`, `@anthropic-ai/sdk`) share,
 * solved once: the guarded `create` that keeps the SDK's `APIPromise`
 * (`_thenUnwrap`, `.withResponse()`, `.asResponse()`), the `Stream` observed in
 * place, the raw `Response` of `.asResponse()` read as the caller reads it,
 * and the `x-agentguard-*` override headers stripped from request options.
 *
 * The `APIPromise` of Stainless-generated SDKs (`openai` >=5, `@anthropic-ai/sdk`
 * >=0.50.1): `new APIPromise(client, responsePromise, parseResponse)`, a
 * Promise whose `then` parses lazily, with `asResponse()`, `withResponse()` and
 * `_thenUnwrap()` that the SDKs' own helpers (`stream()`, `parse()`,
 * `runTools()`) build on. A guarded `create` must return one of the client's
 * own SDK copy (the CommonJS and ESM builds are separate copies): a plain
 * Promise breaks those helpers.
 */
/** The minimal shape of the SDK's APIPromise we rely on. */
export interface APIPromiseLike<T = unknown> extends Promise<T> {
  responsePromise: Promise<unknown>;
  parseResponse: (client: unknown, props: unknown) => unknown;
  parse?: () => Promise<T>;
  asResponse?: () => Promise<unknown>;
  withResponse?: () => Promise<{ data: T; response: unknown; request_id?: unknown }>;
}
export type APIPromiseClass = new (
  client: unknown,
  responsePromise: Promise<unknown>,
  parseResponse: (client: unknown, props: unknown) => unknown,
) => APIPromiseLike;

/** A class whose instances look like an APIPromise (a thenable with `asResponse`). */
export function isAPIPromiseClass(v: unknown): v is APIPromiseClass {
  const proto = typeof v === 'function' ? (v as { prototype?: Record<string, unknown> }).prototype : undefined;
  return !!proto && typeof proto.asResponse === 'function' && typeof proto.then === 'function';
}

/** By client class: the APIPromise class of its SDK copy, or null when it has none we can use. */
const classes = new WeakMap<object, APIPromiseClass | null>();

/** Records the APIPromise class of an SDK copy (e.g. from its module exports), keyed by its client class. */
export function registerAPIPromiseClass(clientClass: unknown, apiPromise: unknown): void {
  if (typeof clientClass === 'function' && isAPIPromiseClass(apiPromise) && hasCurrentShape(apiPromise)) classes.set(clientClass, apiPromise);
}

/**
 * The APIPromise class of `client`'s SDK copy: registered for its class (or a
 * parent class), else learned once per client class by asking the client for
 * a request whose options never resolve: `client.request()` returns an
 * APIPromise synchronously and sends nothing until its options resolve, so
 * nothing is sent, and the pending promise is garbage once dropped. A class
 * without the current constructor shape is refused (undefined).
 */
export function apiPromiseClassOf(client: unknown): APIPromiseClass | undefined {
  if (!client || typeof client !== 'object') return undefined;
  const clientClass = (client as object).constructor;
  for (let c: unknown = clientClass; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    const known = classes.get(c);
    if (known !== undefined) return known ?? undefined;
  }
  const found = probe(client);
  if (typeof clientClass === 'function') classes.set(clientClass, found ?? null);
  return found;
}

function probe(client: object): APIPromiseClass | undefined {
  const request = (client as { request?: (options: unknown) => unknown }).request;
  if (typeof request !== 'function') return undefined;
  try {
    const p = request.call(client, new Promise(() => {}));
    const ctor = p && typeof p === 'object' ? (p as object).constructor : undefined;
    return p instanceof Promise && ctor !== Promise && isAPIPromiseClass(ctor) && hasCurrentShape(ctor) ? ctor : undefined;
  } catch {
    return undefined;
  }
}

/** `(client, responsePromise, parseResponse)`, keeping both as plain properties; older shapes are refused. */
function hasCurrentShape(APIPromise: APIPromiseClass): boolean {
  try {
    const marker = new Promise<unknown>(() => {});
    const parse = () => undefined;
    const check = new APIPromise({}, marker, parse);
    return check.responsePromise === marker && check.parseResponse === parse;
  } catch {
    return false;
  }
}

/** What {@link deferredAPIPromise} needs from the provider adapter. */
export interface DeferredCall {
  /**
   * Already running: decides the call and, unless blocked, calls the SDK's
   * original method. Resolves with what that returned, boxed (a bare APIPromise
   * would be adopted, i.e. parsed). Releases the call itself on failures of
   * its own.
   */
  started: Promise<{ inner: unknown }>;
  /**
   * How the inner call's result is parsed. `'shared'`: `inner.parse()`, which
   * the inner APIPromise memoizes, so anyone else holding it (contrib
   * instrumentation-openai calls `.then` on it) shares one read of the body.
   * `'own'`: `inner.parseResponse(client, props)`, parsed once, by the outer
   * promise: for SDKs whose `parse()` traces itself (`@anthropic-ai/sdk` ends
   * its span there), so the SDK's span is ended once.
   */
  parse: 'shared' | 'own';
  /** Observes the parsed result (settles, or watches a stream in place); returns what the caller gets. */
  observe(data: unknown): unknown;
  /**
   * Releases the call after a failure of the response or of the parse (must be
   * idempotent). `answered`: the provider answered with a 2xx, so the call ran
   * even though its body could not be read.
   */
  fail(error: unknown, answered?: boolean): Promise<void>;
  /**
   * `.asResponse()` returned the raw Response: settle from it, as a parse may
   * never come. Returns the Response to give the caller. `parseStarted`:
   * whether the promise is being parsed too (`withResponse()` does both).
   */
  onAsResponse?(response: unknown, parseStarted: boolean): unknown;
}

/**
 * The guarded APIPromise, returned synchronously: an APIPromise of the client's
 * SDK copy whose `responsePromise` awaits the decision (a block rejects before
 * the original method runs, so nothing is sent) and then forwards the inner
 * call's `responsePromise`, and whose `parseResponse` delegates to the inner
 * one and observes the result. An inner wrapper (another instrumentation) that
 * returned a plain Promise still works: its value is the parsed result, and
 * there is no raw Response to give. Without an APIPromise class the result is
 * a plain Promise (still guarded).
 */
export function deferredAPIPromise(APIPromise: APIPromiseClass | undefined, client: unknown, call: DeferredCall): Promise<unknown> {
  let foreign: { data: unknown } | undefined;
  let parseStarted = false;

  const responsePromise = (async () => {
    const { inner } = await call.started;
    if (isAPIPromiseLike(inner)) return await inner.responsePromise;
    foreign = { data: await inner };
    return { response: undefined, options: {}, controller: new AbortController() };
  })().catch(async (error: unknown) => {
    await call.fail(error);
    throw error;
  });

  const parseResponse = async (c: unknown, props: unknown): Promise<unknown> => {
    parseStarted = true;
    const { inner } = await call.started;
    let data: unknown;
    try {
      if (foreign) data = foreign.data;
      else if (call.parse === 'shared' && typeof (inner as APIPromiseLike).parse === 'function') data = await (inner as APIPromiseLike).parse!();
      else data = await (inner as APIPromiseLike).parseResponse(c, props);
    } catch (error) {
      await call.fail(error, answeredOk(props));
      throw error;
    }
    return call.observe(data);
  };

  if (!APIPromise) return responsePromise.then((props) => parseResponse(client, props));
  const outer = new APIPromise(client, responsePromise, parseResponse);
  const onAsResponse = call.onAsResponse;
  const asResponse = outer.asResponse;
  if (onAsResponse && typeof asResponse === 'function') {
    Object.defineProperty(outer, 'asResponse', {
      configurable: true,
      writable: true,
      value: function (this: APIPromiseLike): Promise<unknown> {
        return asResponse.call(this).then((response) => onAsResponse(response, parseStarted));
      },
    });
  }
  return outer;
}

/** Whether the response props the SDK parses from hold a 2xx response. */
function answeredOk(props: unknown): boolean {
  const response = (props as { response?: { ok?: unknown; status?: unknown } } | null | undefined)?.response;
  return response?.ok === true || (typeof response?.status === 'number' && response.status >= 200 && response.status < 300);
}

function isAPIPromiseLike(value: unknown): value is APIPromiseLike {
  return !!value && typeof (value as APIPromiseLike).parseResponse === 'function' && typeof (value as APIPromiseLike).responsePromise?.then === 'function';
}

/** What a Stainless `create(params, options)` receives: the request an adapter describes and prepares. */
export interface StainlessRequest {
  params: unknown;
  /** Request options (headers, signal, ...), already awaited when the SDK passed a promise. */
  options: unknown;
}

/**
 * Reads and strips the `x-agentguard-*` override headers from request options.
 * The SDKs accept headers as a plain object, a `Headers`, or a list of pairs;
 * the options are copied only when an override header is present.
 */
export function takeOverrideHeadersFromOptions(options: unknown): { options: unknown; overrides: SpendCallOverrides } {
  if (!options || typeof options !== 'object') return { options, overrides: {} };
  const headers = (options as { headers?: unknown }).headers;
  if (!headers || typeof headers !== 'object') return { options, overrides: {} };
  let plain: Record<string, unknown>;
  if (typeof (headers as Headers).forEach === 'function' && typeof (headers as Headers).get === 'function' && !Array.isArray(headers)) {
    const h = headers as Headers;
    if (!Object.keys(OVERRIDE_HEADERS).some((name) => h.has(name))) return { options, overrides: {} };
    plain = {};
    h.forEach((value, name) => (plain[name] = value));
  } else if (Array.isArray(headers)) {
    if (!headers.some((pair) => Array.isArray(pair) && typeof pair[0] === 'string' && pair[0].toLowerCase() in OVERRIDE_HEADERS))
      return { options, overrides: {} };
    plain = {};
    for (const pair of headers as unknown[][]) if (Array.isArray(pair) && typeof pair[0] === 'string') plain[pair[0]] = pair[1];
  } else {
    plain = headers as Record<string, unknown>;
  }
  const taken = takeOverrideHeaders(plain);
  if (taken.headers === plain && plain === headers) return { options, overrides: {} };
  return { options: { ...(options as object), headers: taken.headers }, overrides: taken.overrides };
}

/** How one SDK's `create` is guarded. */
export interface StainlessCreateSource {
  /** The adapter for a call of `client` (the client can decide the provider billed). */
  adapter(client: unknown): ProviderAdapter<StainlessRequest>;
  /** One decision per call for this SDK (see `./decide-once.ts`). */
  once: DecideOnce;
  /** The binding for this call; throws when misconfigured (the call then fails closed). */
  binding(): GuardBinding;
  /** False: pass the call through untouched (instrumentation disabled). */
  enabled?(): boolean;
  /** The APIPromise class of the SDK copy this `create` belongs to, when known from its exports. */
  apiPromiseClass?: APIPromiseClass | undefined;
  /** See {@link DeferredCall.parse}. */
  parse: 'shared' | 'own';
  /**
   * Without an APIPromise class for the client: `'plain-promise'` returns a
   * plain (still guarded) Promise; `'refuse'` throws before anything is sent
   * (an SDK whose helpers cannot work on a plain Promise).
   */
  withoutAPIPromise: 'plain-promise' | 'refuse';
  /** The context the call's span starts in (default: the active one), e.g. a helper's own span. */
  parentContext?(request: StainlessRequest, active: Context): Context;
}

type CreateFn = (this: unknown, ...args: unknown[]) => unknown;

/**
 * The guarded `create`: returns, synchronously, an APIPromise of the client's
 * SDK copy whose response promise first awaits the decision (a block rejects
 * before the original `create` runs, so nothing is sent), then runs the
 * original `create` with the prepared request and forwards its response
 * promise; its parse step observes the result: a response's usage settles the
 * call, a `Stream` is observed in place (see {@link observeStainlessStream}).
 * `.asResponse()` alone never parses, so the raw body is read as the caller
 * reads it (see {@link tapRawResponse}).
 */
export function guardStainlessCreate(original: CreateFn, source: StainlessCreateSource): CreateFn {
  return function guardedCreate(this: unknown, ...args: unknown[]): unknown {
    if (source.once.alreadyDecided()) return source.once.passThrough(() => original.apply(this, args));
    if (source.enabled && !source.enabled()) return original.apply(this, args);
    const self = this;
    const client = (self as { _client?: unknown } | null | undefined)?._client;
    const APIPromise = source.apiPromiseClass ?? apiPromiseClassOf(client);
    if (!APIPromise && source.withoutAPIPromise === 'refuse') {
      throw new AgentGuardError('agentguard-spend: unsupported SDK client (no APIPromise found); refusing to send an unguarded call');
    }
    const adapter = source.adapter(client);
    // Each HTTP attempt (SDK retries included) goes through the client's fetch: count them per call.
    countFetchAttempts(client);
    const parent = context.active();
    let started: (StartedCall<StainlessRequest> & { caller: StainlessRequest }) | undefined;

    // Boxed: an async function returning the (thenable) APIPromise would adopt it, i.e. parse it.
    const run = (async () => {
      const binding = source.binding();
      const [params, rawOptions, ...rest] = args;
      const options = isThenable(rawOptions) ? await rawOptions : rawOptions;
      const caller: StainlessRequest = { params, options };
      const s = await startGuardedCall(binding, adapter, caller, source.parentContext?.(caller, parent) ?? parent, serverOfStainlessClient(client));
      if (!s) return { inner: original.apply(self, args) };
      started = { ...s, caller };
      const sent = s.request;
      // The call's attempt log rides with the request to the counted fetch; an async scope only where it may not arrive.
      const sendOptions = withAttemptLogInFetchOptions(sent.options, s.call.attempts);
      const scoped = attemptsNeedScope(client, sent.options);
      return { inner: sendInCall(s.call, source.once, () => original.apply(self, [sent.params, sendOptions, ...rest]), scoped) };
    })();

    const outer = deferredAPIPromise(APIPromise, client, {
      started: run,
      parse: source.parse,
      fail: async (error, answered) => {
        if (!started || started.call.done) return;
        // A 2xx whose body cannot be read (not JSON, cut off): the provider ran the call, rule 1.
        if (answered) await started.call.releaseUnreported(undefined, 'the response body could not be read');
        else await started.call.fail(error);
      },
      observe: async (data) => {
        if (!started) return data;
        const { call, description, caller } = started;
        // A response without an attempt counted: this client's requests lose the log on the way (a middleware
        // rebuilding the fetch init, say); its later calls count attempts in an async scope.
        if (call.attempts.sent === 0) scopedClients.add(client as object);
        if (description.stream && isStainlessStream(data)) observeStainlessStream(data, call, adapter.streamUsage(caller));
        else await finishResponse(call, adapter.responseUsage(data));
        return data;
      },
      onAsResponse: (response, parseStarted) =>
        parseStarted || !started || started.call.done
          ? response
          : tapRawResponse(response as Response, started.call, adapter, started.caller, started.description.stream),
    }) as APIPromiseLike;
    if (source.parse === 'shared' && typeof outer.asResponse === 'function') keepInnerWithResponse(outer, run);
    return outer;
  };
}

/** Clients whose attempts are counted in an async scope (see {@link attemptsNeedScope}). */
const scopedClients = new WeakSet<object>();

/**
 * Whether a guarded call's attempts must be counted in an async scope: the
 * log rides in `fetchOptions`, which reaches the client's `fetch` unless a
 * fetch middleware (Anthropic's client or request `middleware`, a backend's)
 * rebuilds the init on the way, or a call of this client already lost it.
 */
function attemptsNeedScope(client: unknown, options: unknown): boolean {
  if (!client || typeof client !== 'object') return true;
  if (scopedClients.has(client)) return true;
  const c = client as { middleware?: unknown; backendMiddleware?: unknown };
  if (Array.isArray(c.middleware) && c.middleware.length > 0) return true;
  if (typeof c.backendMiddleware === 'function') {
    try {
      const backend: unknown = (c.backendMiddleware as () => unknown).call(client);
      if (!Array.isArray(backend) || backend.length > 0) return true;
    } catch {
      return true;
    }
  }
  const middleware = options && typeof options === 'object' ? (options as { middleware?: unknown }).middleware : undefined;
  return Array.isArray(middleware) ? middleware.length > 0 : middleware !== undefined;
}

/**
 * `.withResponse()` like the SDK's own: parse first (it may retry a body
 * timeout), then the inner promise's response (its parse is shared, so the
 * body is read once).
 */
function keepInnerWithResponse(outer: APIPromiseLike, run: Promise<{ inner: unknown }>): void {
  Object.defineProperty(outer, 'withResponse', {
    configurable: true,
    writable: true,
    value: async () => {
      const data = await outer;
      const { inner } = await run;
      if (isAPIPromiseLike(inner) && typeof inner.withResponse === 'function') return { ...(await inner.withResponse()), data };
      const props = (await outer.responsePromise) as { response?: { headers?: { get(name: string): string | null } } };
      return { data, response: props.response, request_id: props.response?.headers?.get('x-request-id') ?? null };
    },
  });
}

/** A Stainless `Stream`: async iterable, with a `controller`, reading from its `iterator`. */
interface StainlessStream {
  controller?: AbortController;
  iterator?: () => AsyncIterator<unknown>;
  [Symbol.asyncIterator]: () => AsyncIterator<unknown>;
}

function isStainlessStream(value: unknown): value is StainlessStream {
  return !!value && typeof value === 'object' && typeof (value as StainlessStream)[Symbol.asyncIterator] === 'function';
}

/**
 * Observes the SDK's `Stream` in place: the same object (iterable, `tee()`,
 * `toReadableStream()`, `controller`) whose iterator now feeds `reader` and
 * ends the call when the caller's read ends, is abandoned (`break`,
 * `controller.abort()`, also before anything was read) or fails. Nothing is
 * read ahead of the caller. The SDKs' `tee()`/`[Symbol.asyncIterator]` call the
 * instance's `iterator` function, so that is what is replaced; only the first
 * iterator is observed (the SDKs allow one).
 */
export function observeStainlessStream(stream: StainlessStream, call: GuardedCall, reader: StreamUsageReader<unknown>): void {
  const signal = stream.controller?.signal;
  if (signal && typeof signal.addEventListener === 'function') {
    const abandon = () => void finishStreamCall(call, reader, { abandoned: true });
    if (signal.aborted) abandon();
    else signal.addEventListener('abort', abandon, { once: true });
  }
  let observed = false;
  const wrap = (source: AsyncIterator<unknown>): AsyncIterator<unknown> => {
    if (observed) return source;
    observed = true;
    return observeStream(call, reader, source);
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
 * as the caller pulls it (never ahead), reading the usage from it (the SSE
 * events through the adapter's stream reader, or the JSON response) and ending
 * the call when the body ends, fails or is cancelled.
 */
export function tapRawResponse(
  response: Response,
  call: GuardedCall,
  adapter: ProviderAdapter<StainlessRequest>,
  request: StainlessRequest,
  streamed: boolean,
): Response {
  const source = response?.body;
  if (!source) {
    void call.releaseUnreported(undefined, 'the response has no body');
    return response;
  }
  const reader = streamed ? adapter.streamUsage(request) : undefined;
  const decoder = new TextDecoder();
  let buffered = '';
  const feed = (text: string, final: boolean) => {
    buffered += text;
    if (!reader) return;
    const lines = buffered.split(/\r?\n/);
    buffered = final ? '' : (lines.pop() ?? '');
    for (const line of lines) {
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (!data || data === '[DONE]') continue;
      try {
        reader.observe(JSON.parse(data));
      } catch {
        // Not JSON: not an event usage is read from.
      }
    }
  };
  const finish = async () => {
    feed(decoder.decode(), true);
    if (reader) return finishStreamCall(call, reader, {});
    let json: unknown;
    try {
      json = JSON.parse(buffered);
    } catch {
      // Not JSON: no usage.
    }
    buffered = '';
    await finishResponse(call, adapter.responseUsage(json));
  };
  // A stream cut short follows rule 2; a non-streamed response was generated in full before it was sent: rule 1.
  const cutShort = (outcome: { error?: unknown; abandoned?: boolean }) =>
    reader ? finishStreamCall(call, reader, outcome) : call.releaseUnreported(undefined, 'the response body was not read to its end');
  let bodyReader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      bodyReader ??= source.getReader();
      let step: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
      try {
        step = await bodyReader.read();
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
      await (bodyReader ? bodyReader.cancel(reason) : source.cancel(reason));
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

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return !!v && (typeof v === 'object' || typeof v === 'function') && typeof (v as PromiseLike<unknown>).then === 'function';
}
