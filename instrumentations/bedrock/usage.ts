/**
 * Bedrock usage → the engine's {@link UsageTokens}.
 *
 * Semantics. The engine's `inputTokens` INCLUDES cache-read and cache-write tokens.
 * Bedrock reports them apart:
 * - Converse / ConverseStream `usage` (`TokenUsage`): `inputTokens` counts only the
 *   uncached input; `cacheReadInputTokens` and `cacheWriteInputTokens` are separate
 *   (AWS prompt-caching guide: `totalTokens = inputTokens + outputTokens +
 *   cacheReadInputTokens + cacheWriteInputTokens`). So inputTokens = inputTokens +
 *   cacheReadInputTokens + cacheWriteInputTokens.
 * - InvokeModel Anthropic bodies (`usage`, stream `message_start`/`message_delta`):
 *   `input_tokens` excludes `cache_read_input_tokens` and `cache_creation_input_tokens`,
 *   as in Anthropic's own API; same normalization.
 * - Nova bodies (`usage` / stream `metadata.usage`): `inputTokens` excludes
 *   `cacheReadInputTokenCount` / `cacheWriteInputTokenCount`.
 * - OpenAI-compatible bodies (gpt-oss, Jamba): `prompt_tokens` INCLUDES
 *   `prompt_tokens_details.cached_tokens`.
 * - Titan `inputTextTokenCount` + `results[].tokenCount` (stream
 *   `totalOutputTextTokenCount`); Meta `prompt_token_count` + `generation_token_count`;
 *   Cohere `meta.billed_units`: no caching.
 * - Bedrock's own metering, for every model: response headers
 *   `x-amzn-bedrock-input-token-count` / `-output-token-count` (InvokeModel) and the
 *   `amazon-bedrock-invocationMetrics` object on the last stream chunk
 *   (InvokeModelWithResponseStream), `inputTokenCount` / `outputTokenCount`, with
 *   cache counts (`x-amzn-bedrock-cache-read-input-token-count`,
 *   `cacheReadInputTokenCount`, …) reported apart like CloudWatch's metrics.
 *
 * Precedence: the model family's own usage when it carries both an input and an output
 * count (it is the only source with the cache breakdown for Anthropic); Bedrock's
 * metering otherwise (Mistral, Cohere Command R and others put no usage in the body).
 */
import type { UsageTokens } from '../../src/engine/pricing.js';
import { isObject } from './models.js';

/** Usage as reported, before normalization: `input` is the UNCACHED input. */
export interface RawUsage {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
}

function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined;
}

/** Sets the fields `from` has (later reports of cumulative counts win). */
function merge(into: RawUsage, from: RawUsage): void {
  for (const k of ['input', 'output', 'cacheRead', 'cacheWrite'] as const) if (from[k] !== undefined) into[k] = from[k];
}

/** Whether both an input and an output count are known. */
export function isComplete(raw: RawUsage | undefined): raw is RawUsage & { input: number; output: number } {
  return !!raw && raw.input !== undefined && raw.output !== undefined;
}

/** The engine's usage (inputTokens includes cache reads and writes). */
export function toUsageTokens(raw: RawUsage): UsageTokens {
  const cacheRead = raw.cacheRead ?? 0;
  const cacheWrite = raw.cacheWrite ?? 0;
  return {
    inputTokens: (raw.input ?? 0) + cacheRead + cacheWrite,
    outputTokens: raw.output ?? 0,
    ...(raw.cacheRead !== undefined ? { cachedInputTokens: raw.cacheRead } : {}),
    ...(raw.cacheWrite !== undefined ? { cacheWriteTokens: raw.cacheWrite } : {}),
  };
}

/** Converse `usage` / ConverseStream `metadata.usage` (`TokenUsage`). */
export function rawFromConverseUsage(u: unknown): RawUsage | undefined {
  if (!isObject(u)) return undefined;
  const raw: RawUsage = {};
  merge(raw, {
    input: count(u.inputTokens),
    output: count(u.outputTokens),
    cacheRead: count(u.cacheReadInputTokens),
    cacheWrite: count(u.cacheWriteInputTokens),
  });
  return raw;
}

function anthropicUsage(u: Record<string, unknown>): RawUsage {
  return {
    input: count(u.input_tokens),
    output: count(u.output_tokens),
    cacheRead: count(u.cache_read_input_tokens),
    cacheWrite: count(u.cache_creation_input_tokens),
  };
}

/**
 * Accumulates the usage a model-family JSON object (an InvokeModel body, or one
 * decoded stream chunk) reports into `family`, and Bedrock's invocation metrics into
 * `metering`. Unknown shapes are ignored.
 */
