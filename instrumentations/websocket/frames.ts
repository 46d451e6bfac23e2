import { openGuardedCall, type GuardBinding, type GuardedCall } from '../common/guarded-call.js';
import type { ProviderAdapter, StreamUsageReader } from '../common/provider-adapter.js';

/**
 * Deciding the calls made over a Responses API websocket, frame by frame.
 * Each outgoing `response.create` frame is one call: it is held (with every
 * frame sent after it, so the order on the wire stays the app's), decided
 * like an HTTP call, then sent as the decision allows (model and output bound
 * rewritten) or not at all (a block is surfaced on the socket as an error, and
 * the socket is closed). The server's events settle it: `response.completed`
 * with its usage, a failed or cut-short response by the unreported-usage
 * rules, and a socket that closes with responses open releases them with what
 * was seen.
 */

/** One `response.create` frame: where it goes and its body (without `type`). */
export interface ResponseCreateFrame {
  url: URL;
  body: Record<string, unknown>;
}

/** What the engine supplies to decide frames. */
export interface FrameGuardOptions {
  /** The engine that decides (read at each frame). */
  binding(): GuardBinding;
  /** Describes a frame, rewrites it after the decision, folds the server's events. */
  adapter: ProviderAdapter<ResponseCreateFrame, unknown, unknown>;
}

/** The socket as the session sees it. */
export interface FrameSocket {
  /** Reports `error` the way this socket reports a failure, then closes it. */
  fail(error: unknown): void;
}

/** The original `send` of one frame (with the caller's other arguments). */
export type SendNow = (data: unknown) => void;

/** One socket's guarded frames; see {@link createFrameGuard}. */
export interface FrameSessionLike {
  send(data: unknown, sendNow: SendNow): void;
  received(text: string): void;
  closed(): void;
}

/** Opens the frame session of a socket to a Responses API websocket. */
export interface FrameGuard {
  session(url: URL, socket: FrameSocket): FrameSessionLike;
}

/** The frame guard over an engine (see the module comment). */
export function createFrameGuard(options: FrameGuardOptions): FrameGuard {
  return { session: (url, socket) => new FrameSession(options, url, socket) };
}

/** Events that end a response on the Responses websocket. */
const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed', 'response.error', 'error']);

interface OpenResponse {
  call: GuardedCall;
  reader: StreamUsageReader<unknown>;
  /** Whether the server sent any event for it (an `error` before that means it never ran). */
  started: boolean;
}

/** One socket's frames: held in order while a decision is pending, and the responses they opened. */
export class FrameSession implements FrameSessionLike {
  readonly #options: FrameGuardOptions;
  readonly #url: URL;
  readonly #socket: FrameSocket;
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  #failed = false;
  readonly #open: OpenResponse[] = [];

  constructor(options: FrameGuardOptions, url: URL, socket: FrameSocket) {
    this.#options = options;
    this.#url = url;
    this.#socket = socket;
  }

  /**
   * The guarded `send`: a frame that is not a `response.create`, with nothing
   * held before it, goes at once; otherwise it waits its turn.
   */
  send(data: unknown, sendNow: SendNow): void {
    if (this.#failed) return;
    const text = frameText(data);
    const frame = text === undefined ? undefined : parseObject(text);
    const isCreate = frame?.type === 'response.create';
    // A Blob frame cannot be read synchronously: it is read in turn.
    if (!isCreate && this.#pending === 0 && !(typeof Blob !== 'undefined' && data instanceof Blob)) return sendNow(data);
    this.#pending++;
    this.#queue = this.#queue.then(async () => {
      try {
        if (this.#failed) return;
        const parsed = frame ?? (data instanceof Blob ? parseObject(await data.text()) : undefined);
        if (parsed?.type !== 'response.create') return sendNow(data);
        await this.#decideAndSend(parsed, sendNow);
      } catch (error) {
        this.#fail(error);
      } finally {
        this.#pending--;
      }
    });
  }

  async #decideAndSend(frame: Record<string, unknown>, sendNow: SendNow): Promise<void> {
    const { type, ...body } = frame;
    const request: ResponseCreateFrame = { url: this.#url, body };
    const { adapter } = this.#options;
    let call: GuardedCall;
    let toSend: ResponseCreateFrame;
    try {
      call = await openGuardedCall(this.#options.binding(), adapter.describe(request)!);
    } catch (error) {
      return this.#fail(error);
    }
    try {
      toSend = adapter.prepare(request, call.prepared);
    } catch (error) {
      await call.fail(error);
      return this.#fail(error);
    }
    if (this.#failed) {
      // The socket closed while the frame was held: the call was not sent.
      await call.fail(new Error('the websocket closed before the frame was sent'));
      return;
    }
    const open: OpenResponse = { call, reader: adapter.streamUsage(request), started: false };
    this.#open.push(open);
    try {
      sendNow(toSend === request ? JSON.stringify(frame) : JSON.stringify({ type, ...toSend.body }));
    } catch (error) {
      this.#open.splice(this.#open.indexOf(open), 1);
      // The socket closed while the frame was held: the call was not sent.
      await call.fail(error);
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    this.#failed = true;
    this.#socket.fail(error);
  }

  /** A message from the server (its text). */
  received(text: string): void {
    const open = this.#open[0];
    if (!open) return;
    const event = parseObject(text);
    if (!event) return;
    open.reader.observe(event);
    const type = typeof event.type === 'string' ? event.type : '';
    if (!TERMINAL.has(type)) {
      open.started = true;
      return;
    }
    this.#open.shift();
    const { call, reader } = open;
    call.recordResponse(reader.usage);
    if (type === 'response.completed' || type === 'response.incomplete') {
      reader.end?.();
      void call.finishStream({}, reader.usage, reader.output);
      return;
    }
    const error = new Error(`the provider ended the response with "${type}"`);
    error.name = 'ProviderResponseError';
    // An error before the response started: the provider did not run it.
    if (!open.started && !reader.usage.reported) void call.fail(error);
    else void call.finishStream({ error }, reader.usage, reader.output);
  }

  /** The socket closed: responses still open are settled with what was seen. */
  closed(): void {
    this.#failed = true;
    for (const { call, reader } of this.#open.splice(0)) {
      call.recordResponse(reader.usage);
      void call.finishStream({ abandoned: true }, reader.usage, reader.output);
    }
  }
}

function frameText(data: unknown): string | undefined {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  return undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
