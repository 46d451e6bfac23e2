/**
 * `agentguard-spend/instrumentations/anthropic`: spend enforcement for
 * `@anthropic-ai/sdk` — a load-time OpenTelemetry instrumentation and an
 * explicit client wrapper, sharing one adapter. See README.md next to this file.
 */
export { AnthropicSpendGuardInstrumentation } from './instrumentation.js';
export { withAnthropicSpendGuard } from './wrapper.js';
export { withSpendScope, type SpendCallOverrides } from '../common/scope-context.js';
export type { SpendGuardInstrumentationConfig, SpendGuardWrapperOptions } from '../common/binding.js';
