/**
 * `agentguard-spend/instrumentations/anthropic`: spend enforcement for
 * `@anthropic-ai/sdk` — a load-time OpenTelemetry instrumentation and an
 * explicit client wrapper, sharing one adapter. See README.md next to this file.
 */
export {
  AnthropicSpendGuardInstrumentation,
  ANTHROPIC_INSTRUMENTATION_NAME,
  ANTHROPIC_INSTRUMENTATION_VERSION,
  ANTHROPIC_SUPPORTED_VERSIONS,
  anthropicMessagesClasses,
} from './instrumentation.js';
export { withAnthropicSpendGuard } from './wrapper.js';
export {
  ANTHROPIC_OPERATION,
  ANTHROPIC_PROVIDER,
  anthropicProviderOf,
  DEFAULT_MAX_TOKENS_CEILING,
  describeMessagesCall,
  guardMessagesCreate,
  observeStreamInPlace,
  paramsToSend,
  takeHeadersFromOptions,
  type MessagesCreate,
  type PreparedMessagesCall,
} from './adapter.js';
export { AnthropicUsageAccumulator, toUsageTokens, type AnthropicWireUsage } from './usage.js';
export type { SpendGuardInstrumentationConfig, SpendGuardWrapperOptions } from '../common/binding.js';
export { withSpendScope, OVERRIDE_HEADERS, type SpendCallOverrides } from '../common/scope-context.js';
export { AgentGuardError } from '../../src/audit/errors.js';
export { AgentGuardBlockedError } from '../../src/engine/errors.js';
export { ClampNotAppliedError } from '../common/guarded-call.js';
