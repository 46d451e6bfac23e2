import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { NetRewriteError } from './adapter.js';
import { ResponseTap, openNetCall, watchedEndpoint, type NetCall, type SafetyNetConfig } from './net-call.js';
import { holdBody, type WriteCb } from './hold-body.js';

type Connect = (authority: string | URL, ...rest: unknown[]) => ClientHttp2Session;

/**
 * `http2.connect`, guarded: on each session it returns, `request()` to a
 * watched provider endpoint that no SDK-level guard decided holds the stream's
 * body back until `end()`, decides it, then sends it (rewritten when the
 * decision changed it and no `content-length` was sent) — or destroys the
 * stream with the error before any of the body is written (the request's
 * headers frame has been sent by then). The response is read for usage as the
 * caller reads it.
 */
export function guardHttp2Connect(original: Connect, net: () => SafetyNetConfig): Connect {
  return function agentguardHttp2Connect(this: unknown, authority: string | URL, ...rest: unknown[]): ClientHttp2Session {
    const session = original.call(this, authority, ...rest);
    let base: URL;
    try {
      base = new URL(String(authority instanceof URL ? authority.href : authority));
    } catch {
      return session;
    }
    const request = session.request;
    session.request = function (this: ClientHttp2Session, headers?: OutgoingHttpHeaders, ...args: unknown[]): ClientHttp2Stream {
      const config = net();
      let url: URL;
      try {
        url = new URL(String(headers?.[':path'] ?? '/'), base);
      } catch {
        return (request as (...a: unknown[]) => ClientHttp2Stream).call(this, headers, ...args);
      }
      const method = String(headers?.[':method'] ?? 'GET');
      const stream = (request as (...a: unknown[]) => ClientHttp2Stream).call(this, headers, ...args);
      if (watchedEndpoint(config, method, url)) holdStreamBody(stream, config, method, url, headers?.['content-length'] !== undefined);
      return stream;
    } as ClientHttp2Session['request'];
    return session;
  };
}

function holdStreamBody(stream: ClientHttp2Stream, config: SafetyNetConfig, method: string, url: URL, sentLength: boolean): void {
  holdBody(stream, (original, end, done) => {
    void openNetCall(config, method, url, original.toString('utf8')).then(
      (netCall) => send(stream, end, original, netCall, sentLength, done),
      (error: Error) => refuse(stream, error),
    );
  });
}

/**
 * Ends the stream with `error` before its body is written. A stream destroyed
 * with its writable side open also reports `aborted` (even from inside the
 * caller's own `error` handler, when it closes the session), which clients
 * (the AWS SDK's handler) turn into an error of their own: that event is not
 * passed on, so the caller sees ours.
 */
function refuse(stream: ClientHttp2Stream, error: Error): void {
  const emit = stream.emit;
  stream.emit = function (this: ClientHttp2Stream, event: string | symbol, ...args: unknown[]): boolean {
    return event === 'aborted' ? false : emit.call(this, event, ...args);
  } as ClientHttp2Stream['emit'];
  if (stream.listenerCount('error') > 0) {
    stream.emit('error', error);
    stream.destroy();
  } else {
    stream.destroy(error);
  }
}

function send(
  stream: ClientHttp2Stream,
  end: ClientHttp2Stream['end'],
  original: Buffer,
  netCall: NetCall | undefined,
  sentLength: boolean,
  done: WriteCb,
): void {
  const call = netCall?.call;
  if (stream.destroyed) {
    void call?.fail(new Error('stream destroyed before it was sent'));
    return;
  }
  let body = original;
  if (netCall?.body !== undefined) {
    if (sentLength) {
      const error = new NetRewriteError('the HTTP/2 request headers (with the old content-length) were already sent, so the rewritten body cannot be');
      void call?.fail(error);
      refuse(stream, error);
      return;
    }
    body = Buffer.from(netCall.body, 'utf8');
  }
  if (call && netCall.request) {
    const request = netCall.request;
    const emit = stream.emit;
    let tap: ResponseTap | undefined;
    let ended = false;
    stream.emit = function (this: ClientHttp2Stream, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'response') {
        const headers = args[0] as IncomingHttpHeaders;
        tap = new ResponseTap(call, request, Number(headers[':status'] ?? 0), headers['content-type']);
      } else if (event === 'data') tap?.feed(args[0] as Buffer);
      else if (event === 'end') {
        ended = true;
        void tap?.end();
      } else if (event === 'error') void (tap ? tap.cutShort({ error: args[0] }) : call.fail(args[0]));
      else if (event === 'close' && !ended) void (tap ? tap.cutShort({ abandoned: true }) : call.fail(new Error('stream closed before a response')));
      return emit.call(this, event, ...args);
    } as ClientHttp2Stream['emit'];
  }
  (end as (chunk: unknown, cb?: () => void) => ClientHttp2Stream).call(stream, body, done as () => void);
}
