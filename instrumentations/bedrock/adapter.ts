/**
 * The Bedrock Runtime provider adapter: a `send(command, options)` call →
 * {@link CallDescription} (the four inference commands; every other command
 * is not guarded), the command to send, and usage from the output and its
 * event stream.
 *
 * The command sent is a NEW command of the caller's class whose input is a
 * shallow copy of the caller's (model rewritten on downgrade, the output bound
 * the decision set), carrying a copy of the caller's command-level middleware
 * and a middleware that captures the response headers (Bedrock's metering);
 * the caller's command object is never mutated.
 */
import { ClampNotAppliedError, type CallDescription } from '../common/guarded-call.js';
import type { PreparedCall, ProviderAdapter, ReportedUsage, StreamUsageReader } from '../common/provider-adapter.js';
import { mergeOverrides, type SpendCallOverrides } from '../common/scope-context.js';
import { currentAttemptLog, type AttemptLog } from '../common/attempts.js';
import { byteSizeBound } from '../common/estimate.js';
import { StreamedOutput, type PartialUsage } from '../common/unreported-usage.js';
import {
  defaultMaxOutputTokens,
  estimateInputTokens,
  TOOL_PROMPT_TOKENS,
  familyOfInvoke,
  isEmbeddingModel,
  isObject,
  maxTokensOfInvokeBody,
  withInvokeMaxTokens,
  type BedrockFamily,
} from './models.js';
import { accumulateModelJson, chooseUsage, isComplete, parseJsonBytes, rawFromConverseUsage, rawFromHeaders, toUsageTokens, type RawUsage } from './usage.js';

export const PROVIDER = 'bedrock';

/** The guarded commands, by class name. */
export type GuardedCommandName = 'ConverseCommand' | 'ConverseStreamCommand' | 'InvokeModelCommand' | 'InvokeModelWithResponseStreamCommand';
const GUARDED: ReadonlySet<string> = new Set<GuardedCommandName>([
  'ConverseCommand',
  'ConverseStreamCommand',
  'InvokeModelCommand',
  'InvokeModelWithResponseStreamCommand',
]);

/**
 * Per-call options this package reads from `send(command, options)` and strips before
 * the SDK sees them: `client.send(cmd, { agentguard: { scope: { agentId: 'a' }, capabilityClaim: 'read_only' } })`.
 * (`withSpendScope` does the same through OpenTelemetry context.)
 */
export interface BedrockSendOptions {
  agentguard?: SpendCallOverrides;
  [key: string]: unknown;
}

/** What `send` receives: a command object (`new XCommand(input)`) and its options. */
export interface BedrockRequest {
  command: unknown;
  options?: BedrockSendOptions | undefined;
}

/** A complete output, with the request that was sent (its captured response headers carry Bedrock's metering). */
export interface BedrockResponse {
  output: unknown;
  sent: BedrockRequest;
}

/** A command object as the SDK builds it (`new XCommand(input)`). */
interface CommandLike {
  input?: unknown;
  middlewareStack?: { clone?: () => unknown; add?: (mw: unknown, opts: unknown) => void };
  schema?: unknown;
  constructor: unknown;
}

/** The Bedrock adapter (stateless). */
export const bedrockAdapter: ProviderAdapter<BedrockRequest, BedrockResponse, unknown> = {
  describe,
  prepare,
  responseUsage,
  streamUsage: (request) => (guardedCommandName(request.command) === 'ConverseStreamCommand' ? new ConverseStreamReader() : new InvokeStreamReader()),
};

/**
 * Which guarded command this is, by the class name (`constructor.name`), or by the
 * operation name of its schema (`schema[2]` on current SDKs) when a bundler minified the
 * class names. Never by private module paths.
 */
