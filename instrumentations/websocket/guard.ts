import { AgentGuardUnguardedTransportError, UNGUARDED_WEBSOCKET_ENV } from './errors.js';
import { RefusedWebSocket } from './refused-socket.js';
import { DEFAULT_WEBSOCKET_HOSTS, isResponsesUrl, isWatchedUrl, parseWebSocketHosts, transportOf, type WatchedWebSocketHost } from './hosts.js';
import type { FrameGuard, FrameSessionLike } from './frames.js';

/**
 * The websocket guard, over the global `WebSocket` and the `ws` package's.
 *
 * - With a frame guard (`frames`), a socket to the Responses API's websocket
 *   mode (`…/responses` on a watched host) connects, and each
 *   `response.create` it sends is decided before it is sent (`./frames.ts`).
 * - Any other socket to a watched host (the Realtime API) cannot be decided,
 *   so under enforce mode it is refused with {@link AgentGuardUnguardedTransportError}:
 *   the global `WebSocket` (what the OpenAI Agents SDK's Responses websocket
 *   transport opens) is replaced by a subclass whose constructor, for such a
 *   URL, makes no connection and returns a {@link RefusedWebSocket} (it fails
 *   as a refused connection does, so clients report the refusal through their
 *   usual path); the `ws` package's `WebSocket` (what `@openai/agents-realtime`
 *   opens in Node) is patched in place on its prototype, which its CommonJS and
 *   ESM entries share: `send` refuses every frame on such a connection.
 * - The `send` of both prototypes is guarded, so sockets made with a
 *   constructor captured before the guard was installed are covered too.
 *
 * Outside enforce mode (shadow), and with `AGENTGUARD_UNGUARDED_WEBSOCKET=allow`,
 * sockets that would be refused pass; `allow` writes one line to stderr the
 * first time. Frames are decided in every mode (the engine records shadow).
 */

/** `block` (the default): refuse under enforce mode; `allow`: let through, with one warning line. */
export type UnguardedWebSocketMode = 'block' | 'allow';
export const UNGUARDED_WEBSOCKET_MODES: readonly UnguardedWebSocketMode[] = ['block', 'allow'];

/** Options of {@link installWebSocketGuard}. */
export interface WebSocketGuardOptions {
  /** Whether policies are enforced (read at each connection): only then is anything refused. */
  enforce: boolean | (() => boolean);
  /** `block` (default) or `allow`. */
  mode?: UnguardedWebSocketMode;
  /** Hosts watched besides {@link DEFAULT_WEBSOCKET_HOSTS} (`host`, `host:port`, `*.suffix`). */
  hosts?: readonly (string | WatchedWebSocketHost)[];
  /** Where the `allow` warning goes (default: one line on stderr). */
  warn?: (line: string) => void;
  /**
   * Decides the calls made over a Responses API websocket frame by frame
   * (`createFrameGuard` of `./frames.ts`, built on first use): such sockets
   * connect, and each `response.create` is decided before it is sent. Without
   * it they are refused like the other transports. When it cannot be built
   * (the engine did not start) the socket is refused with that error.
   */
  frames?: () => FrameGuard;
}

/** What {@link installWebSocketGuard} installed. */
export interface InstalledWebSocketGuard {
  /** Patches a loaded `ws` module (its CommonJS exports or ESM namespace); returns whether its `WebSocket` was found. */
  patchWs(moduleExports: unknown): boolean;
  /** Restores the global `WebSocket` and every patched `send`. */
  uninstall(): void;
}

/**
 * Reads `AGENTGUARD_UNGUARDED_WEBSOCKET` (`block` default, `allow`) and the hosts of
 * `AGENTGUARD_PROVIDER_HOSTS`. Throws a `TypeError` naming the variable.
 */
