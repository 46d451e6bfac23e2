/**
 * OpenAI enforcement: the `OpenAISpendGuardInstrumentation` (load-time
 * patching) and the explicit `withSpendGuard(client, options)` wrapper, sharing
 * one adapter. See `README.md` in this folder for coexistence with
 * `@opentelemetry/instrumentation-openai`.
 */
export { OpenAISpendGuardInstrumentation, type OpenAISpendGuardInstrumentationConfig } from './instrumentation.js';
export { withSpendGuard, type OpenAISpendGuardWrapperOptions } from './wrapper.js';
export { NoAzureDeploymentError, parseAzureDeployments, type AzureDeployments } from './azure.js';
export { withSpendScope, type SpendCallOverrides } from '../common/scope-context.js';
export type { SpendGuardInstrumentationConfig, SpendGuardWrapperOptions } from '../common/binding.js';