export function guardedCommandName(command: unknown): GuardedCommandName | undefined {
  if (!command || typeof command !== 'object') return undefined;
  const ctor = (command as { constructor?: { name?: unknown } }).constructor;
  const name = typeof ctor?.name === 'string' ? ctor.name : '';
  if (GUARDED.has(name)) return name as GuardedCommandName;
  const schema = (command as CommandLike).schema;
  const op = Array.isArray(schema) ? schema[2] : isObject(schema) ? schema.name : undefined;
  if (typeof op === 'string' && GUARDED.has(`${op}Command`)) return `${op}Command` as GuardedCommandName;
  return undefined;
}

/**
 * Where a streaming command's output holds its event stream (`stream` for
 * ConverseStream, `body` for InvokeModelWithResponseStream); undefined for a
 * command answered in one piece.
 */
export function streamPropertyOf(request: BedrockRequest): 'stream' | 'body' | undefined {
  const name = guardedCommandName(request.command);
  return name === 'ConverseStreamCommand' ? 'stream' : name === 'InvokeModelWithResponseStreamCommand' ? 'body' : undefined;
}

function inputOf(command: unknown): Record<string, unknown> {
  const input = (command as CommandLike | undefined)?.input;
  return isObject(input) ? input : {};
}

/** The `agentguard` send option, read. */
function overridesOf(options: BedrockSendOptions | undefined): SpendCallOverrides {
  return options && typeof options === 'object' && 'agentguard' in options ? mergeOverrides({}, options.agentguard ?? {}) : {};
}

/** A guarded command → neutral call description; undefined for any other command. */
function describe(request: BedrockRequest): CallDescription | undefined {
  const name = guardedCommandName(request.command);
  if (!name) return undefined;
  const input = inputOf(request.command);
  const overrides = overridesOf(request.options);
  const modelId = typeof input.modelId === 'string' ? input.modelId : '';
  const stream = name === 'ConverseStreamCommand' || name === 'InvokeModelWithResponseStreamCommand';
  if (name === 'ConverseCommand' || name === 'ConverseStreamCommand') {
    const cfg = isObject(input.inferenceConfig) ? input.inferenceConfig : undefined;
    const max = typeof cfg?.maxTokens === 'number' && cfg.maxTokens >= 0 ? Math.ceil(cfg.maxTokens) : undefined;
    return {
      provider: PROVIDER,
      operation: 'chat',
      model: modelId,
      // The parts the model reads: messages, system prompt, tool definitions.
      estimatedInputTokens:
        estimateInputTokens(input.messages, input.system, input.toolConfig) + (hasTools(input.toolConfig, 'tools') ? TOOL_PROMPT_TOKENS : 0),
      maxOutputTokens: max ?? defaultMaxOutputTokens(modelId),
      outputBoundSent: max !== undefined,
      stream,
      overrides,
    };
  }
  const body = readInvokeBody(input.body);
  const family = familyOfInvoke(modelId, body.json);
  const embedding = isEmbeddingModel(modelId);
  const max = embedding ? 0 : body.json ? maxTokensOfInvokeBody(family, body.json) : undefined;
  return {
    provider: PROVIDER,
    operation: embedding ? 'embeddings' : body.json && Array.isArray(body.json.messages) ? 'chat' : 'text_completion',
    model: modelId,
    // An unparsed body's size bounds its tokens the same way (one token per byte at most).
    estimatedInputTokens: body.json
      ? estimateInputTokens(body.json) + (hasTools(body.json, 'tools') ? TOOL_PROMPT_TOKENS : 0)
      : body.bytes !== undefined
        ? byteSizeBound(body.bytes)
        : 0,
    maxOutputTokens: max ?? defaultMaxOutputTokens(modelId),
    outputBoundSent: max !== undefined,
    stream,
    overrides,
  };
}

/** Whether `holder[key]` is a non-empty list of tool definitions. */
function hasTools(holder: unknown, key: string): boolean {
  return isObject(holder) && Array.isArray(holder[key]) && holder[key].length > 0;
}