export function webSocketGuardSettingsFromEnv(env: Record<string, string | undefined>): { mode: UnguardedWebSocketMode; hosts: WatchedWebSocketHost[] } {
  const mode = env[UNGUARDED_WEBSOCKET_ENV] || 'block';
  if (!(UNGUARDED_WEBSOCKET_MODES as readonly string[]).includes(mode)) {
    throw new TypeError(`${UNGUARDED_WEBSOCKET_ENV}: expected one of ${UNGUARDED_WEBSOCKET_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  }
  try {
    return { mode: mode as UnguardedWebSocketMode, hosts: parseWebSocketHosts(env.AGENTGUARD_PROVIDER_HOSTS) };
  } catch (err) {
    throw new TypeError(`AGENTGUARD_PROVIDER_HOSTS: ${(err as Error).message}`);
  }
}

const SEND_PATCH = Symbol.for('agentguard-spend.websocket.send-guard');
/** `WebSocket.OPEN`, the same in the WHATWG `WebSocket` and `ws`. */
const OPEN = 1;

type SendFn = (this: unknown, ...args: unknown[]) => unknown;
type Ctor = new (...args: unknown[]) => object;

/** Installs the guard (see the module comment). Installing again replaces the previous installation's settings. */
export function installWebSocketGuard(options: WebSocketGuardOptions): InstalledWebSocketGuard {
  const hosts: WatchedWebSocketHost[] = [
    ...parseWebSocketHosts(DEFAULT_WEBSOCKET_HOSTS.join(',')),
    ...(options.hosts ?? []).map((h) => (typeof h === 'string' ? parseWebSocketHosts(h)[0]! : h)),
  ];
  const enforce = typeof options.enforce === 'function' ? options.enforce : () => options.enforce as boolean;
  const mode = options.mode ?? 'block';
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  let warned = false;

  /** The error to refuse `rawUrl` with, or undefined to let it through. */
  const refusal = (rawUrl: unknown): Error | undefined => {
    const url = toUrl(rawUrl);
    if (!url || !isWatchedUrl(url, hosts)) return undefined;
    if (options.frames && isResponsesUrl(url)) {
      try {
        frameGuard ??= options.frames();
        return undefined;
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    }
    if (!enforce()) return undefined;
    if (mode === 'allow') {
      if (!warned) {
        warned = true;
        warn(
          `agentguard-spend: ${UNGUARDED_WEBSOCKET_ENV}=allow: the ${transportOf(url)} to ${url.host} is not guarded; its calls are neither decided nor logged`,
        );
      }
      return undefined;
    }
    return new AgentGuardUnguardedTransportError(transportOf(url), url);
  };

  let frameGuard: FrameGuard | undefined;
  const sessions = new WeakMap<object, FrameSessionLike>();
  /** The frame session of a socket to a watched Responses websocket (opened at its first frame, or construction). */
  const sessionOf = (socket: WatchedSocket): FrameSessionLike | undefined => {
    const known = sessions.get(socket);
    if (known) return known;
    const url = toUrl(socket.url);
    if (!url || !options.frames || !isResponsesUrl(url) || !isWatchedUrl(url, hosts)) return undefined;
    frameGuard ??= options.frames();
    const session = frameGuard.session(url, { fail: (error) => failSocket(socket, error) });
    sessions.set(socket, session);
    listen(socket, session);
    return session;
  };

  const restores: (() => void)[] = [];
  const patchSend = (proto: Record<string | symbol, unknown> | undefined): boolean => {
    if (!proto || typeof proto.send !== 'function') return false;
    const current = proto.send as SendFn & { [SEND_PATCH]?: SendFn };
    const original = current[SEND_PATCH] ?? current;
    const guarded = function (this: WatchedSocket, ...args: unknown[]) {
      const err = refusal(this?.url);
      if (err) throw err;
      // Only an open socket sends: otherwise the original throws or drops the frame, as the app expects.
      const session = this && typeof this === 'object' && this.readyState === OPEN ? sessionOf(this) : undefined;
      if (session) return session.send(args[0], (data) => original.apply(this, [data, ...args.slice(1)]));
      return original.apply(this, args);
    } as SendFn & { [SEND_PATCH]?: SendFn };
    guarded[SEND_PATCH] = original;
    proto.send = guarded;
    restores.push(() => {
      if (proto.send === guarded) proto.send = original;
    });
    return true;
  };

  const Global = (globalThis as { WebSocket?: Ctor }).WebSocket;
  if (typeof Global === 'function') {
    const Base = (Global as Ctor & { [SEND_PATCH]?: Ctor })[SEND_PATCH] ?? Global;
    // A subclass keeps `instanceof`, the static constants and the prototype's methods.
    const Guarded = class WebSocket extends Base {
      constructor(...args: unknown[]) {
        const err = refusal(args[0]);
        // A refused URL gets a socket that fails as a refused connection does, carrying the refusal.
        if (err) return new RefusedWebSocket(toUrl(args[0])!, err);
        super(...args);
        // Listening from the start, so every event of its responses is seen.
        sessionOf(this as WatchedSocket);
      }
    };
    Object.defineProperty(Guarded, SEND_PATCH, { value: Base });
    Object.defineProperty(globalThis, 'WebSocket', { value: Guarded, writable: true, configurable: true, enumerable: false });
    patchSend(Base.prototype as Record<string | symbol, unknown>);
    restores.push(() => {
      if ((globalThis as { WebSocket?: unknown }).WebSocket === Guarded)
        Object.defineProperty(globalThis, 'WebSocket', { value: Base, writable: true, configurable: true, enumerable: false });
    });
  }

  return {
    patchWs(moduleExports: unknown): boolean {
      const ns = moduleExports as { WebSocket?: unknown; default?: { WebSocket?: unknown } } | undefined;
      const candidate: unknown = ns?.WebSocket ?? ns?.default?.WebSocket ?? ns?.default ?? ns;
      return typeof candidate === 'function' && patchSend((candidate as { prototype?: Record<string | symbol, unknown> }).prototype);
    },
    uninstall(): void {
      for (const restore of restores.splice(0).reverse()) restore();
    },
  };
}

/** A socket of the global `WebSocket` (an `EventTarget`) or of the `ws` package (an `EventEmitter` with `addEventListener`). */
interface WatchedSocket {
  url?: unknown;
  readyState?: number;
  close?(code?: number, reason?: string): void;
  terminate?(): void;
  addEventListener?(type: string, listener: (event: { data?: unknown }) => void): void;
  dispatchEvent?(event: Event): boolean;
  on?(event: string, listener: (...args: unknown[]) => void): void;
  emit?(event: string, ...args: unknown[]): boolean;
  listenerCount?(event: string): number;
}

/** Feeds the server's messages and the socket's close to its frame session. */
function listen(socket: WatchedSocket, session: FrameSessionLike): void {
  if (typeof socket.on === 'function') {
    socket.on('message', (data: unknown) => session.received(textOf(data) ?? ''));
    socket.on('close', () => session.closed());
    return;
  }
  socket.addEventListener?.('message', (event) => {
    const data = event.data;
    if (typeof Blob !== 'undefined' && data instanceof Blob) void data.text().then((t) => session.received(t));
    else session.received(textOf(data) ?? '');
  });
  socket.addEventListener?.('close', () => session.closed());
}

/**
 * Surfaces `error` as the socket's own failure, then closes it: the `ws`
 * package's `error` event (when anything listens), or the global
 * `WebSocket`'s `error` event whose `error` is `error` (what clients, the
 * OpenAI Agents SDK's included, reject their pending request with).
 */
function failSocket(socket: WatchedSocket, error: unknown): void {
  if (typeof socket.emit === 'function') {
    if ((socket.listenerCount?.('error') ?? 0) > 0) socket.emit('error', error);
    socket.terminate?.();
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  socket.dispatchEvent?.(Object.assign(new Event('error'), { error, message }));
  try {
    socket.close?.(1000);
  } catch {
    // Already closing.
  }
}

function textOf(data: unknown): string | undefined {
  if (typeof data === 'string') return data;
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  return undefined;
}

function toUrl(raw: unknown): URL | undefined {
  try {
    return raw instanceof URL ? raw : typeof raw === 'string' ? new URL(raw) : undefined;
  } catch {
    return undefined;
  }
}
