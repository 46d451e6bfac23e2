/**
 * Everything of the AI SDK integration in one place, for the repository's
 * tests and benchmarks (the package entry, `index.ts`, exports less). Spend enforcement for the
 * Vercel AI SDK (`ai` with `@ai-sdk/openai`, `@ai-sdk/anthropic`,
 * `@ai-sdk/amazon-bedrock`) and what is built on it (Mastra) — a load-time
 * patch of the providers' language-model classes (used by `register`) and a
 * `wrapLanguageModel` middleware, sharing one adapter. See README.md next to
 * this file.
 */
export { AiSdkSpendGuardInstrumentation, AI_SDK_SCOPE } from './instrumentation.js';
export { spendGuardMiddleware, AI_SDK_INSTRUMENTATION_NAME, type SpendGuardLanguageModelMiddleware } from './middleware.js';
export {
  AI_SDK_PROVIDER_MODULES,
  AI_SDK_SUPPORTED_VERSIONS,
  embeddingModelPrototypes,
  isPatchedModel,
  languageModelPrototypes,
  patchAiSdkProvider,
  unpatchAiSdkProvider,
  type AiSdkPatchTarget,
} from './patch.js';
export {
  aiSdkAdapter,
  AI_SDK_OPERATION,
  anthropicThinkingBudget,
  DEFAULT_MAX_OUTPUT_TOKENS,
  outputBoundSent,
  serverOfModel,
  DowngradeNotAppliedError,
  estimateInputTokens,
  FILE_PART_TOKENS,
  outputBound,
  providerOf,
  siblingModel,
  isAzureModel,
  requestedModel,
  modelIdToCall,
  routableModelsOf,
} from './adapter.js';
export { NoAzureDeploymentError, type AzureDeployments } from '../common/azure-deployments.js';
export { runGuardedModelCall, aiSdkOnce } from './guarded-model-call.js';
export {
  aiSdkEmbeddingAdapter,
  AI_SDK_EMBEDDINGS_OPERATION,
  runGuardedEmbedCall,
  type EmbedCall,
  type EmbeddingModelLike,
  type EmbedOptions,
} from './embedding.js';
export { AiSdkStreamReader, finalUsage, generateResultUsage, reportedUsage } from './usage.js';
export type { LanguageModelCall, LanguageModelCallOptions, LanguageModelLike } from './model-call.js';
export type { SpendGuardWrapperOptions } from '../common/binding.js';
export { withSpendScope } from '../common/scope-context.js';
export { AgentGuardBlockedError } from '../../src/engine/errors.js';
export { ClampNotAppliedError } from '../common/guarded-call.js';