/**
 * Reads an InvokeModel request body without consuming it: strings and byte arrays
 * are decoded and parsed; a Blob is only measured; a stream body cannot be read
 * without consuming it, so it is neither parsed nor estimated (estimate 0, default
 * output ceiling).
 */
function readInvokeBody(body: unknown): { json?: Record<string, unknown>; bytes?: number } {
  if (body === undefined || body === null) return {};
  if (typeof Blob !== 'undefined' && body instanceof Blob) return { bytes: body.size };
  const parsed = parseJsonBytes(body);
  if (isObject(parsed)) return { json: parsed };
  if (typeof body === 'string') return { bytes: Buffer.byteLength(body) };
  if (ArrayBuffer.isView(body) || body instanceof ArrayBuffer) return { bytes: body.byteLength };
  return {};
}

/** Response headers captured per sent input object (see {@link prepare}). */
const CAPTURED_HEADERS = new WeakMap<object, Record<string, string>>();
const HEADER_MIDDLEWARE_NAME = 'agentguardSpendUsageHeaders';

/**
 * A deserialize-step middleware (public middleware-stack API) that copies the HTTP
 * response headers into the record kept for the request's input object. Keyed by
 * input rather than closed over, so a client with `cacheMiddleware: true` (which reuses
 * the first command's handler) still reports each call's own headers.
 */
const headerMiddleware = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
  // A deserialize-step middleware runs once per attempt (the SDK's retry middleware is a step
  // above): each attempt is recorded in the guarded call's attempt log, so retries that may
  // have run are charged.
  const input = (args as { input?: unknown }).input;
  const attempts = (input && typeof input === 'object' ? ATTEMPT_LOGS.get(input) : undefined) ?? currentAttemptLog();
  if (attempts) attempts.sent++;
  let result: { response?: { headers?: Record<string, string>; statusCode?: number } };
  try {
    result = (await next(args)) as typeof result;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
    if (attempts) {
      if (typeof status === 'number') attempts.answered(status);
      // Older SDKs throw the parser's SyntaxError without $metadata: a body arrived, the attempt was answered.
      else if (!(error instanceof SyntaxError)) attempts.failed(error);
    }
    throw error;
  }
  if (attempts && typeof result?.response?.statusCode === 'number') attempts.answered(result.response.statusCode);
  const sink = input && typeof input === 'object' ? CAPTURED_HEADERS.get(input) : undefined;
  if (sink && result?.response?.headers) Object.assign(sink, result.response.headers);
  return result;
};

/**
 * The request to send: a new command of the caller's class with a shallow
 * copy of its input (the decided `modelId`; the output bound the decision set,
 * written where the command reads it: Converse `inferenceConfig.maxTokens`,
 * InvokeModel the body field of the model's family, see
 * {@link withInvokeMaxTokens}, re-encoded as the caller gave it), and the send
 * options without `agentguard`. Throws {@link ClampNotAppliedError} when the
 * body cannot carry the bound (not JSON, a stream or Blob, an unknown dialect).
 */
function prepare(request: BedrockRequest, decided: PreparedCall): BedrockRequest {
  const command = request.command as CommandLike;
  const input = inputOf(command);
  const sentInput = withOutputBound(guardedCommandName(command)!, input, decided.maxOutputTokens);
  sentInput.modelId = decided.model;
  let options = request.options;
  if (options && typeof options === 'object' && 'agentguard' in options) {
    const { agentguard: _taken, ...rest } = options;
    options = Object.keys(rest).length ? rest : undefined;
  }
  return { command: cloneCommand(command, sentInput), options };
}

