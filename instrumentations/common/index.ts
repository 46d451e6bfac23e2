export { ATTR, GEN_AI_PROVIDER } from './attributes.js';
export { bindingFromInstrumentationConfig, bindingFromWrapperOptions, type SpendGuardInstrumentationConfig, type SpendGuardWrapperOptions } from './binding.js';
export { BINARY_BLOCK_TOKENS, BYTES_PER_TOKEN, inputTokenBound, utf8Bytes } from './estimate.js';
export { ClampNotAppliedError, GuardedCall, openGuardedCall, type CallDescription, type GuardBinding } from './guarded-call.js';
export { getSpendScopeOverrides, mergeOverrides, OVERRIDE_HEADERS, takeOverrideHeaders, withSpendScope, type SpendCallOverrides } from './scope-context.js';
export { observeAsyncIterator } from './stream-settlement.js';
export { errorName, StreamAbandonedError, UsageNotReportedError } from './call-errors.js';
export { decideOnce, type DecideOnce } from './decide-once.js';
export {
  fillUnreported,
  STREAM_ABANDONED,
  streamAbandoned,
  StreamedOutput,
  USAGE_NOT_REPORTED,
  usageNotReported,
  type PartialUsage,
} from './unreported-usage.js';
export { finishResponse, finishStreamCall, observeStream, sendInCall, startGuardedCall, type StartedCall } from './guarded-runner.js';
export type { PreparedCall, ProviderAdapter, ReportedUsage, StreamUsageReader } from './provider-adapter.js';
export { instrumentationScope } from './scope-name.js';
export { PACKAGE_VERSION } from './version.js';
export { agentGuardBlockOf, isAgentGuardBlock } from './blocked.js';
