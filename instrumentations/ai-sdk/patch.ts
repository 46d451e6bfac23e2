import { diag } from '@opentelemetry/api';
import type { AzureDeployments } from '../common/azure-deployments.js';
import { findCoexistingWrapper, installCoexistingWrapper, uninstallCoexistingWrapper } from '../common/coexisting-wrap.js';
import type { GuardBinding } from '../common/guarded-call.js';
import { guardEmbedMethod, type EmbedMethod } from './embedding.js';
import { aiSdkOnce, runGuardedModelCall, type ModelMethod } from './guarded-model-call.js';
import type { LanguageModelCallOptions, LanguageModelLike } from './model-call.js';
import { AI_SDK_MODEL_METHODS as METHODS, AI_SDK_WRAPPER_STATE as WRAPPER_STATE, embeddingModelPrototypes, languageModelPrototypes } from './prototypes.js';

export { AI_SDK_PROVIDER_MODULES, AI_SDK_SUPPORTED_VERSIONS, embeddingModelPrototypes, languageModelPrototypes } from './prototypes.js';

/** Where the patched methods find the engine: read at every call, so a re-patch switches it. */
export interface AiSdkPatchTarget {
  getBinding(): GuardBinding;
  /** Azure deployment name → model, for `@ai-sdk/azure` models (read at every call). */
  azureDeployments?(): AzureDeployments | undefined;
}

/**
 * Patches `doGenerate` and `doStream` of every language-model class (and
 * `doEmbed` of every embedding-model class) reached
 * from `moduleExports` (one loaded copy of `@ai-sdk/openai`,
 * `@ai-sdk/anthropic`, `@ai-sdk/amazon-bedrock`, `@ai-sdk/azure` or
 * `@ai-sdk/openai-compatible`), so every call made on any
 * of their models — by `generateText`, `streamText`, `generateObject`,
 * `streamObject`, tool loops, agents, Mastra, or a direct `doGenerate` — is
 * decided once, sent with the decision's model and output bound, and settled.
 * Patching again (another target, after an unpatch) re-activates the same
 * wrappers. Returns how many classes were patched (0: nothing found, logged).
 */
export function patchAiSdkProvider(moduleExports: unknown, target: AiSdkPatchTarget): number {
  const protos = languageModelPrototypes(moduleExports);
  if (protos.length === 0) {
    diag.error(
      'agentguard-spend: an AI SDK provider package was loaded, but no language model class was found on its exports; its calls are NOT guarded by the AI SDK integration',
    );
    return 0;
  }
  for (const proto of protos) {
    for (const method of METHODS) {
      installCoexistingWrapper(proto, method, WRAPPER_STATE, target, (original, state) =>
        guardModelMethod(
          original as ModelMethod,
          method === 'doStream',
          () => state.instrumentation.getBinding(),
          () => state.instrumentation.azureDeployments?.(),
        ),
      );
    }
  }
  // `embed`/`embedMany`: priced by input tokens.
  for (const proto of embeddingModelPrototypes(moduleExports)) {
    installCoexistingWrapper(proto, 'doEmbed', WRAPPER_STATE, target, (original, state) =>
      guardEmbedMethod(
        original as EmbedMethod,
        () => state.instrumentation.getBinding(),
        () => state.instrumentation.azureDeployments?.(),
      ),
    );
  }
  return protos.length;
}

/** Removes (or deactivates) our wrappers from the classes of one loaded copy of a provider package. */
export function unpatchAiSdkProvider(moduleExports: unknown): void {
  for (const proto of languageModelPrototypes(moduleExports)) for (const method of METHODS) uninstallCoexistingWrapper(proto, method, WRAPPER_STATE);
  for (const proto of embeddingModelPrototypes(moduleExports)) uninstallCoexistingWrapper(proto, 'doEmbed', WRAPPER_STATE);
}

/** Whether `model`'s `doGenerate` is our patched method (its class was patched at load). */
export function isPatchedModel(model: unknown): boolean {
  const fn = (model as { doGenerate?: unknown } | undefined)?.doGenerate;
  return findCoexistingWrapper(fn, WRAPPER_STATE)?.active === true;
}

/** The guarded `doGenerate`/`doStream`: a call an outer layer already decided passes straight through. */
export function guardModelMethod(
  original: ModelMethod,
  stream: boolean,
  getBinding: () => GuardBinding,
  getAzureDeployments: () => AzureDeployments | undefined = () => undefined,
): ModelMethod {
  return function agentguardModelCall(this: LanguageModelLike, options: LanguageModelCallOptions): Promise<unknown> {
    if (aiSdkOnce.alreadyDecided()) return aiSdkOnce.passThrough(() => Promise.resolve(original.call(this, options)));
    return runGuardedModelCall(getBinding(), { model: this, options: options ?? {}, stream, azureDeployments: getAzureDeployments() }, original);
  };
}