function withOutputBound(name: GuardedCommandName, input: Record<string, unknown>, maxTokens: number | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...input };
  if (maxTokens === undefined) return out;
  if (name === 'ConverseCommand' || name === 'ConverseStreamCommand') {
    out.inferenceConfig = { ...(isObject(input.inferenceConfig) ? input.inferenceConfig : {}), maxTokens };
    return out;
  }
  const body = readInvokeBody(input.body);
  if (!body.json)
    throw new ClampNotAppliedError(
      maxTokens,
      'the InvokeModel body is not readable JSON (a stream, a Blob or not JSON), so its output bound cannot be rewritten',
    );
  const family: BedrockFamily = familyOfInvoke(typeof input.modelId === 'string' ? input.modelId : '', body.json);
  const bounded = withInvokeMaxTokens(family, body.json, maxTokens);
  if (!bounded)
    throw new ClampNotAppliedError(
      maxTokens,
      `the InvokeModel body of ${String(input.modelId)} sets no output bound this adapter knows for an unknown model family`,
    );
  const text = JSON.stringify(bounded);
  out.body = typeof input.body === 'string' ? text : new TextEncoder().encode(text);
  return out;
}

/** The attempt log of each prepared command's input (see {@link countAttemptsOf}). */
const ATTEMPT_LOGS = new WeakMap<object, AttemptLog>();

/**
 * Has the header middleware of a prepared command (see {@link prepare}) record
 * each of its attempts in `log`, keyed by the command's own input, so no async
 * scope is needed. False when the command carries no such middleware (an SDK
 * without the middleware-stack API).
 */
export function countAttemptsOf(command: unknown, log: AttemptLog): boolean {
  const input = (command as { input?: unknown } | null)?.input;
  if (!input || typeof input !== 'object' || !CAPTURED_HEADERS.has(input)) return false;
  ATTEMPT_LOGS.set(input, log);
  return true;
}

/**
 * A new command of the caller's class with `input`, carrying a copy of the caller's
 * command-level middleware stack and the header middleware. The caller's object is
 * never touched.
 */
function cloneCommand(command: CommandLike, input: Record<string, unknown>): unknown {
  const Ctor = command.constructor as new (input: unknown) => CommandLike;
  const next = new Ctor(input);
  try {
    const stack = command.middlewareStack?.clone?.();
    if (stack) (next as { middlewareStack: unknown }).middlewareStack = stack;
    next.middlewareStack?.add?.(headerMiddleware, { step: 'deserialize', name: HEADER_MIDDLEWARE_NAME, override: true });
    CAPTURED_HEADERS.set(input, {});
  } catch {
    // An SDK without the middleware-stack API: usage then comes from the body only.
  }
  return next;
}

/**
 * Usage of a Converse or InvokeModel output (the family's own, else Bedrock's
 * metering headers), its id (the model's own message id when the body has one,
 * else the AWS request id) and its finish reasons (Converse `stopReason`, the
 * family's field in an InvokeModel body).
 */
function responseUsage(response: BedrockResponse): ReportedUsage {
  const { output, sent } = response;
  if (!isObject(output)) return {};
  const requestId = bedrockRequestId(output);
  if (guardedCommandName(sent.command) === 'ConverseCommand') {
    return {
      ...usageOf(rawFromConverseUsage(output.usage)),
      ...(requestId ? { id: requestId } : {}),
      ...(typeof output.stopReason === 'string' ? { finishReasons: [output.stopReason] } : {}),
    };
  }
  const family: RawUsage = {};
  const metering = rawFromHeaders(CAPTURED_HEADERS.get(inputOf(sent.command)));
  const body = parseJsonBytes(output.body);
  accumulateModelJson(body, family, metering);
  if (isEmbeddingModel(String(inputOf(sent.command).modelId ?? ''))) {
    // An embedding generates nothing: its body and metering report the input alone.
    for (const raw of [family, metering]) if (raw.input !== undefined && raw.output === undefined) raw.output = 0;
  }
  const model = isObject(body) && typeof body.model === 'string' ? body.model : undefined;
  const id = isObject(body) && typeof body.id === 'string' && body.id ? body.id : requestId;
  const finishReasons = finishReasonsOfModelJson(body);
  return {
    ...usageOf(chooseUsage(family, metering) ?? { ...metering, ...family }),
    ...(model ? { model } : {}),
    ...(id ? { id } : {}),
    ...(finishReasons.length ? { finishReasons } : {}),
  };
}

