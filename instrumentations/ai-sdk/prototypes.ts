/**
 * Finding the AI SDK providers' model classes on a loaded package, with no
 * dependency on the engine: `register`'s start stage patches with it.
 */
/**
 * The AI SDK provider packages whose language-model classes are patched at
 * load, with the versions tested (see test/instrumentations/ai-sdk/matrix.json):
 * the providers of `ai` 6 (LanguageModelV3) and `ai` 7 (LanguageModelV4).
 * `@ai-sdk/azure` bundles its own copies of the OpenAI classes (from its own
 * `@ai-sdk/openai/internal`), so it is patched as a package of its own.
 */
export const AI_SDK_SUPPORTED_VERSIONS = {
  '@ai-sdk/openai': '>=3.0.0 <5',
  '@ai-sdk/anthropic': '>=3.0.0 <5',
  '@ai-sdk/amazon-bedrock': '>=4.0.0 <6',
  '@ai-sdk/azure': '>=3.0.0 <5',
  '@ai-sdk/openai-compatible': '>=2.0.0 <4',
} as const;
/** The AI SDK provider packages whose language-model classes are patched at load. */
export const AI_SDK_PROVIDER_MODULES = Object.keys(AI_SDK_SUPPORTED_VERSIONS) as (keyof typeof AI_SDK_SUPPORTED_VERSIONS)[];

/** Marks our `doGenerate`/`doStream` wrappers (see `../common/coexisting-wrap.ts`). */
export const AI_SDK_WRAPPER_STATE = Symbol.for('agentguard-spend.ai-sdk.model-wrapper');
export const AI_SDK_MODEL_METHODS = ['doGenerate', 'doStream'] as const;
/** Factories of the providers' default instances that return a language model. */
const MODEL_FACTORIES = ['languageModel', 'chat', 'responses', 'completion', 'messages', 'deepseek'] as const;
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
 * A package that has no default instance but exports its classes
 * (`@ai-sdk/openai-compatible`) gives them directly.
 */
export function languageModelPrototypes(moduleExports: unknown): object[] {
  return modelPrototypes(moduleExports, MODEL_FACTORIES, AI_SDK_MODEL_METHODS, true);
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
    // An exported model class (`OpenAICompatibleChatLanguageModel`...).
    if (typeof value === 'function' && /^[A-Z]/.test(key)) {
      const proto = safeGet(value, 'prototype');
      if (proto && typeof proto === 'object' && methods.every((m) => typeof (proto as Record<string, unknown>)[m] === 'function')) protos.add(proto);
      continue;
    }
    if (
      typeof value === 'function' &&
      !/^[A-Z]/.test(key) &&
      !key.startsWith('create') &&
      typeof (value as { languageModel?: unknown }).languageModel === 'function'
    )
      providers.add(value);
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

function safeGet(o: object, key: string): unknown {
  try {
    return (o as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}
