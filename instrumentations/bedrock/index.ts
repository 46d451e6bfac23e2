/**
 * Spend enforcement for `@aws-sdk/client-bedrock-runtime`: the OpenTelemetry
 * instrumentation (load-time patching) and the explicit `withBedrockSpendGuard` wrapper,
 * sharing one adapter. @packageDocumentation
 */
export { BedrockSpendGuardInstrumentation, BEDROCK_MODULE, BEDROCK_SUPPORTED_VERSIONS } from './instrumentation.js';
export { withBedrockSpendGuard } from './wrapper.js';
export { describeCommand, guardedCommandName, type BedrockSendOptions, type GuardedCommandName } from './adapter.js';
export { StreamAbandonedError, UsageNotReportedError } from '../common/call-errors.js';
export {
  BINARY_BLOCK_TOKENS,
  DEFAULT_MAX_OUTPUT_TOKENS,
  defaultMaxOutputTokens,
  FALLBACK_MAX_OUTPUT_TOKENS,
  familyOfModel,
  foundationModelOf,
  type BedrockFamily,
} from './models.js';
export { withSpendScope, type SpendCallOverrides } from '../common/scope-context.js';
export type { SpendGuardInstrumentationConfig, SpendGuardWrapperOptions } from '../common/binding.js';
export { AgentGuardBlockedError } from '../../src/engine/errors.js';
export { ClampNotAppliedError } from '../common/guarded-call.js';
