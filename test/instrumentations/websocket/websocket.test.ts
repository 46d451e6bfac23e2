/**
 * The websocket guard against a real websocket server on 127.0.0.1 (the `ws`
 * package), watched as a provider host: under enforce mode the global
 * `WebSocket` makes no connection and fails with the refusal, a `ws` socket sends
 * nothing, and the real OpenAI Agents SDK transports (the Responses websocket
 * mode, the Realtime websocket) fail with the error naming the setting.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocketServer as WSS } from 'ws';
import {
  AgentGuardUnguardedTransportError,
  installWebSocketGuard,
  webSocketGuardSettingsFromEnv,
  type InstalledWebSocketGuard,
} from '../../../instrumentations/websocket/index.js';
import { AgentGuardError } from '../../../src/index.js';

const require = createRequire(import.meta.url);
const ws = require('ws') as typeof import('ws');

/** A websocket server that counts connections and messages; `/echo` answers each message. */
async function startServer(): Promise<{ server: WSS; url: string; connections: number; messages: string[] }> {
  const server = new ws.WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const state = { server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: 0, messages: [] as string[] };
  server.on('connection', (socket) => {
    state.connections++;
    socket.on('message', (data) => {
      state.messages.push(data.toString());
      socket.send(data.toString());
    });
  });
  return state;
}

let watched: Awaited<ReturnType<typeof startServer>>;
let other: Awaited<ReturnType<typeof startServer>>;
let guard: InstalledWebSocketGuard | undefined;
const OriginalWebSocket = globalThis.WebSocket;

beforeAll(async () => {
  watched = await startServer();
  other = await startServer();
});
afterEach(() => {
  guard?.uninstall();
  guard = undefined;
  watched.connections = 0;
  watched.messages.length = 0;
});
afterAll(async () => {
  await new Promise((r) => watched.server.close(r));
  await new Promise((r) => other.server.close(r));
});

function install(opts: { enforce?: boolean; mode?: 'block' | 'allow'; warn?: (l: string) => void } = {}): InstalledWebSocketGuard {
  guard = installWebSocketGuard({
    enforce: opts.enforce ?? true,
    mode: opts.mode ?? 'block',
    hosts: [new URL(watched.url).host],
    ...(opts.warn ? { warn: opts.warn } : {}),
  });
  guard.patchWs(ws);
  return guard;
}

/** Opens a global WebSocket, sends one message, and resolves with the echo. */
function echoWithGlobal(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.addEventListener('open', () => socket.send('ping'));
    socket.addEventListener('message', (e) => {
      resolve(String(e.data));
      socket.close();
    });
    socket.addEventListener('error', () => reject(new Error('socket error')));
  });
}

/** The first error in `err`'s cause chain that is an AgentGuardUnguardedTransportError. */
function refusalIn(err: unknown): AgentGuardUnguardedTransportError | undefined {
  for (let e: unknown = err, i = 0; e && i < 10; e = (e as { cause?: unknown }).cause, i++) if (e instanceof AgentGuardUnguardedTransportError) return e;
  return undefined;
}

describe('websocket guard: global WebSocket', () => {
  it('under enforce, a watched host gets a socket that fails as a refused connection, carrying the error naming the transport and the setting; no connection is made', async () => {
    install();
    const socket = new WebSocket(`${watched.url}/v1/realtime?model=gpt-realtime`);
    const events: string[] = [];
    const failed = new Promise<Event & { error?: unknown }>((resolve) => {
      socket.addEventListener('error', (e) => {
        events.push('error');
        resolve(e);
      });
      socket.onclose = (e) => events.push(`close ${(e as Event & { code?: number }).code}`);
      socket.addEventListener('open', () => events.push('open'));
    });
    const err = (await failed).error;
    expect(err).toBeInstanceOf(AgentGuardUnguardedTransportError);
    expect(err).toBeInstanceOf(AgentGuardError);
    expect((err as Error).message).toContain('OpenAI Realtime API websocket');
    expect((err as Error).message).toContain('AGENTGUARD_UNGUARDED_WEBSOCKET=allow');
    expect(err).toMatchObject({ code: 'agentguard_unguarded_transport', setting: 'AGENTGUARD_UNGUARDED_WEBSOCKET=allow', host: new URL(watched.url).host });
    expect(socket.readyState).toBe(WebSocket.CLOSED);
    expect(() => socket.send('{"type":"response.create"}')).toThrow(AgentGuardUnguardedTransportError);
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toEqual(['error', 'close 1006']);
    expect(watched.connections).toBe(0);
  });

  it('lets other hosts through, keeps instanceof and the constants, and uninstall restores the original', async () => {
    install();
    expect(await echoWithGlobal(`${other.url}/echo`)).toBe('ping');
    const socket = new WebSocket(`${other.url}/echo`);
    expect(socket).toBeInstanceOf(OriginalWebSocket);
    expect(WebSocket.OPEN).toBe(1);
    socket.close();
    guard!.uninstall();
    guard = undefined;
    expect(globalThis.WebSocket).toBe(OriginalWebSocket);
    expect(await echoWithGlobal(`${watched.url}/v1/responses`)).toBe('ping');
  });

  it('passes outside enforce mode, and with AGENTGUARD_UNGUARDED_WEBSOCKET=allow (one warning line)', async () => {
    install({ enforce: false });
    expect(await echoWithGlobal(`${watched.url}/v1/responses`)).toBe('ping');
    guard!.uninstall();
    const lines: string[] = [];
    install({ mode: 'allow', warn: (l) => lines.push(l) });
    expect(await echoWithGlobal(`${watched.url}/v1/responses`)).toBe('ping');
    expect(await echoWithGlobal(`${watched.url}/v1/responses`)).toBe('ping');
    expect(lines).toEqual([expect.stringContaining('AGENTGUARD_UNGUARDED_WEBSOCKET=allow: the OpenAI Responses API websocket transport')]);
    expect(watched.messages).toEqual(['ping', 'ping', 'ping']);
  });
});

