import { validateAzureDeployments, type AzureDeployments } from '../common/azure-deployments.js';
import { bindingFromWrapperOptions, type SpendGuardWrapperOptions } from '../common/binding.js';
import { runGuardedModelCall, type ModelMethod } from './guarded-model-call.js';
import type { LanguageModelCallOptions, LanguageModelLike } from './model-call.js';

/** Tracer name of the AI SDK integration. */
export const AI_SDK_INSTRUMENTATION_NAME = 'agentguard-spend/instrumentation-ai-sdk';

/** What `wrapGenerate`/`wrapStream` receive from `wrapLanguageModel`. */
interface WrapArgs {
  params: LanguageModelCallOptions;
  model: LanguageModelLike;
  doGenerate: () => PromiseLike<unknown>;
  doStream: () => PromiseLike<unknown>;
}

/** Options of {@link spendGuardMiddleware}. */
export interface SpendGuardMiddlewareOptions extends SpendGuardWrapperOptions {
  /**
   * Azure deployment name → the model it serves (e.g. `{ 'prod-chat': 'gpt-4o', 'prod-mini': 'gpt-4o-mini' }`),
   * for `@ai-sdk/azure` models, whose `modelId` is a deployment: calls are priced at the deployment's
   * model, and a downgrade goes to a deployment serving the target (or fails closed with `NoAzureDeploymentError`).
   */
  azureDeployments?: AzureDeployments;
}

/** The language-model middleware `spendGuardMiddleware` returns (structurally the AI SDK's `LanguageModelMiddleware`). */
export interface SpendGuardLanguageModelMiddleware {
  wrapGenerate(args: WrapArgs): Promise<never>;
  wrapStream(args: WrapArgs): Promise<never>;
}

/**
 * Spend enforcement as AI SDK language-model middleware, for apps that do not
 * use `register`: the same adapter and lifecycle as the load-time patch.
 *
 * ```ts
 * import { wrapLanguageModel, generateText } from 'ai';
 * import { openai } from '@ai-sdk/openai';
 * const model = wrapLanguageModel({ model: openai('gpt-4o'), middleware: spendGuardMiddleware({ guard, scope: { tenantId: 'acme' } }) });
 * await generateText({ model, prompt, maxOutputTokens: 512 });
 * ```
 *
 * A downgrade calls the provider's model instance with the cheaper model id,
 * so put this middleware innermost (last in a `middleware` array, directly
 * around the provider's model): over another wrapper a downgrade cannot reach
 * the provider and fails closed (`DowngradeNotAppliedError`). For
 * `@ai-sdk/azure` models give `azureDeployments`. Under
 * `register` as well, each call is still decided once.
 */
export function spendGuardMiddleware(options: SpendGuardMiddlewareOptions): SpendGuardLanguageModelMiddleware {
  const azureDeployments = options?.azureDeployments === undefined ? undefined : validateAzureDeployments(options.azureDeployments);
  const binding = bindingFromWrapperOptions(options, AI_SDK_INSTRUMENTATION_NAME);
  const method = (model: LanguageModelLike, name: 'doGenerate' | 'doStream'): ModelMethod => {
    const fn = model[name] as unknown as ModelMethod;
    return function (this: LanguageModelLike, callOptions: LanguageModelCallOptions) {
      return fn.call(this, callOptions);
    };
  };
  return {
    wrapGenerate: ({ params, model }) =>
      runGuardedModelCall(binding, { model, options: params, stream: false, azureDeployments }, method(model, 'doGenerate')) as Promise<never>,
    wrapStream: ({ params, model }) =>
      runGuardedModelCall(binding, { model, options: params, stream: true, azureDeployments }, method(model, 'doStream')) as Promise<never>,
  };
}
