import type { UsageTokens } from '../../src/engine/pricing.js';
import { AgentGuardError } from '../../src/audit/errors.js';
import type { CallDescription } from '../common/guarded-call.js';
import type { PreparedCall, ProviderAdapter, ReportedUsage, StreamUsageReader } from '../common/provider-adapter.js';
import { serverOfUrl, type ServerAddress } from '../common/server-address.js';
import { StreamedOutput, type PartialUsage } from '../common/unreported-usage.js';
import type { NetApi, ProviderEndpoint } from './endpoints.js';

/** A provider call caught at the HTTP layer: where it goes and its parsed JSON body. */
export interface NetRequest {
  endpoint: ProviderEndpoint;
  body: Record<string, unknown>;
}

/**
 * Output bound a call whose body sets none is priced at (`outputBoundSent: false`).
 * Nothing is written for it: a policy's `defaultMaxOutputTokens` is, where the API allows.
 */
export const NET_DEFAULT_MAX_OUTPUT_TOKENS = 16_384;
/** OpenAI's own default for the legacy completions endpoint. */
const LEGACY_COMPLETIONS_DEFAULT = 16;
/** Tokens counted for a base64 or data-URL payload (an image, a PDF) instead of its bytes. */
export const NET_FILE_TOKENS = 1_600;

/** The request cannot be changed as the decision requires (downgrade, output bound); it is not sent. */
export class NetRewriteError extends AgentGuardError {
  constructor(why: string) {
    super(`agentguard: safety net: ${why}; the request was not sent`);
  }
}

const OPERATION: Record<NetApi, string> = {
  'openai-chat': 'chat',
  'openai-responses': 'chat',
  'openai-completions': 'text_completion',
  'openai-embeddings': 'embeddings',
  'anthropic-messages': 'chat',
  'bedrock-converse': 'chat',
  'bedrock-converse-stream': 'chat',
  'bedrock-invoke': 'chat',
  'bedrock-invoke-stream': 'chat',
};

const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/**
 * Input estimate from a body: one token per UTF-8 byte of every string in it (a bound)
 * (keys excluded), a base64 or data-URL payload counted as
 * {@link NET_FILE_TOKENS}. Errs high; provider-reported usage settles.
 */
