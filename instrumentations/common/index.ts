export { ATTR, GEN_AI_PROVIDER } from './attributes.js';
export { bindingFromInstrumentationConfig, bindingFromWrapperOptions, type SpendGuardInstrumentationConfig, type SpendGuardWrapperOptions } from './binding.js';
export { BYTES_PER_TOKEN, estimateTokensFromBytes } from './estimate.js';
export { ClampNotAppliedError, GuardedCall, openGuardedCall, type CallDescription, type GuardBinding } from './guarded-call.js';
export { getSpendScopeOverrides, mergeOverrides, OVERRIDE_HEADERS, takeOverrideHeaders, withSpendScope, type SpendCallOverrides } from './scope-context.js';
export { observeAsyncIterator } from './stream-settlement.js';
export { errorName, StreamAbandonedError, UsageNotReportedError } from './call-errors.js';
export { decideOnce, type DecideOnce } from './decide-once.js';
export { fillUnreported, STREAM_ABANDONED, streamAbandoned, StreamedOutput, USAGE_NOT_REPORTED, usageNotReported, type PartialUsage } from './unreported-usage.js';