/** The AWS request id of a command's output (`$metadata.requestId`, from `x-amzn-requestid`). */
export function bedrockRequestId(output: unknown): string | undefined {
  const metadata = isObject(output) ? output.$metadata : undefined;
  const id = isObject(metadata) ? metadata.requestId : undefined;
  return typeof id === 'string' && id ? id : undefined;
}

/**
 * The finish reasons in one InvokeModel body or stream chunk, by family:
 * Anthropic `stop_reason` (or a `message_delta`'s `delta.stop_reason`), Nova
 * `stopReason` / `messageStop.stopReason`, Titan `results[].completionReason`,
 * Meta `stop_reason`, Mistral `outputs[].stop_reason`, Cohere
 * `finish_reason` / `generations[].finish_reason`, OpenAI-compatible
 * `choices[].finish_reason`. Nulls (a chunk before the end) are skipped.
 */
function finishReasonsOfModelJson(json: unknown): string[] {
  if (!isObject(json)) return [];
  const out: string[] = [];
  const add = (v: unknown) => {
    if (typeof v === 'string' && v) out.push(v);
  };
  const each = (list: unknown, field: string) => {
    if (Array.isArray(list)) for (const item of list) if (isObject(item)) add(item[field]);
  };
  add(json.stop_reason);
  add(json.stopReason);
  add(json.finish_reason);
  if (isObject(json.delta)) add(json.delta.stop_reason);
  if (isObject(json.messageStop)) add(json.messageStop.stopReason);
  each(json.results, 'completionReason');
  each(json.outputs, 'stop_reason');
  each(json.generations, 'finish_reason');
  each(json.choices, 'finish_reason');
  return out;
}

/** Complete counts are final; otherwise what was reported. */
function usageOf(raw: RawUsage | undefined): ReportedUsage {
  return isComplete(raw) ? { final: toUsageTokens(raw) } : { reported: partialUsage(raw) };
}

/** Reported counts in the engine's semantics; a count not reported stays undefined. */
function partialUsage(raw: RawUsage | undefined): PartialUsage | undefined {
  if (!raw) return undefined;
  return {
    ...(raw.input !== undefined ? { inputTokens: raw.input + (raw.cacheRead ?? 0) + (raw.cacheWrite ?? 0) } : {}),
    ...(raw.output !== undefined ? { outputTokens: raw.output } : {}),
    ...(raw.cacheRead !== undefined ? { cachedInputTokens: raw.cacheRead } : {}),
    ...(raw.cacheWrite !== undefined ? { cacheWriteTokens: raw.cacheWrite } : {}),
  };
}

/**
 * Usage of a ConverseStream: `metadata.usage` carries the call's final usage;
 * the deltas' text, tool input and reasoning are the streamed output.
 */
class ConverseStreamReader implements StreamUsageReader<unknown> {
  readonly #family: RawUsage = {};
  readonly output = new StreamedOutput();
  #finalSeen = false;
  #ended = false;
  #stopReason: string | undefined;