export function accumulateModelJson(obj: unknown, family: RawUsage, metering: RawUsage): void {
  if (!isObject(obj)) return;
  const metrics = obj['amazon-bedrock-invocationMetrics'];
  if (isObject(metrics)) {
    merge(metering, {
      input: count(metrics.inputTokenCount),
      output: count(metrics.outputTokenCount),
      cacheRead: count(metrics.cacheReadInputTokenCount),
      cacheWrite: count(metrics.cacheWriteInputTokenCount),
    });
  }
  // Anthropic stream: message_start carries message.usage, message_delta carries usage.
  if (obj.type === 'message_start' && isObject(obj.message) && isObject(obj.message.usage)) {
    merge(family, anthropicUsage(obj.message.usage));
    return;
  }
  const usage = isObject(obj.usage) ? obj.usage : isObject(obj.metadata) && isObject(obj.metadata.usage) ? obj.metadata.usage : undefined;
  if (usage) {
    if ('input_tokens' in usage || 'output_tokens' in usage) {
      merge(family, anthropicUsage(usage)); // Anthropic (body, message_delta)
    } else if ('inputTokens' in usage || 'outputTokens' in usage) {
      merge(family, {
        // Nova: InvokeModel body `usage`, stream `metadata.usage`.
        input: count(usage.inputTokens),
        output: count(usage.outputTokens),
        cacheRead: count(usage.cacheReadInputTokenCount ?? usage.cacheReadInputTokens),
        cacheWrite: count(usage.cacheWriteInputTokenCount ?? usage.cacheWriteInputTokens),
      });
    } else if ('prompt_tokens' in usage || 'completion_tokens' in usage) {
      // OpenAI-compatible: prompt_tokens includes cached tokens.
      const prompt = count(usage.prompt_tokens);
      const details = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : undefined;
      const cached = count(details?.cached_tokens);
      merge(family, {
        input: prompt === undefined ? undefined : Math.max(0, prompt - (cached ?? 0)),
        output: count(usage.completion_tokens),
        cacheRead: cached,
      });
    }
    return;
  }
  // Titan.
  if ('inputTextTokenCount' in obj || 'totalOutputTextTokenCount' in obj || Array.isArray(obj.results)) {
    let output = count(obj.totalOutputTextTokenCount);
    if (output === undefined && Array.isArray(obj.results)) {
      const counts = obj.results.map((r) => (isObject(r) ? count(r.tokenCount) : undefined));
      if (counts.length && counts.every((c) => c !== undefined)) output = counts.reduce<number>((a, b) => a + (b ?? 0), 0);
    }
    merge(family, { input: count(obj.inputTextTokenCount), output });
    return;
  }
  // Meta Llama.
  if ('prompt_token_count' in obj || 'generation_token_count' in obj) {
    merge(family, { input: count(obj.prompt_token_count), output: count(obj.generation_token_count) });
    return;
  }
  // Cohere.
  if (isObject(obj.meta) && isObject(obj.meta.billed_units)) {
    merge(family, { input: count(obj.meta.billed_units.input_tokens), output: count(obj.meta.billed_units.output_tokens) });
  }
}

/** Bedrock's metering headers of an InvokeModel response. */
export function rawFromHeaders(headers: Record<string, string | string[] | undefined> | undefined): RawUsage {
  const raw: RawUsage = {};
  if (!headers) return raw;
  const get = (name: string): number | undefined => {
    for (const [k, v] of Object.entries(headers)) {
      if (k.toLowerCase() !== name) continue;
      const text = Array.isArray(v) ? v[0] : v;
      if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
      return count(Number(text));
    }
    return undefined;
  };
  merge(raw, {
    input: get('x-amzn-bedrock-input-token-count'),
    output: get('x-amzn-bedrock-output-token-count'),
    cacheRead: get('x-amzn-bedrock-cache-read-input-token-count'),
    cacheWrite: get('x-amzn-bedrock-cache-write-input-token-count'),
  });
  return raw;
}

/** The family's usage if complete, else Bedrock's metering if complete, else undefined. */
export function chooseUsage(family: RawUsage, metering: RawUsage): RawUsage | undefined {
  if (isComplete(family)) return family;
  if (isComplete(metering)) return metering;
  return undefined;
}

/** Parses JSON from bytes or text without throwing. */
export function parseJsonBytes(data: unknown): unknown {
  let text: string | undefined;
  if (typeof data === 'string') text = data;
  else if (data instanceof Uint8Array) text = new TextDecoder().decode(data);
  else if (data instanceof ArrayBuffer) text = new TextDecoder().decode(new Uint8Array(data));
  else if (ArrayBuffer.isView(data)) text = new TextDecoder().decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
