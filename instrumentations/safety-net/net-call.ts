import { context } from '@opentelemetry/api';
import { AgentGuardError } from '../../src/audit/errors.js';
import { decideOnce } from '../common/decide-once.js';
import { openGuardedCall, type GuardBinding, type GuardedCall } from '../common/guarded-call.js';
import { netAdapter, type NetRequest } from './adapter.js';
import { matchEndpoint, type ProviderEndpoint, type UnguardedMode, type WatchedHost } from './endpoints.js';

export { UNGUARDED_MODES, type UnguardedMode } from './endpoints.js';

/** Everything the net needs, read at each request. */
export interface SafetyNetConfig {
  mode: UnguardedMode;
  /** Hosts watched besides the providers' own (`AGENTGUARD_PROVIDER_HOSTS`). */
  hosts: readonly WatchedHost[];
  /** The engine that decides in `decide` mode. */
  binding(): GuardBinding;
  /** `warn` mode: an engine that records (signed) and never changes a call — shadow mode. */
  warnBinding(): GuardBinding;
  /** One line on stderr. */
  warn(line: string): void;
}

/** A provider request the net refused to send (`block` mode, or a body `decide` mode cannot read). */
export class UnguardedCallError extends AgentGuardError {
  readonly host: string;
  constructor(endpoint: ProviderEndpoint, why: string) {
    super(
      `agentguard: ${why}: ${endpoint.provider} request to ${endpoint.host} (${endpoint.api}) was not sent; AGENTGUARD_UNGUARDED=warn lets such requests through with a warning`,
    );
    this.host = endpoint.host;
  }
}

/**
 * The SDK-level guards' marks: a request sent inside a call one of them
 * decided is that call's own and passes the net untouched.
 */
const SDK_MARKS = ['openai', 'anthropic', 'bedrock', 'ai-sdk', 'provider-http'].map(decideOnce);

/** Whether the active context is inside a call an SDK-level guard decided. */
export function decidedAbove(): boolean {
  const ctx = context.active();
  return SDK_MARKS.some((m) => m.alreadyDecided(ctx));
}

/** The provider call a request is, unless an SDK-level guard already decided the call it belongs to. */
export function watchedEndpoint(net: SafetyNetConfig, method: string, url: URL): ProviderEndpoint | undefined {
  const endpoint = matchEndpoint(method, url, net.hosts);
  return endpoint && !decidedAbove() ? endpoint : undefined;
}

/** A provider request the net is handling: the body to send, and the call to settle from the response. */
export interface NetCall {
  /** The body to send (rewritten when the decision changed it), or undefined to send the original. */
  body: string | undefined;
  call: GuardedCall | undefined;
  request: NetRequest | undefined;
}

/**
 * The net's decision on one request to a watched host, before anything is sent.
 * Returns undefined for a request the net leaves alone (not a provider call, or
 * one an SDK-level guard decided). Throws to refuse the request: `block` mode,
 * a body `decide` mode cannot read, a decision that blocks or cannot be applied.
 */
export async function openNetCall(net: SafetyNetConfig, method: string, url: URL, bodyText: string | undefined): Promise<NetCall | undefined> {
  const endpoint = watchedEndpoint(net, method, url);
  if (!endpoint) return undefined;
  if (net.mode === 'block') throw new UnguardedCallError(endpoint, 'AGENTGUARD_UNGUARDED=block: no SDK-level guard decided this provider request');
  const body = parseBody(bodyText);
  if (net.mode === 'warn') {
    net.warn(
      `agentguard-spend: unguarded ${endpoint.provider} request to ${endpoint.host} (${endpoint.api}) sent without enforcement (AGENTGUARD_UNGUARDED=warn)${body ? '' : '; its body could not be read'}`,
    );
    const request: NetRequest = { endpoint, body: body ?? {} };
    try {
      // Recorded, signed, settled from the response; never changed (shadow).
      const call = await openGuardedCall(net.warnBinding(), netAdapter.describe(request)!);
      return { body: undefined, call, request };
    } catch {
      return { body: undefined, call: undefined, request };
    }
  }
  if (!body) throw new UnguardedCallError(endpoint, 'the safety net cannot read the JSON body of this provider request, so it cannot decide it');
  const request: NetRequest = { endpoint, body };
  const call = await openGuardedCall(net.binding(), netAdapter.describe(request)!);
  try {
    const prepared = netAdapter.prepare(request, call.prepared);
    return {
      body: prepared === request || JSON.stringify(prepared.body) === JSON.stringify(request.body) ? undefined : JSON.stringify(prepared.body),
      call,
      request: prepared,
    };
  } catch (error) {
    await call.fail(error);
    throw error;
  }
}