describe('websocket guard: the ws package', () => {
  it('a ws socket to a watched host sends nothing (CommonJS and ESM share the patched prototype)', async () => {
    install();
    const esm = (await import('ws')) as unknown as { WebSocket: typeof ws.WebSocket };
    expect(esm.WebSocket.prototype.send).toBe(ws.WebSocket.prototype.send);
    const socket = new ws.WebSocket(`${watched.url}/v1/realtime?model=gpt-realtime`);
    await new Promise((r) => socket.once('open', r));
    expect(() => socket.send('{"type":"response.create"}')).toThrow(AgentGuardUnguardedTransportError);
    socket.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(watched.connections).toBe(1);
    expect(watched.messages).toEqual([]);
    // Another host is untouched.
    const free = new ws.WebSocket(`${other.url}/echo`);
    await new Promise((r) => free.once('open', r));
    const echoed = new Promise((r) => free.once('message', (d) => r(d.toString())));
    free.send('pong');
    expect(await echoed).toBe('pong');
    free.close();
  });
});

describe('websocket guard: the OpenAI Agents SDK', () => {
  it('the Responses websocket transport fails with the refusal before connecting', async () => {
    install();
    const { Agent, Runner, OpenAIProvider } = require('@openai/agents') as typeof import('@openai/agents');
    const provider = new OpenAIProvider({ apiKey: 'sk-test-not-a-key', baseURL: `${watched.url.replace('ws:', 'http:')}/v1`, useResponsesWebSocket: true });
    const runner = new Runner({ modelProvider: provider, tracingDisabled: true });
    const err = await runner.run(new Agent({ name: 'a', instructions: 'be brief', model: 'gpt-4o' }), 'hi').then(
      () => undefined,
      (e: unknown) => e,
    );
    await provider.close();
    // The SDK reports the socket's error as is.
    expect(err, String(err)).toBeInstanceOf(AgentGuardUnguardedTransportError);
    expect((err as Error).message).toContain('OpenAI Responses API websocket transport');
    expect(watched.connections).toBe(0);
    expect(watched.messages).toEqual([]);
  });

  it('the Realtime websocket (ws in Node) fails to connect with the refusal, and no frame reaches the server', async () => {
    install();
    const { OpenAIRealtimeWebSocket } = require('@openai/agents/realtime') as typeof import('@openai/agents/realtime');
    const transport = new OpenAIRealtimeWebSocket();
    const err = await transport.connect({ apiKey: 'sk-test-not-a-key', url: `${watched.url}/v1/realtime?model=gpt-realtime`, initialSessionConfig: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    transport.close();
    expect(refusalIn(err), String(err)).toBeInstanceOf(AgentGuardUnguardedTransportError);
    await new Promise((r) => setTimeout(r, 50));
    expect(watched.messages).toEqual([]);
  });
});

describe('websocket guard: settings', () => {
  it('reads AGENTGUARD_UNGUARDED_WEBSOCKET and AGENTGUARD_PROVIDER_HOSTS, naming a bad value', () => {
    expect(webSocketGuardSettingsFromEnv({})).toEqual({ mode: 'block', hosts: [] });
    expect(
      webSocketGuardSettingsFromEnv({ AGENTGUARD_UNGUARDED_WEBSOCKET: 'allow', AGENTGUARD_PROVIDER_HOSTS: 'llm.internal:8443=openai, *.example.com' }),
    ).toEqual({
      mode: 'allow',
      hosts: [{ host: 'llm.internal', port: 8443 }, { host: '*.example.com' }],
    });
    expect(() => webSocketGuardSettingsFromEnv({ AGENTGUARD_UNGUARDED_WEBSOCKET: 'yes' })).toThrow(
      /AGENTGUARD_UNGUARDED_WEBSOCKET: expected one of block, allow, got "yes"/,
    );
    expect(() => webSocketGuardSettingsFromEnv({ AGENTGUARD_PROVIDER_HOSTS: 'http://x/' })).toThrow(/AGENTGUARD_PROVIDER_HOSTS: entry "http:\/\/x\/"/);
  });
});
