/**
 * The Bedrock adapter shared by {@link BedrockSpendGuardInstrumentation} and
 * {@link withBedrockSpendGuard}: it guards `BedrockRuntimeClient.send` for the four
 * inference commands and passes every other command through untouched.
 *
 * A guarded call: describe the command (model, output bound, input estimate) → decide
 * (a block throws before anything is sent) → send a NEW command of the same class whose
 * input is a shallow copy of the caller's (with `modelId` rewritten on downgrade; the
 * caller's command object is never mutated) → settle from the reported usage: at once
 * for Converse/InvokeModel, when the event stream ends for ConverseStream and
 * InvokeModelWithResponseStream (wrapped lazily, never read ahead).
 */
import { context } from '@opentelemetry/api';
import { decideOnce } from '../common/decide-once.js';
import { StreamedOutput, type PartialUsage } from '../common/unreported-usage.js';
import { ClampNotAppliedError, openGuardedCall, type CallDescription, type GuardBinding, type GuardedCall } from '../common/guarded-call.js';
import { mergeOverrides, type SpendCallOverrides } from '../common/scope-context.js';
import { observeAsyncIterator } from '../common/stream-settlement.js';
import {
  defaultMaxOutputTokens,
  estimateInputTokens,
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
const GUARDED: ReadonlySet<string> = new Set<GuardedCommandName>(['ConverseCommand', 'ConverseStreamCommand', 'InvokeModelCommand', 'InvokeModelWithResponseStreamCommand']);

/**
 * Per-call options this package reads from `send(command, options)` and strips before
 * the SDK sees them: `client.send(cmd, { agentguard: { scope: { agentId: 'a' }, capabilityClaim: 'read_only' } })`.
 * (`withSpendScope` does the same through OpenTelemetry context.)
 */
export interface BedrockSendOptions {
  agentguard?: SpendCallOverrides;
  [key: string]: unknown;
}

/** A command object as the SDK builds it (`new XCommand(input)`). */
interface CommandLike {
  input?: unknown;
  middlewareStack?: { clone?: () => unknown; add?: (mw: unknown, opts: unknown) => void };
  schema?: unknown;
  constructor: unknown;
}

type SendFn = (this: unknown, command: unknown, optionsOrCb?: unknown, cb?: unknown) => unknown;

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

/** What the adapter learned about one command before sending it. */
export interface DescribedCommand {
  call: CallDescription;
  /** InvokeModel dialect (for usage parsing); `undefined` for Converse. */
  family?: BedrockFamily;
}

/** Request → neutral call description. */
export function describeCommand(name: GuardedCommandName, input: Record<string, unknown>): DescribedCommand {
  const modelId = typeof input.modelId === 'string' ? input.modelId : '';
  const stream = name === 'ConverseStreamCommand' || name === 'InvokeModelWithResponseStreamCommand';
  if (name === 'ConverseCommand' || name === 'ConverseStreamCommand') {
    const cfg = isObject(input.inferenceConfig) ? input.inferenceConfig : undefined;
    const max = typeof cfg?.maxTokens === 'number' && cfg.maxTokens >= 0 ? Math.ceil(cfg.maxTokens) : undefined;
    return {
      call: {
        provider: PROVIDER,
        operation: 'chat',
        model: modelId,
        // The parts the model reads: messages, system prompt, tool definitions.
        estimatedInputTokens: estimateInputTokens(input.messages, input.system, input.toolConfig),
        maxOutputTokens: max ?? defaultMaxOutputTokens(modelId),
        stream,
      },
    };
  }
  const body = readInvokeBody(input.body);
  const family = familyOfInvoke(modelId, body.json);
  const embedding = isEmbeddingModel(modelId);
  const max = embedding ? 0 : body.json ? maxTokensOfInvokeBody(family, body.json) : undefined;
  return {
    family,
    call: {
      provider: PROVIDER,
      operation: embedding ? 'embeddings' : body.json && Array.isArray(body.json.messages) ? 'chat' : 'text_completion',
      model: modelId,
      estimatedInputTokens: body.json ? estimateInputTokens(body.json) : body.bytes !== undefined ? Math.ceil(body.bytes / 3) : 0,
      maxOutputTokens: max ?? defaultMaxOutputTokens(modelId),
      stream,
    },
  };
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

/** One decision per call: wrapper over instrumentation (see `../common/decide-once.ts`). */
const once = decideOnce('bedrock');

/** Response headers captured per sent input object (see {@link cloneCommand}). */
const HEADER_SINKS = new WeakMap<object, (headers: Record<string, string>) => void>();
const HEADER_MIDDLEWARE_NAME = 'agentguardSpendUsageHeaders';

/**
 * A deserialize-step middleware (public middleware-stack API) that hands the HTTP
 * response headers to the sink registered for the request's input object. Keyed by
 * input rather than closed over, so a client with `cacheMiddleware: true` (which reuses
 * the first command's handler) still reports each call's own headers.
 */
const headerMiddleware = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
  const result = (await next(args)) as { response?: { headers?: Record<string, string> } };
  const input = (args as { input?: unknown }).input;
  const sink = input && typeof input === 'object' ? HEADER_SINKS.get(input) : undefined;
  if (sink && result?.response?.headers) {
    try {
      sink(result.response.headers);
    } catch {
      // Observing must never break the call.
    }
  }
  return result;
};

/**
 * A new command of the caller's class with `input`, carrying a copy of the caller's
 * command-level middleware stack and our header middleware. The caller's object is
 * never touched.
 */
function cloneCommand(command: CommandLike, input: Record<string, unknown>, onHeaders: (h: Record<string, string>) => void): unknown {
  const Ctor = command.constructor as new (input: unknown) => CommandLike;
  const next = new Ctor(input);
  try {
    const stack = command.middlewareStack?.clone?.();
    if (stack) (next as { middlewareStack: unknown }).middlewareStack = stack;
    next.middlewareStack?.add?.(headerMiddleware, { step: 'deserialize', name: HEADER_MIDDLEWARE_NAME, override: true });
    HEADER_SINKS.set(input, onHeaders);
  } catch {
    // An SDK without the middleware-stack API: usage then comes from the body only.
  }
  return next;
}

/**
 * `send(command, options?, cb?)` for a client, guarded. `original` is the SDK's own
 * `send`; `binding` is resolved per call (the instrumentation's config can change).
 * The callback form keeps working: the callback gets `(null, output)` or `(error)`.
 */
export function guardedSend(
  resolveBinding: () => GuardBinding,
  client: unknown,
  original: SendFn,
  command: unknown,
  optionsOrCb?: unknown,
  cb?: unknown,
): unknown {
  if (once.alreadyDecided()) return once.passThrough(() => original.call(client, command, optionsOrCb, cb));
  const name = guardedCommandName(command);
  if (!name) return original.call(client, command, optionsOrCb, cb);
  const callback = typeof optionsOrCb === 'function' ? (optionsOrCb as (err: unknown, out?: unknown) => void) : typeof cb === 'function' ? (cb as (err: unknown, out?: unknown) => void) : undefined;
  const options = typeof optionsOrCb === 'function' ? undefined : (optionsOrCb as BedrockSendOptions | undefined);
  const promise = runGuarded(resolveBinding, client, original, name, command as CommandLike, options);
  if (callback) {
    promise.then(
      (output) => callback(null, output),
      (error) => callback(error),
    );
    return undefined;
  }
  return promise;
}

async function runGuarded(
  resolveBinding: () => GuardBinding,
  client: unknown,
  original: SendFn,
  name: GuardedCommandName,
  command: CommandLike,
  options: BedrockSendOptions | undefined,
): Promise<unknown> {
  const binding = resolveBinding();
  const input = isObject(command.input) ? command.input : {};
  let sendOptions: Record<string, unknown> | undefined = options;
  let overrides: SpendCallOverrides = {};
  if (options && typeof options === 'object' && 'agentguard' in options) {
    const { agentguard, ...rest } = options;
    overrides = mergeOverrides({}, agentguard ?? {});
    sendOptions = Object.keys(rest).length ? rest : undefined;
  }
  const described = describeCommand(name, input);
  const call = await openGuardedCall(binding, { ...described.call, overrides });

  const headers: Record<string, string> = {};
  let output: unknown;
  try {
    const sentInput = clampedInput(name, input, described, call.clampedMaxOutputTokens);
    sentInput.modelId = call.model;
    const sent = cloneCommand(command, sentInput, (h) => Object.assign(headers, h));
    const ctx = once.markDecided(call.context);
    output = await context.with(ctx, () => original.call(client, sent, sendOptions));
  } catch (error) {
    await call.fail(error);
    throw error;
  }
  if (!isObject(output)) {
    await call.releaseUnreported(undefined, NO_USAGE);
    return output;
  }
  switch (name) {
    case 'ConverseCommand':
      await finishWith(call, rawFromConverseUsage(output.usage), call.model);
      return output;
    case 'InvokeModelCommand': {
      const family: RawUsage = {};
      const metering = rawFromHeaders(headers);
      const body = parseJsonBytes(output.body);
      accumulateModelJson(body, family, metering);
      const model = isObject(body) && typeof body.model === 'string' ? body.model : call.model;
      await finishWith(call, chooseUsage(family, metering) ?? { ...metering, ...family }, model);
      return output;
    }
    case 'ConverseStreamCommand':
      return wrapStreamProperty(output, 'stream', call, (event, family, _metering, streamed) => {
        if (!isObject(event)) return false;
        let final = false;
        if (isObject(event.metadata)) {
          const u = rawFromConverseUsage(event.metadata.usage);
          if (u) Object.assign(family, u);
          final = !!u;
        }
        const delta = isObject(event.contentBlockDelta) && isObject(event.contentBlockDelta.delta) ? event.contentBlockDelta.delta : undefined;
        if (delta) {
          streamed.add(delta.text);
          if (isObject(delta.toolUse)) streamed.add(delta.toolUse.input);
          if (isObject(delta.reasoningContent)) streamed.add(delta.reasoningContent.text);
        }
        return final;
      });
    case 'InvokeModelWithResponseStreamCommand':
      return wrapStreamProperty(output, 'body', call, (event, family, metering, streamed) => {
        if (!isObject(event) || !isObject(event.chunk)) return false;
        const json = parseJsonBytes(event.chunk.bytes);
        accumulateModelJson(json, family, metering);
        addStreamedText(json, streamed);
        return isFinalUsageChunk(json, metering);
      });
  }
}

/**
 * The input to send: a shallow copy of the caller's, with the output bound a
 * `clampMaxTokens` decision lowered written where the command reads it:
 * Converse `inferenceConfig.maxTokens`, InvokeModel the body field of the
 * model's family (see {@link withInvokeMaxTokens}), the body re-encoded as the
 * caller gave it (string or bytes). Throws {@link ClampNotAppliedError} when the
 * body cannot carry it (not JSON, a stream or Blob, an unknown dialect).
 */
export function clampedInput(name: GuardedCommandName, input: Record<string, unknown>, described: DescribedCommand, maxTokens: number | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...input };
  if (maxTokens === undefined) return out;
  if (name === 'ConverseCommand' || name === 'ConverseStreamCommand') {
    out.inferenceConfig = { ...(isObject(input.inferenceConfig) ? input.inferenceConfig : {}), maxTokens };
    return out;
  }
  const body = readInvokeBody(input.body);
  if (!body.json) throw new ClampNotAppliedError(maxTokens, 'the InvokeModel body is not readable JSON (a stream, a Blob or not JSON), so its output bound cannot be rewritten');
  const clamped = withInvokeMaxTokens(described.family ?? 'unknown', body.json, maxTokens);
  if (!clamped) throw new ClampNotAppliedError(maxTokens, `the InvokeModel body of ${String(input.modelId)} sets no output bound this adapter knows for an unknown model family`);
  const text = JSON.stringify(clamped);
  out.body = typeof input.body === 'string' ? text : new TextEncoder().encode(text);
  return out;
}

