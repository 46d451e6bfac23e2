import { ATTR } from '../common/attributes.js';
import { ClampNotAppliedError, type CallDescription } from '../common/guarded-call.js';
import type { PreparedCall, ProviderAdapter, ReportedUsage, StreamUsageReader } from '../common/provider-adapter.js';
import { takeOverrideHeadersFromOptions, type StainlessRequest } from '../common/stainless.js';
import type { UsageTokens } from '../../src/engine/pricing.js';
import { StreamedOutput } from '../common/unreported-usage.js';
import { defaultMaxOutputTokens, InputCollector } from './estimate.js';

/**
 * The OpenAI provider adapter (one per endpoint: `chat.completions.create`,
 * `responses.create`): request → {@link CallDescription}, the request to send,
 * and usage from responses and stream events.
 *
 * Usage semantics (OpenAI API reference, `CompletionUsage` / `ResponseUsage`
 * in the SDK's types): `prompt_tokens` / `input_tokens` INCLUDE the cached
 * tokens (`prompt_tokens_details.cached_tokens` /
 * `input_tokens_details.cached_tokens`), and `completion_tokens` /
 * `output_tokens` INCLUDE the reasoning tokens (`…_details.reasoning_tokens`).
 * That is exactly the engine's {@link UsageTokens} convention, so the counts
 * map one to one. OpenAI has no separately billed cache-write tokens.
 */

export const PROVIDER = 'openai';
export type OpenAIEndpoint = 'chat.completions' | 'responses' | 'embeddings';

/** `gen_ai.operation.name` for chat completions and Responses (as the OpenTelemetry contrib instrumentation does). */
export const OPERATION = 'chat';

type Body = Record<string, unknown>;

/** The adapter of one endpoint. */
export function openaiAdapter(endpoint: TextEndpoint): ProviderAdapter<StainlessRequest> {
  return endpoint === 'chat.completions' ? CHAT : RESPONSES;
}

/** The endpoints that generate text (`./embeddings.ts` has the embeddings adapter). */
export type TextEndpoint = Exclude<OpenAIEndpoint, 'embeddings'>;

function makeAdapter(endpoint: TextEndpoint): ProviderAdapter<StainlessRequest> {
  return {
    describe: (request) => describe(endpoint, request),
    prepare: (request, decided) => prepare(endpoint, request, decided),
    responseUsage: (response) => responseUsage(endpoint, response),
    streamUsage: (request) => new OpenAIStreamReader(endpoint, hidesUsageChunk(endpoint, request.params)),
  };
}

const CHAT = makeAdapter('chat.completions');
const RESPONSES = makeAdapter('responses');

function bodyOf(params: unknown): Body {
  return (params && typeof params === 'object' ? params : {}) as Body;
}

function describe(endpoint: TextEndpoint, request: StainlessRequest): CallDescription {
  const b = bodyOf(request.params);
  const model = typeof b.model === 'string' && b.model ? b.model : 'unknown';
  const { overrides } = takeOverrideHeadersFromOptions(request.options);
  const bound = outputBound(endpoint, model, b);
  return {
    provider: PROVIDER,
    operation: OPERATION,
    model,
    estimatedInputTokens: endpoint === 'chat.completions' ? estimateChatInput(model, b) : estimateResponsesInput(model, b),
    maxOutputTokens: bound.tokens,
    outputBoundSent: bound.sent,
    stream: b.stream === true,
    overrides,
    attributes: { [ATTR.OPENAI_API_TYPE]: endpoint === 'chat.completions' ? 'chat_completions' : 'responses' },
  };
}

/**
 * The output bound: `max_completion_tokens ?? max_tokens` (chat, times `n`
 * choices) or `max_output_tokens` (Responses); without one, the model's
 * documented maximum output (see {@link defaultMaxOutputTokens}).
 */
