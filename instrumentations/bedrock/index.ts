/**
 * Spend enforcement for `@aws-sdk/client-bedrock-runtime`: the OpenTelemetry
 * instrumentation (load-time patching) and the explicit `withBedrockSpendGuard` wrapper,
 * sharing one adapter. @packageDocumentation
 */
export { BedrockSpendGuardInstrumentation } from './instrumentation.js';
export { withBedrockSpendGuard } from './wrapper.js';
export type { BedrockSendOptions } from './adapter.js';
export { withSpendScope, type SpendCallOverrides } from '../common/scope-context.js';
export type { SpendGuardInstrumentationConfig, SpendGuardWrapperOptions } from '../common/binding.js';
