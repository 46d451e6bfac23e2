import { diag } from '@opentelemetry/api';
import { findCoexistingWrapper, installCoexistingWrapper, uninstallCoexistingWrapper } from '../common/coexisting-wrap.js';
import type { GuardBinding } from '../common/guarded-call.js';
import { guardEmbedMethod, type EmbedMethod } from './embedding.js';
import { aiSdkOnce, runGuardedModelCall, type ModelMethod } from './guarded-model-call.js';
import type { LanguageModelCallOptions, LanguageModelLike } from './model-call.js';

/**
 * The AI SDK provider packages whose language-model classes are patched at
 * load, with the versions tested (see test/instrumentations/ai-sdk/matrix.json):
 * the providers of `ai` 6 (LanguageModelV3) and `ai` 7 (LanguageModelV4).
 */
export const AI_SDK_SUPPORTED_VERSIONS = {
  '@ai-sdk/openai': '>=3.0.0 <5',
  '@ai-sdk/anthropic': '>=3.0.0 <5',
  '@ai-sdk/amazon-bedrock': '>=4.0.0 <6',
} as const;
/** The AI SDK provider packages whose language-model classes are patched at load. */
export const AI_SDK_PROVIDER_MODULES = Object.keys(AI_SDK_SUPPORTED_VERSIONS) as (keyof typeof AI_SDK_SUPPORTED_VERSIONS)[];

/** Where the patched methods find the engine: read at every call, so a re-patch switches it. */
export interface AiSdkPatchTarget {
  getBinding(): GuardBinding;
}

/** Marks our `doGenerate`/`doStream` wrappers (see `../common/coexisting-wrap.ts`). */
const WRAPPER_STATE = Symbol.for('agentguard-spend.ai-sdk.model-wrapper');
const METHODS = ['doGenerate', 'doStream'] as const;
/** Factories of the providers' default instances that return a language model. */
const MODEL_FACTORIES = ['languageModel', 'chat', 'responses', 'completion', 'messages'] as const;
/** Factories of the providers' default instances that return an embedding model. */
const EMBEDDING_FACTORIES = ['embedding', 'embeddingModel', 'textEmbedding', 'textEmbeddingModel'] as const;
const PROBE_MODEL_ID = 'agentguard-probe';

/**
 * The language-model classes (their prototypes) of one loaded copy of a
 * provider package, reached from its main export: the bundles do not export
 * the classes, so each default provider instance (`openai`, `anthropic`,
 * `bedrock`...) is asked for a model by each of its factories and the
 * prototypes of what it returns are collected. Making a model sends nothing
 * and reads no credentials (the providers read them when a call is made).
 */
export function languageModelPrototypes(moduleExports: unknown): object[] {
  return modelPrototypes(moduleExports, MODEL_FACTORIES, METHODS, true);
}

/** The embedding-model classes (their prototypes) of one loaded copy of a provider package, found the same way. */
export function embeddingModelPrototypes(moduleExports: unknown): object[] {
  return modelPrototypes(moduleExports, EMBEDDING_FACTORIES, ['doEmbed'], false);
}

function modelPrototypes(moduleExports: unknown, factories: readonly string[], methods: readonly string[], callProvider: boolean): object[] {
  const ns = moduleExports as Record<string, unknown> | undefined;
  if (!ns || (typeof ns !== 'object' && typeof ns !== 'function')) return [];
  const protos = new Set<object>();
  const providers = new Set<unknown>();
  for (const key of Object.keys(ns)) {
    const value = safeGet(ns, key);
    if (typeof value === 'function' && !/^[A-Z]/.test(key) && !key.startsWith('create') && typeof (value as { languageModel?: unknown }).languageModel === 'function') providers.add(value);
  }
  for (const provider of providers) {
    const p = provider as Record<string, unknown> & ((id: string) => unknown);
    const made: unknown[] = [];
    for (const name of factories) {
      const factory = safeGet(p, name);
      if (typeof factory !== 'function') continue;
      try {
        made.push((factory as (id: string) => unknown).call(p, PROBE_MODEL_ID));
      } catch {
        // A factory that needs settings we do not give: its class is reached through another one, or not at all.
      }
    }
    if (callProvider) {
      try {
        made.push(p(PROBE_MODEL_ID));
      } catch {
        // Not callable without settings.
      }
    }
    for (const model of made) {
      const proto = model && typeof model === 'object' ? Object.getPrototypeOf(model) : null;
      if (proto && proto !== Object.prototype && methods.every((m) => typeof (proto as Record<string, unknown>)[m] === 'function')) protos.add(proto as object);
    }
  }
  return [...protos];
}

/**
 * Patches `doGenerate` and `doStream` of every language-model class (and
 * `doEmbed` of every embedding-model class) reached
 * from `moduleExports` (one loaded copy of `@ai-sdk/openai`,
 * `@ai-sdk/anthropic` or `@ai-sdk/amazon-bedrock`), so every call made on any
 * of their models — by `generateText`, `streamText`, `generateObject`,
 * `streamObject`, tool loops, agents, Mastra, or a direct `doGenerate` — is
 * decided once, sent with the decision's model and output bound, and settled.
 * Patching again (another target, after an unpatch) re-activates the same
 * wrappers. Returns how many classes were patched (0: nothing found, logged).
 */
export function patchAiSdkProvider(moduleExports: unknown, target: AiSdkPatchTarget): number {
  const protos = languageModelPrototypes(moduleExports);
  if (protos.length === 0) {
    diag.error('agentguard-spend: an AI SDK provider package was loaded, but no language model class was found on its exports; its calls are NOT guarded by the AI SDK integration');
    return 0;
  }
  for (const proto of protos) {
    for (const method of METHODS) {
      installCoexistingWrapper(proto, method, WRAPPER_STATE, target, (original, state) => guardModelMethod(original as ModelMethod, method === 'doStream', () => state.instrumentation.getBinding()));
    }
  }
  // `embed`/`embedMany`: priced by input tokens.
  for (const proto of embeddingModelPrototypes(moduleExports)) {
    installCoexistingWrapper(proto, 'doEmbed', WRAPPER_STATE, target, (original, state) => guardEmbedMethod(original as EmbedMethod, () => state.instrumentation.getBinding()));
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
export function guardModelMethod(original: ModelMethod, stream: boolean, getBinding: () => GuardBinding): ModelMethod {
  return function agentguardModelCall(this: LanguageModelLike, options: LanguageModelCallOptions): Promise<unknown> {
    if (aiSdkOnce.alreadyDecided()) return aiSdkOnce.passThrough(() => Promise.resolve(original.call(this, options)));
    return runGuardedModelCall(getBinding(), { model: this, options: options ?? {}, stream }, original);
  };
}

function safeGet(o: object, key: string): unknown {
  try {
    return (o as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}