function outputBound(endpoint: TextEndpoint, model: string, b: Body): { tokens: number; sent: boolean } {
  const given = endpoint === 'chat.completions' ? (positiveInt(b.max_completion_tokens) ?? positiveInt(b.max_tokens)) : positiveInt(b.max_output_tokens);
  const perChoice = given ?? defaultMaxOutputTokens(model);
  const n = endpoint === 'chat.completions' ? (positiveInt(b.n) ?? 1) : 1;
  return { tokens: perChoice * n, sent: given !== undefined };
}

/**
 * A copy of the request with the decided model, the output bound the decision
 * set (`maxOutputTokens`, the call's total), usage reporting turned on for
 * chat streams, and without the override headers.
 *
 * The bound goes where the request reads it: chat `max_completion_tokens` or
 * `max_tokens`, whichever the caller used (both when both are set; a request
 * with neither gets `max_completion_tokens`), per choice (the total divided by
 * `n`, rounded down); Responses `max_output_tokens`. Throws
 * {@link ClampNotAppliedError} when `n` choices cannot each get one token.
 */
function prepare(endpoint: TextEndpoint, request: StainlessRequest, decided: PreparedCall): StainlessRequest {
  const b = { ...bodyOf(request.params) };
  if (b.model !== decided.model) b.model = decided.model;
  const max = decided.maxOutputTokens;
  if (max !== undefined) {
    if (endpoint === 'responses') {
      b.max_output_tokens = max;
    } else {
      const n = positiveInt(b.n) ?? 1;
      const perChoice = Math.floor(max / n);
      if (perChoice < 1) throw new ClampNotAppliedError(max, `the request asks for n=${n} choices, which cannot each get one output token`);
      const fields = ['max_completion_tokens', 'max_tokens'].filter((f) => positiveInt(b[f]) !== undefined);
      for (const f of fields.length ? fields : ['max_completion_tokens']) b[f] = perChoice;
    }
  }
  if (hidesUsageChunk(endpoint, b)) {
    // Streams report usage only when asked; a caller's explicit `false` is overridden too
    // (settlement needs it), and the extra chunk is hidden from the caller.
    const so = b.stream_options && typeof b.stream_options === 'object' ? (b.stream_options as Record<string, unknown>) : {};
    b.stream_options = { ...so, include_usage: true };
  }
  return { params: b, options: takeOverrideHeadersFromOptions(request.options).options };
}

/** A chat stream the caller did not ask usage of: `prepare` asks for it, and the reader hides it. */
function hidesUsageChunk(endpoint: TextEndpoint, params: unknown): boolean {
  const b = bodyOf(params);
  if (endpoint !== 'chat.completions' || b.stream !== true) return false;
  const so = b.stream_options && typeof b.stream_options === 'object' ? (b.stream_options as Record<string, unknown>) : {};
  return so.include_usage !== true;
}

/** Usage of a chat completion (or of a chunk carrying `usage`). */
function chatUsage(usage: unknown): UsageTokens | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const u = usage as Record<string, unknown>;
  const input = count(u.prompt_tokens);
  const output = count(u.completion_tokens);
  if (input === undefined || output === undefined) return undefined;
  return tokens(input, output, count(detail(u.prompt_tokens_details, 'cached_tokens')), count(detail(u.completion_tokens_details, 'reasoning_tokens')));
}

/** Usage of a Responses API response. */
function responsesUsage(usage: unknown): UsageTokens | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const u = usage as Record<string, unknown>;
  const input = count(u.input_tokens);
  const output = count(u.output_tokens);
  if (input === undefined || output === undefined) return undefined;
  return tokens(input, output, count(detail(u.input_tokens_details, 'cached_tokens')), count(detail(u.output_tokens_details, 'reasoning_tokens')));
}

/** Usage, model, id and finish reasons of a non-streamed result. */
function responseUsage(endpoint: TextEndpoint, result: unknown): ReportedUsage {
  if (!result || typeof result !== 'object') return {};
  const r = result as Record<string, unknown>;
  const final = endpoint === 'chat.completions' ? chatUsage(r.usage) : responsesUsage(r.usage);
  const finishReasons = endpoint === 'chat.completions' ? chatFinishReasons(r.choices) : responsesFinishReasons(r);
  return {
    ...(final ? { final } : {}),
    ...(typeof r.model === 'string' ? { model: r.model } : {}),
    ...(typeof r.id === 'string' ? { id: r.id } : {}),
    ...(finishReasons ? { finishReasons } : {}),
  };
}

