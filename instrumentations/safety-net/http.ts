import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import { NetRewriteError } from './adapter.js';
import { ResponseTap, openNetCall, watchedEndpoint, type NetCall, type SafetyNetConfig } from './net-call.js';
import { holdBody, type WriteCb } from './hold-body.js';

type RequestFn = (...args: unknown[]) => ClientRequest;

/**
 * `http.request`/`https.request` (and `get`), guarded. A request to a watched
 * provider endpoint that no SDK-level guard decided is created as usual, but
 * its body is held back: `write()` and `end()` collect it, and only once the
 * whole body is known is it decided, and then sent (rewritten when the
 * decision changed it) — or the request is destroyed with the error before
 * a byte of it is written. The response is read for usage as the caller
 * reads it (the net observes its `data` events; it never reads on its own).
 */
export function guardRequest(original: RequestFn, defaultProtocol: 'http:' | 'https:', net: () => SafetyNetConfig, get = false): RequestFn {
  return function agentguardRequest(this: unknown, ...args: unknown[]): ClientRequest {
    const target = targetOf(args, defaultProtocol, get);
    const config = net();
    if (!target || !watchedEndpoint(config, target.method, target.url)) return original.apply(this, args);
    const req = original.apply(this, args);
    holdRequestBody(req, config, target.method, target.url);
    return req;
  };
}

function targetOf(args: unknown[], defaultProtocol: string, get: boolean): { method: string; url: URL } | undefined {
  try {
    let url: URL | undefined;
    let options: RequestOptions = {};
    const [a, b] = args;
    if (typeof a === 'string' || a instanceof URL) {
      url = new URL(String(a));
      if (b && typeof b === 'object') options = b as RequestOptions;
    } else if (a && typeof a === 'object') {
      options = a as RequestOptions;
    }
    if (!url) {
      const protocol = options.protocol ?? defaultProtocol;
      const host = options.hostname ?? options.host?.replace(/:\d+$/, '') ?? 'localhost';
      const port = options.port ?? (options.host?.match(/:(\d+)$/)?.[1] || undefined);
      url = new URL(`${protocol}//${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}${port ? `:${port}` : ''}${options.path ?? '/'}`);
    } else {
      if (options.hostname || options.host) url.hostname = String(options.hostname ?? options.host).replace(/:\d+$/, '');
      if (options.port) url.port = String(options.port);
      if (options.path) {
        const p = new URL(options.path, url);
        url.pathname = p.pathname;
        url.search = p.search;
      }
    }
    return { method: (get ? 'GET' : (options.method ?? 'GET')).toUpperCase(), url };
  } catch {
    return undefined;
  }
}

function holdRequestBody(req: ClientRequest, config: SafetyNetConfig, method: string, url: URL): void {
  holdBody(req, (original, end, done) => {
    void openNetCall(config, method, url, original.toString('utf8')).then(
      (netCall) => send(req, end, original, netCall, done),
      (error: Error) => req.destroy(error),
    );
  });
}

function send(req: ClientRequest, end: ClientRequest['end'], original: Buffer, netCall: NetCall | undefined, done: WriteCb): void {
  if (req.destroyed) {
    void netCall?.call?.fail(new Error('request destroyed before it was sent'));
    return;
  }
  let body = original;
  if (netCall?.body !== undefined) {
    body = Buffer.from(netCall.body, 'utf8');
    if (req.getHeader('content-length') !== undefined) {
      if (req.headersSent) {
        const error = new NetRewriteError('the request headers (with the old Content-Length) were already sent, so the rewritten body cannot be');
        void netCall.call?.fail(error);
        req.destroy(error);
        return;
      }
      req.setHeader('content-length', body.length);
    }
  }
  const call = netCall?.call;
  if (call && netCall.request) {
    const request = netCall.request;
    const emit = req.emit;
    let responded = false;
    req.emit = function (this: ClientRequest, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'response') {
        responded = true;
        const res = args[0] as IncomingMessage;
        observeResponse(res, new ResponseTap(call, request, res.statusCode ?? 0, res.headers['content-type']));
      } else if (event === 'error' && !responded) void call.fail(args[0]);
      else if (event === 'close' && !responded) void call.fail(new Error('request closed before a response'));
      return emit.call(this, event, ...args);
    } as ClientRequest['emit'];
  }
  (end as (chunk: unknown, cb?: () => void) => ClientRequest).call(req, body, done as () => void);
}

/** Watches the events the response emits to its reader (`data` in flowing and paused mode alike); never reads by itself. */
function observeResponse(res: IncomingMessage, tap: ResponseTap): void {
  const emit = res.emit;
  let ended = false;
  res.emit = function (this: IncomingMessage, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'data') tap.feed(args[0] as Buffer);
    else if (event === 'end') {
      ended = true;
      void tap.end();
    } else if (event === 'error') void tap.cutShort({ error: args[0] });
    else if (event === 'close' && !ended) void tap.cutShort({ abandoned: true });
    return emit.call(this, event, ...args);
  } as IncomingMessage['emit'];
}
