/**
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
export type APIPromiseClass = new (client: unknown, responsePromise: Promise<unknown>, parseResponse: (client: unknown, props: unknown) => unknown) => APIPromiseLike;

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
  /** Releases the call after a failure of the response or of the parse (must be idempotent). */
  fail(error: unknown): Promise<void>;
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
      await call.fail(error);
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

function isAPIPromiseLike(value: unknown): value is APIPromiseLike {
  return !!value && typeof (value as APIPromiseLike).parseResponse === 'function' && typeof (value as APIPromiseLike).responsePromise?.then === 'function';
}