/** `finish_reason` of each choice, in choice order (`index`); undefined when none was given. */
function chatFinishReasons(choices: unknown, into: string[] = []): string[] | undefined {
  if (!Array.isArray(choices)) return into.length ? into : undefined;
  for (const [i, c] of choices.entries()) {
    const choice = c as { index?: unknown; finish_reason?: unknown } | null;
    if (typeof choice?.finish_reason !== 'string') continue;
    into[typeof choice.index === 'number' && Number.isSafeInteger(choice.index) && choice.index >= 0 && choice.index < 128 ? choice.index : i] =
      choice.finish_reason;
  }
  const reasons = Array.from(into, (r) => r ?? 'error');
  return reasons.length ? reasons : undefined;
}

/**
 * A Responses API response has one generation and a `status` rather than a
 * finish reason: `completed` → `stop`, `incomplete` → its
 * `incomplete_details.reason` (`max_output_tokens`, `content_filter`),
 * `failed` → `error`; an unfinished status gives none.
 */
function responsesFinishReasons(response: Record<string, unknown> | undefined): string[] | undefined {
  const status = response?.status;
  if (status === 'completed') return ['stop'];
  if (status === 'failed') return ['error'];
  if (status === 'incomplete') {
    const reason = (response?.incomplete_details as { reason?: unknown } | null | undefined)?.reason;
    return [typeof reason === 'string' ? reason : 'incomplete'];
  }
  return undefined;
}

/**
 * Follows a stream's items: records usage and the response model, and counts
 * the streamed output's bytes (used only when no usage is ever reported, e.g.
 * the stream was abandoned). Hides the usage-only chunk `prepare` asked for
 * and the caller did not.
 */
class OpenAIStreamReader implements StreamUsageReader<unknown> {
  #final: UsageTokens | undefined;
  #model: string | undefined;
  #id: string | undefined;
  #finishReasons: string[] = [];
  readonly output = new StreamedOutput();

  constructor(
    readonly endpoint: TextEndpoint,
    readonly hideUsageChunk: boolean,
  ) {}