const NO_USAGE = 'Bedrock reported no token usage for the call';

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
 * Settles with the reported usage; a response without complete usage is released by
 * the one rule (`../common/unreported-usage.ts`): the projection for the parts not
 * reported, reason `UsageNotReported`.
 */
async function finishWith(call: GuardedCall, raw: RawUsage | undefined, responseModel: string): Promise<void> {
  if (isComplete(raw)) await call.settle(toUsageTokens(raw), responseModel);
  else await call.releaseUnreported(partialUsage(raw), NO_USAGE);
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

/**
 * Replaces `output[key]` (an async iterable of events) by a proxy of it whose iterator
 * observes every event as the caller pulls it and settles once at the end, on error,
 * or when the caller stops early. Until iteration starts nothing is read. How a stream
 * without final usage is charged is the one rule of `../common/unreported-usage.ts`.
 */
function wrapStreamProperty(
  output: Record<string, unknown>,
  key: 'stream' | 'body',
  call: GuardedCall,
  /** Observes one event; returns true when it carried the call's final usage. */
  onEvent: (event: unknown, family: RawUsage, metering: RawUsage, streamed: StreamedOutput) => boolean,
): Record<string, unknown> {
  const source = output[key];
  if (!source || typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') {
    void call.releaseUnreported(undefined, NO_USAGE);
    return output;
  }
  const family: RawUsage = {};
  const metering: RawUsage = {};
  const streamed = new StreamedOutput();
  let finalSeen = false;
  const finish = async (outcome: { error?: unknown; abandoned?: boolean }) => {
    // Counts read before the final usage (a `message_start`, Titan/Meta running counts) are
    // not final: a stream cut short before it is charged by the rule for cut-short streams.
    const ended = outcome.error === undefined && !outcome.abandoned;
    const usage = ended || finalSeen ? chooseUsage(family, metering) : undefined;
    await call.finishStream(outcome, { final: usage ? toUsageTokens(usage) : undefined, reported: partialUsage({ ...metering, ...family }), model: call.model }, streamed);
  };
  const iterable = source as AsyncIterable<unknown> & object;
  const observed = new Proxy(iterable, {
    get(target, prop) {
      if (prop === Symbol.asyncIterator) {
        return () =>
          observeAsyncIterator(
            target[Symbol.asyncIterator](),
            (event) => {
              if (onEvent(event, family, metering, streamed)) finalSeen = true;
            },
            finish,
          );
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  output[key] = observed;
  return output;
}
