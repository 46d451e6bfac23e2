import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { WebSocket as WsSocket, WebSocketServer as WsServer } from 'ws';
import { responsesAnswer } from './openai.js';
import { sleep, type FakeBehaviour } from './server.js';

/**
 * The OpenAI Responses API's websocket mode on 127.0.0.1 (`ws://…/v1/responses`),
 * enough for the OpenAI Agents SDK's websocket transport: each
 * `response.create` message is answered with the events a streamed response
 * carries (`response.created`, output text deltas, `response.completed` with
 * usage), one response at a time per connection. It records every frame it
 * receives and never echoes request content.
 *
 * Not part of `createFakeProvider` (the demo's): it needs the `ws` package,
 * which only the repository's tests have.
 */
export class FakeResponsesWebSocket {
  /** Every frame received, parsed (text when not JSON), in order. */
  readonly frames: unknown[] = [];
  /** Connections accepted (handshakes). */
  connections = 0;
  /** `usage`, `omitUsage`, `streamChunks`, `chunkDelayMs` apply; `closeAfterEvents` cuts a response short. */
  behaviour: FakeBehaviour & { closeAfterEvents?: number } = {};
  #http: Server | null = null;
  #wss: WsServer | null = null;
  #url = '';

  /** `ws://127.0.0.1:<port>`; the Responses endpoint is `${url}/v1/responses`. */
  get url(): string {
    if (!this.#http) throw new Error('fake websocket provider is not listening');
    return this.#url;
  }

  /** The `response.create` frames received. */
  get creates(): Record<string, unknown>[] {
    return this.frames.filter((f): f is Record<string, unknown> => !!f && typeof f === 'object' && (f as { type?: unknown }).type === 'response.create');
  }

  reset(): void {
    this.frames.length = 0;
    this.connections = 0;
    this.behaviour = {};
  }

  async listen(): Promise<string> {
    const { WebSocketServer } = createRequire(import.meta.url)('ws') as typeof import('ws');
    const http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' });
      res.end('websocket only');
    });
    const wss = new WebSocketServer({ server: http, path: '/v1/responses' });
    wss.on('connection', (socket) => {
      this.connections++;
      let queue = Promise.resolve();
      socket.on('message', (data) => {
        const text = data.toString();
        let frame: unknown = text;
        try {
          frame = JSON.parse(text);
        } catch {
          // Recorded as text.
        }
        this.frames.push(frame);
        if ((frame as { type?: unknown })?.type !== 'response.create') return;
        queue = queue.then(() => this.#answer(socket, frame));
      });
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(0, '127.0.0.1', () => resolve());
    });
    this.#http = http;
    this.#wss = wss;
    this.#url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
    return this.#url;
  }

  async #answer(socket: WsSocket, frame: unknown): Promise<void> {
    const { events } = responsesAnswer(frame, this.behaviour);
    let sent = 0;
    for (const event of events) {
      if (socket.readyState !== socket.OPEN) return;
      if (this.behaviour.closeAfterEvents !== undefined && sent >= this.behaviour.closeAfterEvents) {
        socket.terminate();
        return;
      }
      if (this.behaviour.chunkDelayMs) await sleep(this.behaviour.chunkDelayMs);
      socket.send(JSON.stringify(event));
      sent++;
    }
  }

  async close(): Promise<void> {
    const http = this.#http;
    this.#http = null;
    if (!http) return;
    for (const client of this.#wss?.clients ?? []) client.terminate();
    this.#wss?.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }
}