function parseBody(text: string | undefined): Record<string, unknown> | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Largest JSON response body kept for its usage; a larger one is settled by the unreported-usage rule. */
const MAX_JSON_BODY = 16 * 1024 * 1024;

/**
 * Reads usage out of a response body as it passes to the caller (never ahead
 * of it): JSON bodies whole at the end, server-sent events line by line; and
 * finishes the call once — settled, released by the unreported-usage rule,
 * or at 0 for an HTTP error status.
 */
export class ResponseTap {
  readonly #call: GuardedCall;
  readonly #request: NetRequest;
  readonly #kind: 'json' | 'sse' | 'other' | 'error';
  readonly #reader;
  readonly #decoder = new TextDecoder();
  #text = '';
  #overflow = false;
  #done = false;

  constructor(call: GuardedCall, request: NetRequest, status: number, contentType: string | null | undefined) {
    this.#call = call;
    this.#request = request;
    const ct = (contentType ?? '').toLowerCase();
    this.#kind = status >= 400 ? 'error' : ct.includes('text/event-stream') ? 'sse' : ct.includes('json') ? 'json' : 'other';
    this.#reader = netAdapter.streamUsage(request);
    if (this.#kind === 'error') {
      this.#done = true;
      const error = new Error(`HTTP ${status}`);
      error.name = `ProviderHttp${status}`;
      void call.fail(error);
    }
  }

  feed(chunk: Uint8Array | string): void {
    if (this.#done || this.#kind === 'other') return;
    const text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    if (this.#kind === 'json') {
      if (this.#text.length + text.length > MAX_JSON_BODY) this.#overflow = true;
      else this.#text += text;
      return;
    }
    this.#text += text;
    const lines = this.#text.split(/\r?\n/);
    this.#text = lines.pop() ?? '';
    for (const line of lines) this.#line(line);
  }

  #line(line: string): void {
    if (!line.startsWith('data:')) return;
    const data = line.slice(5).trim();
    if (!data || data === '[DONE]') return;
    try {
      this.#reader.observe(JSON.parse(data));
    } catch {
      // Not JSON: nothing to read.
    }
  }

  /** The body was read to its end. */
  async end(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    if (this.#kind === 'json') {
      let usage;
      try {
        usage = this.#overflow ? undefined : netAdapter.responseUsage(JSON.parse(this.#text + this.#decoder.decode()));
      } catch {
        usage = undefined;
      }
      if (usage) this.#call.recordResponse(usage);
      if (usage?.final) return this.#call.settle(usage.final, usage.model);
      return this.#call.releaseUnreported(usage?.reported, 'the response reported no usage');
    }
    if (this.#kind === 'sse') {
      this.#line(this.#text);
      this.#call.recordResponse(this.#reader.usage);
      return this.#call.finishStream({}, this.#reader.usage, this.#reader.output);
    }
    return this.#call.releaseUnreported(undefined, 'the response body is not one the safety net reads');
  }

  /** The body failed mid-way (`error`) or the caller stopped reading it. */
  async cutShort(outcome: { error?: unknown; abandoned?: boolean }): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    if (this.#kind === 'sse') {
      this.#call.recordResponse(this.#reader.usage);
      return this.#call.finishStream(outcome, this.#reader.usage, this.#reader.output);
    }
    // A JSON body is generated whole before it is sent: the provider did run the call (rule 1).
    return this.#call.releaseUnreported(undefined, 'the response body was not read to its end');
  }

  get request(): NetRequest {
    return this.#request;
  }
}