export function estimateBodyInputTokens(body: unknown, skip: ReadonlySet<string> = new Set(['model'])): number {
  let bytes = 0;
  let files = 0;
  const walk = (v: unknown, key?: string) => {
    if (key !== undefined && skip.has(key)) return;
    if (typeof v === 'string') {
      if (v.startsWith('data:') || (v.length > 1_000 && /^[A-Za-z0-9+/=\r\n]+$/.test(v))) files++;
      else bytes += Buffer.byteLength(v, 'utf8');
    } else if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(body);
  // One token per UTF-8 byte at most: a bound on what the provider counts (`../common/estimate.ts`).
  return bytes + files * NET_FILE_TOKENS;
}

/** Where each API keeps its output bound in the body; Bedrock's InvokeModel body is the model family's own. */
function boundOf(api: NetApi, body: Record<string, unknown>): number | undefined {
  switch (api) {
    case 'openai-chat':
      return count(body.max_completion_tokens) ?? count(body.max_tokens);
    case 'openai-responses':
      return count(body.max_output_tokens);
    case 'openai-completions':
    case 'anthropic-messages':
      return count(body.max_tokens);
    case 'openai-embeddings':
      return 0;
    case 'bedrock-converse':
    case 'bedrock-converse-stream':
      return count(obj(body.inferenceConfig).maxTokens);
    default:
      return (
        count(body.max_tokens) ??
        count(body.max_gen_len) ??
        count(obj(body.textGenerationConfig).maxTokenCount) ??
        count(obj(body.inferenceConfig).max_new_tokens)
      );
  }
}

function choices(body: Record<string, unknown>): number {
  const n = count(body.n);
  return n && n > 1 ? n : 1;
}

/** The engine's output bound: the body's (times `n` choices), or the API's default. */
export function netOutputBound(request: NetRequest): number {
  const { api } = request.endpoint;
  const given = boundOf(api, request.body);
  const perChoice = given ?? (api === 'openai-completions' ? LEGACY_COMPLETIONS_DEFAULT : NET_DEFAULT_MAX_OUTPUT_TOKENS);
  return api.startsWith('openai') ? perChoice * choices(request.body) : perChoice;
}

/** `server.address`/`server.port` of a matched `host[:port]` (the providers' hosts are HTTPS: 443 when none is named). */
function serverOfHost(host: string): ServerAddress | undefined {
  return serverOfUrl(`https://${host}`);
}

/** Whether the API's body can be rewritten: Bedrock requests are SigV4-signed over path and body. */
export function rewritable(request: NetRequest): boolean {
  return request.endpoint.provider !== 'bedrock';
}

/**
 * A provider request at the HTTP layer as a {@link ProviderAdapter}: the JSON
 * body is described (model from the body, or from the path for Bedrock and
 * Azure deployments), and prepared by rewriting `model` and the output-bound
 * field in the body. A Bedrock request is signed over its path and body, and
 * an Azure deployment URL names the model in the path: a decision that would
 * change them throws {@link NetRewriteError} (the request is not sent).
 */
export const netAdapter: ProviderAdapter<NetRequest, unknown, unknown> = {
  describe(request): CallDescription | undefined {
    const { endpoint, body } = request;
    const model = typeof body.model === 'string' && body.model ? body.model : endpoint.pathModel;
    return {
      provider: endpoint.provider,
      operation: OPERATION[endpoint.api],
      model: model ?? 'unknown',
      estimatedInputTokens: estimateBodyInputTokens(body),
      maxOutputTokens: netOutputBound(request),
      // A signed Bedrock body cannot take a default bound: its priced bound stands as sent.
      outputBoundSent: boundOf(endpoint.api, body) !== undefined || !rewritable(request),
      server: serverOfHost(endpoint.host),
      stream: body.stream === true || endpoint.api.endsWith('-stream'),
    };
  },

  prepare(request, decided: PreparedCall): NetRequest {
    const { endpoint } = request;
    const current = typeof request.body.model === 'string' && request.body.model ? request.body.model : endpoint.pathModel;
    const body = { ...request.body };
    if (decided.model !== current) {
      if (!rewritable(request) || typeof request.body.model !== 'string') {
        throw new NetRewriteError(
          `the decision downgraded ${current} to ${decided.model}, but this ${endpoint.provider} request names its model in the URL${endpoint.provider === 'bedrock' ? ' and is signed' : ''}, so it cannot be rewritten`,
        );
      }
      body.model = decided.model;
    }
    if (decided.maxOutputTokens !== undefined) {
      if (!rewritable(request))
        throw new NetRewriteError(
          `the decision lowered the output bound to ${decided.maxOutputTokens} tokens, but a signed Bedrock request body cannot be rewritten`,
        );
      const perChoice = endpoint.api.startsWith('openai') ? Math.floor(decided.maxOutputTokens / choices(body)) : decided.maxOutputTokens;
      if (perChoice < 1)
        throw new NetRewriteError(
          `the output bound of ${decided.maxOutputTokens} tokens cannot be split over the ${choices(body)} choices the request asks for`,
        );
      switch (endpoint.api) {
        case 'openai-chat':
          if ('max_tokens' in body && !('max_completion_tokens' in body)) body.max_tokens = perChoice;
          else body.max_completion_tokens = perChoice;
          break;
        case 'openai-responses':
          body.max_output_tokens = perChoice;
          break;
        case 'openai-completions':
        case 'anthropic-messages':
          body.max_tokens = perChoice;
          break;
        default:
          break;
      }
    }
    return { endpoint, body };
  },

  responseUsage(response): ReportedUsage {
    return usageOfBody(response);
  },

  streamUsage(request): StreamUsageReader<unknown> {
    return new NetStreamReader(request.endpoint.api);
  },
};

/** Usage in a complete JSON response body of any of the three APIs. */
export function usageOfBody(response: unknown): ReportedUsage {
  const r = obj(response);
  const model = typeof r.model === 'string' ? r.model : undefined;
  const reported = wireUsage(r.usage);
  return { final: complete(reported), reported, model, id: typeof r.id === 'string' ? r.id : undefined, finishReasons: finishReasonsOfBody(r) };
}

/** OpenAI chat `choices[].finish_reason`, Anthropic `stop_reason`, Bedrock Converse `stopReason`. */
function finishReasonsOfBody(r: Record<string, unknown>): string[] | undefined {
  const reasons = Array.isArray(r.choices) ? r.choices.map((c) => obj(c).finish_reason) : [r.stop_reason ?? r.stopReason];
  const strings = reasons.filter((x): x is string => typeof x === 'string');
  return strings.length ? strings : undefined;
}

/**
 * Any provider's wire usage in the engine's semantics: OpenAI chat
 * (`prompt_tokens`, cached and reasoning details, both included in the
 * totals), OpenAI Responses and embeddings, Anthropic (`input_tokens`
 * EXCLUDING cache reads and writes, which are added back), Bedrock Converse
 * (`inputTokens` excluding `cacheReadInputTokens`/`cacheWriteInputTokens`).
 */
export function wireUsage(usage: unknown): PartialUsage | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const u = usage as Record<string, unknown>;
  const out: PartialUsage = {};
  if (count(u.prompt_tokens) !== undefined) {
    out.inputTokens = count(u.prompt_tokens)!;
    out.outputTokens = count(u.completion_tokens) ?? 0;
    const cached = count(obj(u.prompt_tokens_details).cached_tokens);
    const reasoning = count(obj(u.completion_tokens_details).reasoning_tokens);
    if (cached !== undefined) out.cachedInputTokens = cached;
    if (reasoning !== undefined) out.reasoningTokens = reasoning;
  } else if ('cache_read_input_tokens' in u || 'cache_creation_input_tokens' in u) {
    const read = count(u.cache_read_input_tokens) ?? 0;
    const write = count(u.cache_creation_input_tokens) ?? 0;
    if (count(u.input_tokens) !== undefined) out.inputTokens = count(u.input_tokens)! + read + write;
    if (count(u.output_tokens) !== undefined) out.outputTokens = count(u.output_tokens)!;
    out.cachedInputTokens = read;
    out.cacheWriteTokens = write;
  } else if (count(u.input_tokens) !== undefined || count(u.output_tokens) !== undefined) {
    if (count(u.input_tokens) !== undefined) out.inputTokens = count(u.input_tokens)!;
    if (count(u.output_tokens) !== undefined) out.outputTokens = count(u.output_tokens)!;
    const cached = count(obj(u.input_tokens_details).cached_tokens);
    const reasoning = count(obj(u.output_tokens_details).reasoning_tokens);
    if (cached !== undefined) out.cachedInputTokens = cached;
    if (reasoning !== undefined) out.reasoningTokens = reasoning;
  } else if (count(u.inputTokens) !== undefined) {
    const read = count(u.cacheReadInputTokens) ?? 0;
    const write = count(u.cacheWriteInputTokens) ?? 0;
    out.inputTokens = count(u.inputTokens)! + read + write;
    if (count(u.outputTokens) !== undefined) out.outputTokens = count(u.outputTokens)!;
    if (read) out.cachedInputTokens = read;
    if (write) out.cacheWriteTokens = write;
  }
  return Object.keys(out).length ? out : undefined;
}

