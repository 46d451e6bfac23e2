/**
 * OpenAI enforcement: the `OpenAISpendGuardInstrumentation` (load-time
 * patching) and the explicit `withSpendGuard(client, options)` wrapper, sharing
 * one adapter. See `README.md` in this folder for coexistence with
 * `@opentelemetry/instrumentation-openai`.
 */
export { OpenAISpendGuardInstrumentation, type OpenAISpendGuardInstrumentationConfig } from './instrumentation.js';
export { withOpenAISpendGuard, withSpendGuard, type OpenAISpendGuardWrapperOptions } from './wrapper.js';
export { AZURE_DEPLOYMENTS_ENV, NoAzureDeploymentError, parseAzureDeployments, type AzureDeployments } from './azure.js';
export { withSpendScope, type SpendCallOverrides } from '../common/scope-context.js';
export type { SpendGuardInstrumentationConfig, SpendGuardWrapperOptions } from '../common/binding.js';
export { AgentGuardBlockedError } from '../../src/engine/errors.js';
export { ClampNotAppliedError } from '../common/guarded-call.js';
export { agentGuardBlockOf, isAgentGuardBlock } from '../common/blocked.js';
