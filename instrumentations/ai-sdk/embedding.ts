import { context } from '@opentelemetry/api';
import { openGuardedCall, type CallDescription, type GuardBinding } from '../common/guarded-call.js';
import type { ProviderAdapter, ReportedUsage, StreamUsageReader } from '../common/provider-adapter.js';
import { StreamedOutput } from '../common/unreported-usage.js';
import { takeOverrideHeaders } from '../common/scope-context.js';
import type { AzureDeployments } from '../common/azure-deployments.js';
import { modelIdToCall, providerOf, requestedModel, routableModelsOf, serverOfModel, siblingModel } from './adapter.js';
import { aiSdkOnce, providerHttpOnce } from './guarded-model-call.js';

/** An embedding model as the AI SDK's providers implement it (`EmbeddingModelV2`/`V3`/`V4`). */
export interface EmbeddingModelLike {
  readonly provider: string;
  readonly modelId: string;
  doEmbed(options: EmbedOptions): PromiseLike<unknown>;
}

/** The options of `doEmbed` (what spend enforcement reads). */
export interface EmbedOptions {
  values?: unknown[];
  headers?: Record<string, string | undefined>;
  [key: string]: unknown;
}

/** One `doEmbed` call: the model it is made on and its options. */
export interface EmbedCall {
  model: EmbeddingModelLike;
  options: EmbedOptions;
  /** Azure deployment name → model, for an `@ai-sdk/azure` embedding model. */
  azureDeployments?: AzureDeployments | undefined;
}

/** `gen_ai.operation.name` of an embedding call. */
export const AI_SDK_EMBEDDINGS_OPERATION = 'embeddings';

/**
 * `embed`/`embedMany` at the embedding models' `doEmbed` as a
 * {@link ProviderAdapter}: priced by input tokens only (the output bound is
 * 0), the input estimated at one token per UTF-8 byte of the values (a bound), settled from
 * `usage.tokens`. A downgrade calls a sibling instance with the cheaper model
 * id (note that a different embedding model may return vectors of another size).
 */
export const aiSdkEmbeddingAdapter: ProviderAdapter<EmbedCall, unknown, never> = {
  describe(call): CallDescription | undefined {
    if (!call.model || typeof call.model.modelId !== 'string' || typeof call.model.provider !== 'string') return undefined;
    const values = Array.isArray(call.options.values) ? call.options.values : [];
    let bytes = 0;
    for (const v of values) bytes += Buffer.byteLength(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''), 'utf8');
    const routable = routableModelsOf(call.model, call.azureDeployments);
    return {
      provider: providerOf(call.model.provider),
      operation: AI_SDK_EMBEDDINGS_OPERATION,
      model: requestedModel(call.model, call.azureDeployments),
      ...(routable ? { routableModels: routable } : {}),
      // One token per UTF-8 byte at most: a bound on what the provider counts.
      estimatedInputTokens: bytes,
      maxOutputTokens: 0,
      // Nothing to bound: an embedding produces no output tokens.
      outputBoundSent: true,
      stream: false,
      overrides: takeOverrideHeaders(call.options.headers).overrides,
      server: serverOfModel(call.model),
    };
  },
  prepare(call, decided) {
    const options = { ...call.options };
    const { headers, overrides } = takeOverrideHeaders(call.options.headers);
    if (overrides.scope || overrides.capabilityClaim) options.headers = headers as EmbedOptions['headers'];
    const id = modelIdToCall(call.model, decided.model, call.azureDeployments);
    const model = id === call.model.modelId ? call.model : (siblingModel(call.model as never, id) as unknown as EmbeddingModelLike);
    return { model, options, azureDeployments: call.azureDeployments };
  },
  responseUsage(result): ReportedUsage {
    const tokens = (result as { usage?: { tokens?: unknown } } | undefined)?.usage?.tokens;
    if (typeof tokens !== 'number' || !Number.isSafeInteger(tokens) || tokens < 0) return {};
    return { final: { inputTokens: tokens, outputTokens: 0 }, reported: { inputTokens: tokens, outputTokens: 0 } };
  },
  streamUsage(): StreamUsageReader<never> {
    return { observe() {}, usage: {}, output: new StreamedOutput() };
  },
};

/** `doEmbed` of an embedding model instance (the unpatched method). */
export type EmbedMethod = (this: EmbeddingModelLike, options: EmbedOptions) => PromiseLike<unknown>;

/** Runs one `doEmbed` call through the spend guard (decide, block before any fetch, downgrade, settle from `usage.tokens`). */
export async function runGuardedEmbedCall(binding: GuardBinding, call: EmbedCall, send: EmbedMethod): Promise<unknown> {
  const description = aiSdkEmbeddingAdapter.describe(call);
  if (!description) return send.call(call.model, call.options);
  const guarded = await openGuardedCall(binding, description);
  let result: unknown;
  try {
    const prepared = aiSdkEmbeddingAdapter.prepare(call, { model: guarded.model, maxOutputTokens: undefined });
    result = await context.with(providerHttpOnce.markDecided(aiSdkOnce.markDecided(guarded.context)), () => send.call(prepared.model, prepared.options));
  } catch (error) {
    await guarded.fail(error);
    throw error;
  }
  const usage = aiSdkEmbeddingAdapter.responseUsage(result);
  if (usage.final) await guarded.settle(usage.final);
  else await guarded.releaseUnreported(undefined, 'the embedding result reported no usage');
  return result;
}

/** The guarded `doEmbed`: a call an outer layer already decided passes straight through. */
export function guardEmbedMethod(
  original: EmbedMethod,
  getBinding: () => GuardBinding,
  getAzureDeployments: () => AzureDeployments | undefined = () => undefined,
): EmbedMethod {
  return function agentguardEmbed(this: EmbeddingModelLike, options: EmbedOptions): Promise<unknown> {
    if (aiSdkOnce.alreadyDecided()) return aiSdkOnce.passThrough(() => Promise.resolve(original.call(this, options)));
    return runGuardedEmbedCall(getBinding(), { model: this, options: options ?? {}, azureDeployments: getAzureDeployments() }, original);
  };
}