function complete(r: PartialUsage | undefined): UsageTokens | undefined {
  if (!r || r.inputTokens === undefined || r.outputTokens === undefined) return undefined;
  const usage: UsageTokens = { inputTokens: r.inputTokens, outputTokens: r.outputTokens };
  if ((r.cachedInputTokens ?? 0) + (r.cacheWriteTokens ?? 0) <= r.inputTokens) {
    if (r.cachedInputTokens !== undefined) usage.cachedInputTokens = r.cachedInputTokens;
    if (r.cacheWriteTokens !== undefined) usage.cacheWriteTokens = r.cacheWriteTokens;
  }
  if (r.reasoningTokens !== undefined && r.reasoningTokens <= r.outputTokens) usage.reasoningTokens = r.reasoningTokens;
  return usage;
}

/**
 * Folds the `data:` events of a server-sent-events response: OpenAI chat
 * chunks (usage in the last chunk, with `stream_options.include_usage`),
 * Responses events (`response.completed`), Anthropic events (`message_start`
 * input side, `message_delta` cumulative output), and the output text deltas
 * for a stream cut short.
 */
export class NetStreamReader implements StreamUsageReader<unknown> {
  readonly output = new StreamedOutput();
  #reported: PartialUsage | undefined;
  #final: UsageTokens | undefined;
  #model: string | undefined;
  #id: string | undefined;
  #finishReasons: string[] | undefined;
  readonly #api: NetApi;

  constructor(api: NetApi) {
    this.#api = api;
  }

  observe(event: unknown): void {
    const e = obj(event);
    if (this.#api === 'anthropic-messages') {
      if (e.type === 'message_start') {
        const m = obj(e.message);
        if (typeof m.model === 'string') this.#model = m.model;
        if (typeof m.id === 'string') this.#id = m.id;
        this.#reported = { ...this.#reported, ...wireUsage({ cache_read_input_tokens: 0, ...obj(m.usage) }) };
      } else if (e.type === 'message_delta') {
        const reason = obj(e.delta).stop_reason;
        if (typeof reason === 'string') this.#finishReasons = [reason];
        const u = obj(e.usage);
        if (count(u.output_tokens) !== undefined) {
          this.#reported = { ...this.#reported, outputTokens: count(u.output_tokens)! };
          this.#final = complete(this.#reported);
        }
      } else if (e.type === 'content_block_delta') {
        const d = obj(e.delta);
        this.output.add(d.text);
        this.output.add(d.partial_json);
        this.output.add(d.thinking);
      }
      return;
    }
    if (typeof e.type === 'string') {
      // Responses events.
      if (e.type === 'response.completed' || e.type === 'response.incomplete') {
        const r = obj(e.response);
        if (typeof r.model === 'string') this.#model = r.model;
        if (typeof r.id === 'string') this.#id = r.id;
        this.#reported = wireUsage(r.usage);
        this.#final = complete(this.#reported);
      } else if (e.type.endsWith('.delta')) this.output.add(e.delta);
      return;
    }
    // Chat completion chunks.
    if (typeof e.model === 'string') this.#model = e.model;
    if (typeof e.id === 'string') this.#id = e.id;
    for (const c of Array.isArray(e.choices) ? e.choices : []) {
      const reason = obj(c).finish_reason;
      if (typeof reason === 'string') this.#finishReasons = [...(this.#finishReasons ?? []), reason];
      const d = obj(obj(c).delta);
      this.output.add(d.content);
      for (const t of Array.isArray(d.tool_calls) ? d.tool_calls : []) this.output.add(obj(obj(t).function).arguments);
    }
    const usage = wireUsage(e.usage);
    if (usage) {
      this.#reported = usage;
      this.#final = complete(usage);
    }
  }

  get usage(): ReportedUsage {
    return { final: this.#final, reported: this.#reported, model: this.#model, id: this.#id, finishReasons: this.#finishReasons };
  }
}
