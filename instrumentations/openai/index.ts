/**
 * OpenAI enforcement: the `OpenAISpendGuardInstrumentation` (load-time
 * patching) and the explicit `withSpendGuard(client, options)` wrapper, sharing
 * one adapter. See `README.md` in this folder for coexistence with
 * `@opentelemetry/instrumentation-openai`.
 */
export { OpenAISpendGuardInstrumentation } from './instrumentation.js';
export { withSpendGuard } from './wrapper.js';
export { withSpendScope, type SpendCallOverrides } from '../common/scope-context.js';
export type { SpendGuardInstrumentationConfig, SpendGuardWrapperOptions } from '../common/binding.js';
