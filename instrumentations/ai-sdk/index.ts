/**
 * `agentguard-spend/instrumentations/ai-sdk`: spend enforcement for the
 * Vercel AI SDK (`ai` with `@ai-sdk/openai`, `@ai-sdk/anthropic`,
 * `@ai-sdk/amazon-bedrock`, `@ai-sdk/azure`, `@ai-sdk/openai-compatible`) and what is built on it (Mastra): a load-time
 * instrumentation of the providers' model classes and a `wrapLanguageModel`
 * middleware, sharing one adapter. See README.md next to this file.
 */
export { AiSdkSpendGuardInstrumentation, type AiSdkInstrumentationConfig } from './instrumentation.js';
export { spendGuardMiddleware, type SpendGuardLanguageModelMiddleware, type SpendGuardMiddlewareOptions } from './middleware.js';
export { NoAzureDeploymentError, type AzureDeployments } from '../common/azure-deployments.js';
export { withSpendScope, type SpendCallOverrides } from '../common/scope-context.js';
export type { SpendGuardInstrumentationConfig, SpendGuardWrapperOptions } from '../common/binding.js';
