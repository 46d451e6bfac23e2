import { installCoexistingWrapper, type CoexistingWrapperState } from '../../instrumentations/common/coexisting-wrap.js';
import { AI_SDK_MODEL_METHODS, AI_SDK_WRAPPER_STATE, embeddingModelPrototypes, languageModelPrototypes } from '../../instrumentations/ai-sdk/prototypes.js';

/**
 * Patches a loaded copy of an AI SDK provider package (`@ai-sdk/openai`,
 * `@ai-sdk/anthropic`, `@ai-sdk/amazon-bedrock`, `@ai-sdk/azure`,
 * `@ai-sdk/openai-compatible`) for `register` without
 * loading the engine: each wrapper of `doGenerate`/`doStream`/`doEmbed` builds
 * the enforcing function from the engine bundle at its first call. Installed
 * with the marker of `patchAiSdkProvider`, so the public patch applied as
 * well re-activates these wrappers instead of stacking a second one.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (this: any, ...args: any[]) => any;

/** Where the wrappers find the engine's binding: the shape of `patchAiSdkProvider`'s target. */
export interface AiSdkTarget {
  getBinding(): import('../../instrumentations/common/guarded-call.js').GuardBinding;
  /** `AGENTGUARD_AZURE_DEPLOYMENTS` (and the policy file's map), for `@ai-sdk/azure` models. */
  azureDeployments?(): import('../../instrumentations/common/azure-deployments.js').AzureDeployments | undefined;
}

/** What the engine bundle provides to build the enforcing functions. */
export interface AiSdkFactories {
  model(original: AnyFn, stream: boolean, state: CoexistingWrapperState<AiSdkTarget>): AnyFn;
  embed(original: AnyFn, state: CoexistingWrapperState<AiSdkTarget>): AnyFn;
}

function lazy(build: () => AnyFn): AnyFn {
  let fn: AnyFn | undefined;
  return function (this: unknown, ...args: unknown[]) {
    return (fn ??= build()).apply(this, args);
  };
}

/** Patches one loaded copy; returns how many language-model classes were found (0: nothing recognised). */
export function patchAiSdkForRegister(moduleExports: unknown, target: AiSdkTarget, factories: () => AiSdkFactories): number {
  const protos = languageModelPrototypes(moduleExports);
  for (const proto of protos) {
    for (const method of AI_SDK_MODEL_METHODS) {
      installCoexistingWrapper(proto, method, AI_SDK_WRAPPER_STATE, target, (original, state) =>
        lazy(() => factories().model(original, method === 'doStream', state)),
      );
    }
  }
  for (const proto of embeddingModelPrototypes(moduleExports)) {
    installCoexistingWrapper(proto, 'doEmbed', AI_SDK_WRAPPER_STATE, target, (original, state) => lazy(() => factories().embed(original, state)));
  }
  return protos.length;
}