  get usage(): ReportedUsage {
    const finishReasons = this.#finishReasons.length ? Array.from(this.#finishReasons, (r) => r ?? 'error') : undefined;
    return { final: this.#final, model: this.#model, id: this.#id, finishReasons };
  }

  observe(item: unknown): void {
    if (!item || typeof item !== 'object') return;
    const it = item as Record<string, unknown>;
    if (this.endpoint === 'chat.completions') {
      if (typeof it.model === 'string') this.#model = it.model;
      if (typeof it.id === 'string') this.#id = it.id;
      chatFinishReasons(it.choices, this.#finishReasons);
      const usage = chatUsage(it.usage);
      if (usage) this.#final = usage;
      const choices = it.choices;
      if (Array.isArray(choices)) {
        for (const c of choices) {
          const delta = (c as { delta?: { content?: unknown; refusal?: unknown; tool_calls?: unknown } } | null)?.delta;
          if (!delta) continue;
          this.output.add(delta.content);
          this.output.add(delta.refusal);
          if (Array.isArray(delta.tool_calls))
            for (const t of delta.tool_calls) this.output.add((t as { function?: { arguments?: unknown } } | null)?.function?.arguments);
        }
      }
      // The caller did not ask for usage: its chunks carry no `usage: null` either.
      if (this.hideUsageChunk && it.usage === null) delete it.usage;
      return;
    }
    const type = it.type;
    if (
      type === 'response.output_text.delta' ||
      type === 'response.function_call_arguments.delta' ||
      type === 'response.refusal.delta' ||
      type === 'response.reasoning_summary_text.delta'
    ) {
      this.output.add(it.delta);
    }
    if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed' || type === 'response.created') {
      const response = it.response as Record<string, unknown> | undefined;
      if (response && typeof response.model === 'string') this.#model = response.model;
      if (response && typeof response.id === 'string') this.#id = response.id;
      this.#finishReasons = responsesFinishReasons(response) ?? this.#finishReasons;
      const usage = responsesUsage(response?.usage);
      if (usage) this.#final = usage;
    }
  }

  visible(item: unknown): boolean {
    if (!this.hideUsageChunk || !item || typeof item !== 'object') return true;
    const it = item as Record<string, unknown>;
    return !(Array.isArray(it.choices) && it.choices.length === 0 && chatUsage(it.usage) !== undefined);
  }
}

function estimateChatInput(model: string, b: Body): number {
  const c = new InputCollector();
  const messages = Array.isArray(b.messages) ? b.messages : [];
  for (const m of messages) {
    if (!m || typeof m !== 'object') continue;
    c.messages++;
    const msg = m as Record<string, unknown>;
    c.text(msg.name);
    contentParts(c, msg.content);
    c.text(msg.refusal);
    if (Array.isArray(msg.tool_calls)) {
      for (const t of msg.tool_calls) {
        const fn = (t as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
        c.text(fn?.name);
        c.text(fn?.arguments);
      }
    }
    const fc = msg.function_call as { name?: unknown; arguments?: unknown } | undefined;
    if (fc) {
      c.text(fc.name);
      c.text(fc.arguments);
    }
    if (msg.audio) c.opaque(msg.audio);
  }
  c.json(b.tools);
  c.json(b.functions);
  c.json(b.response_format);
  if (b.prediction) contentParts(c, (b.prediction as { content?: unknown }).content);
  return c.total(model);
}

function estimateResponsesInput(model: string, b: Body): number {
  const c = new InputCollector();
  c.text(b.instructions);
  const input = b.input;
  if (typeof input === 'string') {
    c.messages++;
    c.text(input);
  } else if (Array.isArray(input)) {
    for (const item of input) {
      if (!item || typeof item !== 'object') continue;
      const it = item as Record<string, unknown>;
      if (it.type === undefined || it.type === 'message') {
        c.messages++;
        contentParts(c, it.content);
      } else if (it.type === 'function_call') {
        c.text(it.name);
        c.text(it.arguments);
      } else if (it.type === 'function_call_output' || it.type === 'custom_tool_call_output') {
        if (typeof it.output === 'string') c.text(it.output);
        else contentParts(c, it.output);
      } else if (it.type === 'custom_tool_call') {
        c.text(it.input);
      } else {
        c.opaque(it);
      }
    }
  }
  c.json(b.tools);
  const text = b.text as { format?: unknown } | undefined;
  if (text?.format) c.json(text.format);
  return c.total(model);
}

/** Text of a message's content: a string or an array of typed parts (chat and Responses shapes). */
function contentParts(c: InputCollector, content: unknown): void {
  if (typeof content === 'string') return c.text(content);
  if (!Array.isArray(content)) {
    if (content !== undefined && content !== null) c.opaque(content);
    return;
  }
  for (const part of content) {
    if (typeof part === 'string') {
      c.text(part);
      continue;
    }
    if (!part || typeof part !== 'object') continue;
    const p = part as Record<string, unknown>;
    switch (p.type) {
      case 'text':
      case 'input_text':
      case 'output_text':
        c.text(p.text);
        break;
      case 'refusal':
        c.text(p.refusal);
        break;
      case 'image_url':
      case 'input_image':
        c.image();
        break;
      default:
        c.opaque(p);
    }
  }
}

function tokens(input: number, output: number, cached: number | undefined, reasoning: number | undefined): UsageTokens {
  return {
    inputTokens: input,
    outputTokens: output,
    ...(cached !== undefined ? { cachedInputTokens: Math.min(cached, input) } : {}),
    ...(reasoning !== undefined ? { reasoningTokens: Math.min(reasoning, output) } : {}),
  };
}

function detail(details: unknown, field: string): unknown {
  return details && typeof details === 'object' ? (details as Record<string, unknown>)[field] : undefined;
}

function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined;
}