  observe(event: unknown): void {
    if (!isObject(event)) return;
    if (isObject(event.messageStop) && typeof event.messageStop.stopReason === 'string') this.#stopReason = event.messageStop.stopReason;
    if (isObject(event.metadata)) {
      const u = rawFromConverseUsage(event.metadata.usage);
      if (u) {
        Object.assign(this.#family, u);
        this.#finalSeen = true;
      }
    }
    const delta = isObject(event.contentBlockDelta) && isObject(event.contentBlockDelta.delta) ? event.contentBlockDelta.delta : undefined;
    if (delta) {
      this.output.add(delta.text);
      if (isObject(delta.toolUse)) this.output.add(delta.toolUse.input);
      if (isObject(delta.reasoningContent)) this.output.add(delta.reasoningContent.text);
    }
  }

  end(): void {
    this.#ended = true;
  }

  get usage(): ReportedUsage {
    return { ...streamUsageOf(this.#family, {}, this.#finalSeen || this.#ended), finishReasons: this.#stopReason ? [this.#stopReason] : undefined };
  }
}

/**
 * Usage of an InvokeModelWithResponseStream: each chunk's model-family JSON
 * and Bedrock's invocation metrics on the last chunk.
 */
class InvokeStreamReader implements StreamUsageReader<unknown> {
  readonly #family: RawUsage = {};
  readonly #metering: RawUsage = {};
  readonly output = new StreamedOutput();
  #finalSeen = false;
  #ended = false;
  #id: string | undefined;
  #finishReasons: string[] = [];

  observe(event: unknown): void {
    if (!isObject(event) || !isObject(event.chunk)) return;
    const json = parseJsonBytes(event.chunk.bytes);
    accumulateModelJson(json, this.#family, this.#metering);
    const reasons = finishReasonsOfModelJson(json);
    if (reasons.length) this.#finishReasons = reasons;
    if (isObject(json) && json.type === 'message_start' && isObject(json.message) && typeof json.message.id === 'string') this.#id = json.message.id;
    addStreamedText(json, this.output);
    if (isFinalUsageChunk(json, this.#metering)) this.#finalSeen = true;
  }

  end(): void {
    this.#ended = true;
  }

  get usage(): ReportedUsage {
    return {
      ...streamUsageOf(this.#family, this.#metering, this.#finalSeen || this.#ended),
      ...(this.#id ? { id: this.#id } : {}),
      finishReasons: this.#finishReasons.length ? this.#finishReasons : undefined,
    };
  }
}

/**
 * Counts read before the final usage (a `message_start`, Titan/Meta running counts)
 * are not final: a stream cut short before it is charged by the rule for cut-short
 * streams. Once the final usage was seen, or the stream ended, complete counts are final.
 */
function streamUsageOf(family: RawUsage, metering: RawUsage, final: boolean): ReportedUsage {
  const chosen = final ? chooseUsage(family, metering) : undefined;
  return { final: chosen ? toUsageTokens(chosen) : undefined, reported: partialUsage({ ...metering, ...family }) };
}

/**
 * Whether an InvokeModelWithResponseStream chunk carried the call's final usage:
 * Bedrock's invocation metrics (on the last chunk), an Anthropic `message_delta` with
 * usage, Nova's `metadata.usage`, an OpenAI-compatible usage chunk.
 */
function isFinalUsageChunk(json: unknown, metering: RawUsage): boolean {
  if (isComplete(metering)) return true;
  if (!isObject(json)) return false;
  if (json.type === 'message_delta' && isObject(json.usage)) return true;
  if (isObject(json.metadata) && isObject(json.metadata.usage)) return true;
  return isObject(json.usage) && 'completion_tokens' in json.usage;
}

/**
 * The output text of one InvokeModelWithResponseStream chunk, by family (Anthropic
 * deltas, Nova/Converse-shaped deltas, Titan, Meta, OpenAI-compatible, Mistral, Cohere),
 * counted for a stream cut short before its usage.
 */
function addStreamedText(json: unknown, out: StreamedOutput): void {
  if (!isObject(json)) return;
  if (isObject(json.delta)) {
    out.add(json.delta.text);
    out.add(json.delta.partial_json);
    out.add(json.delta.thinking);
  }
  if (isObject(json.contentBlockDelta) && isObject(json.contentBlockDelta.delta)) out.add(json.contentBlockDelta.delta.text);
  out.add(json.outputText);
  out.add(json.generation);
  if (Array.isArray(json.choices)) for (const c of json.choices) if (isObject(c)) out.add(isObject(c.delta) ? c.delta.content : c.text);
  if (Array.isArray(json.outputs)) for (const o of json.outputs) if (isObject(o)) out.add(o.text);
  if (json.event_type === 'text-generation' || typeof json.is_finished === 'boolean') out.add(json.text);
}
