import { context } from '@opentelemetry/api';
import { decideOnce } from '../common/decide-once.js';
import { ResponseTap, openNetCall, watchedEndpoint, type SafetyNetConfig } from './net-call.js';

/** The mark a request the net handled is sent under: a dispatcher below it (undici's, patched too) passes it. */
const NET_MARK = decideOnce('provider-http');

type Fetch = typeof globalThis.fetch;

/**
 * The global `fetch`, guarded: a POST to a watched provider endpoint that no
 * SDK-level guard decided is handled by the net's mode before anything is
 * sent (decided with its body rewritten, refused, or let through with a
 * warning), and its response body is read for usage as the caller reads it.
 * Every other request goes straight to the original `fetch`.
 */
export function guardFetch(original: Fetch, net: () => SafetyNetConfig): Fetch {
  return async function agentguardFetch(input: Parameters<Fetch>[0], init?: Parameters<Fetch>[1]): Promise<Response> {
    const target = targetOf(input, init);
    const config = net();
    if (!target || !watchedEndpoint(config, target.method, target.url)) return original(input, init);
    const bodyText = await bodyTextOf(input, init);
    const netCall = await openNetCall(config, target.method, target.url, bodyText);
    if (!netCall) return original(input, init);
    let sendInput = input;
    let sendInit = init;
    if (netCall.body !== undefined) {
      if (input instanceof Request && init?.body === undefined) sendInput = new Request(input, { body: netCall.body });
      else sendInit = { ...init, body: netCall.body, headers: withoutContentLength(init?.headers) };
    }
    let response: Response;
    try {
      response = await context.with(NET_MARK.markDecided(context.active()), () => original(sendInput, sendInit));
    } catch (error) {
      await netCall.call?.fail(error);
      throw error;
    }
    if (!netCall.call || !netCall.request) return response;
    const tap = new ResponseTap(netCall.call, netCall.request, response.status, response.headers.get('content-type'));
    return tapResponse(response, tap);
  };
}

function targetOf(input: Parameters<Fetch>[0], init?: Parameters<Fetch>[1]): { method: string; url: URL } | undefined {
  try {
    const url = input instanceof Request ? new URL(input.url) : new URL(String(input instanceof URL ? input.href : input));
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    return { method, url };
  } catch {
    return undefined;
  }
}

/** The request body as text, or undefined when it is not one the net can read without consuming it (a stream, form data). */
async function bodyTextOf(input: Parameters<Fetch>[0], init?: Parameters<Fetch>[1]): Promise<string | undefined> {
  const body = init?.body;
  if (body === undefined || body === null) {
    if (input instanceof Request && input.body) return input.clone().text();
    return undefined;
  }
  if (typeof body === 'string') return body;
  if (body instanceof ArrayBuffer) return Buffer.from(body).toString('utf8');
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (body instanceof Blob) return body.text();
  if (body instanceof URLSearchParams) return body.toString();
  return undefined;
}

function withoutContentLength(headers: ConstructorParameters<typeof Headers>[0]): ConstructorParameters<typeof Headers>[0] {
  if (!headers) return headers;
  const h = new Headers(headers);
  h.delete('content-length');
  return h;
}

/**
 * The response with a body that passes the original through as the caller
 * pulls it (never ahead), feeding the tap, which settles the call when the
 * body ends, fails or is cancelled.
 */
function tapResponse(response: Response, tap: ResponseTap): Response {
  const source = response.body;
  if (!source) {
    void tap.end();
    return response;
  }
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        reader ??= source.getReader();
        let step: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
        try {
          step = await reader.read();
        } catch (error) {
          await tap.cutShort({ error });
          controller.error(error);
          return;
        }
        if (step.done) {
          await tap.end();
          controller.close();
          return;
        }
        tap.feed(step.value);
        controller.enqueue(step.value);
      },
      async cancel(reason) {
        await tap.cutShort({ abandoned: true });
        await (reader ? reader.cancel(reason) : source.cancel(reason));
      },
    },
    { highWaterMark: 0 },
  );
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
