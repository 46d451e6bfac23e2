import type { CallDescription } from '../common/guarded-call.js';
import type { PreparedCall, ProviderAdapter, ReportedUsage, StreamUsageReader } from '../common/provider-adapter.js';
import { takeOverrideHeadersFromOptions, type StainlessRequest } from '../common/stainless.js';
import { StreamedOutput } from '../common/unreported-usage.js';
import { PROVIDER } from './adapter.js';
import { InputCollector } from './estimate.js';

/**
 * The adapter of `embeddings.create`: the call is priced by its input alone
 * (an embedding has no generated output, and the price table prices embedding
 * models by input), so its output bound is 0 and no bound is written into
 * the request; a downgrade rewrites `model`. Usage is `usage.prompt_tokens`
 * (the API reports no completion tokens for embeddings).
 *
 * `gen_ai.operation.name` is `embeddings`, as the GenAI semantic conventions
 * name it, so the span is `embeddings <model>`.
 */
export const EMBEDDINGS_OPERATION = 'embeddings';

type Body = Record<string, unknown>;

function bodyOf(params: unknown): Body {
  return (params && typeof params === 'object' ? params : {}) as Body;
}

/**
 * Input tokens of `input`: a string or strings are estimated as text; token
 * arrays (`number[]` or `number[][]`) are already tokens and count exactly.
 * Anything else is bounded by its size.
 */
export function estimateEmbeddingInput(model: string, input: unknown): number {
  const c = new InputCollector();
  let tokens = 0;
  const one = (item: unknown): void => {
    if (typeof item === 'string') c.text(item);
    else if (Array.isArray(item) && item.every((t) => typeof t === 'number')) tokens += item.length;
    else if (item !== undefined && item !== null) c.opaque(item);
  };
  if (Array.isArray(input) && input.length > 0 && input.every((t) => typeof t === 'number')) one(input);
  else if (Array.isArray(input)) for (const item of input) one(item);
  else one(input);
  return c.total(model) + tokens;
}

function describe(request: StainlessRequest): CallDescription {
  const b = bodyOf(request.params);
  const model = typeof b.model === 'string' && b.model ? b.model : 'unknown';
  const { overrides } = takeOverrideHeadersFromOptions(request.options);
  return {
    provider: PROVIDER,
    operation: EMBEDDINGS_OPERATION,
    model,
    estimatedInputTokens: estimateEmbeddingInput(model, b.input),
    // Nothing is generated: the bound is 0 and counts as sent, so no default bound is applied or written.
    maxOutputTokens: 0,
    outputBoundSent: true,
    stream: false,
    overrides,
  };
}

/** A copy of the request with the decided model and without the override headers (there is no output bound to write). */
function prepare(request: StainlessRequest, decided: PreparedCall): StainlessRequest {
  const b = { ...bodyOf(request.params) };
  if (b.model !== decided.model) b.model = decided.model;
  return { params: b, options: takeOverrideHeadersFromOptions(request.options).options };
}

function responseUsage(result: unknown): ReportedUsage {
  if (!result || typeof result !== 'object') return {};
  const r = result as Record<string, unknown>;
  const u = r.usage && typeof r.usage === 'object' ? (r.usage as Record<string, unknown>) : undefined;
  const input = u && typeof u.prompt_tokens === 'number' && Number.isSafeInteger(u.prompt_tokens) && u.prompt_tokens >= 0 ? u.prompt_tokens : undefined;
  return {
    ...(input !== undefined ? { final: { inputTokens: input, outputTokens: 0 } } : {}),
    ...(typeof r.model === 'string' ? { model: r.model } : {}),
  };
}

/** Embeddings are never streamed; a reader that sees nothing keeps the adapter total. */
class NoStream implements StreamUsageReader<unknown> {
  readonly output = new StreamedOutput();
  readonly usage: ReportedUsage = {};
  observe(): void {}
}

/** The adapter of the embeddings endpoint. */
export const embeddingsAdapter: ProviderAdapter<StainlessRequest> = {
  describe,
  prepare,
  responseUsage,
  streamUsage: () => new NoStream(),
};
