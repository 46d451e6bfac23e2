import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createH2cServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';

/** One request the fake provider received (for tests: "zero requests on block"). */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** Per-request context a route handler gets. */
export interface FakeRequest extends RecordedRequest {
  raw: IncomingMessage;
}

/** A route: returns true when it handled the request. */
export type FakeRoute = (req: FakeRequest, res: ServerResponse, provider: FakeProvider) => boolean | Promise<boolean>;

/** Knobs tests turn to make the fake provider misbehave. */
export interface FakeBehaviour {
  /** Respond with this HTTP status and an error body instead of a result. */
  failWithStatus?: number;
  /** Report no usage at all (OpenAI, Anthropic; Bedrock has its own `omitUsage` knob): bodies and stream events leave it out. */
  omitUsage?: boolean;
  /** Override the usage the fake reports (tokens). */
  usage?: { inputTokens?: number; outputTokens?: number; cachedInputTokens?: number; cacheWriteTokens?: number; reasoningTokens?: number };
  /** Delay before responding, in ms. */
  delayMs?: number;
  /** Number of content chunks in a streamed response. */
  streamChunks?: number;
  /** Delay between streamed chunks, in ms. */
  chunkDelayMs?: number;
  /**
   * OpenAI chat completions (non-streamed): a request that offers tools and
   * whose last message is not a tool result is answered with a call of its
   * first tool (no arguments), so a client's tool loop takes a second step.
   */
  toolCall?: boolean;
}

/**
 * A fake LLM provider on 127.0.0.1 speaking the OpenAI, Anthropic and Bedrock
 * wire protocols well enough for the real SDKs. It never echoes request
 * content back, and records every request it receives.
 */
export class FakeProvider {
  readonly requests: RecordedRequest[] = [];
  behaviour: FakeBehaviour = {};
  readonly #routes: FakeRoute[] = [];
  #server: Server | Http2Server | null = null;
  #url = '';

  constructor(routes: FakeRoute[] = []) {
    this.#routes.push(...routes);
  }

  /** Adds routes (each provider module contributes its own). */
  use(...routes: FakeRoute[]): this {
    this.#routes.push(...routes);
    return this;
  }

  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    if (!this.#server) throw new Error('fake provider is not listening');
    return this.#url;
  }

  /** Requests whose path starts with `prefix`. */
  requestsTo(prefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(prefix));
  }

  reset(): void {
    this.requests.length = 0;
    this.behaviour = {};
  }

  async listen(port = 0): Promise<string> {
    const server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.#url;
  }

  /**
   * Listens speaking HTTP/2 over cleartext (h2c, prior knowledge), as the AWS
   * SDK's default request handler does; the same routes answer.
   */
  async listenHttp2(port = 0): Promise<string> {
    const server = createH2cServer((req, res) => void this.#handle(req as unknown as IncomingMessage, res as unknown as ServerResponse));
    const sessions = new Set<import('node:http2').ServerHttp2Session>();
    server.on('session', (session) => {
      sessions.add(session);
      session.on('close', () => sessions.delete(session));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#h2Sessions = sessions;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.#url;
  }

  #h2Sessions: Set<import('node:http2').ServerHttp2Session> | null = null;

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    if ('closeAllConnections' in server) server.closeAllConnections();
    for (const session of this.#h2Sessions ?? []) session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of raw) chunks.push(chunk as Buffer);
    } catch {
      // The client gave up before its body was complete: not a request the fake received.
      return;
    }
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // Non-JSON bodies are recorded as text.
    }
    const path = (raw.url ?? '/').split('?')[0]!;
    const req: FakeRequest = { method: raw.method ?? 'GET', path, headers: raw.headers, body, raw };
    this.requests.push({ method: req.method, path, headers: raw.headers, body });
    try {
      if (this.behaviour.delayMs) await sleep(this.behaviour.delayMs);
      for (const route of this.#routes) if (await route(req, res, this)) return;
      sendJson(res, 404, { error: { type: 'not_found', message: `fake provider: no route for ${req.method} ${path}` } });
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { error: { type: 'fake_provider_error', message: (err as Error).message } });
      else res.destroy();
    }
  }
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): true {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
