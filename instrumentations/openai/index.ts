/**
 * OpenAI enforcement: the `OpenAISpendGuardInstrumentation` (load-time
 * patching) and the explicit `withSpendGuard(client, options)` wrapper, sharing
 * one adapter. See `README.md` in this folder for coexistence with
 * `@opentelemetry/instrumentation-openai`.
 */
export { chatUsage, describeRequest, maxOutputTokens, prepareBody, responsesUsage } from './adapter.js';
export { DEFAULT_MAX_OUTPUT_TOKENS, defaultMaxOutputTokens, IMAGE_TOKEN_ALLOWANCE, PER_MESSAGE_OVERHEAD, REPLY_PRIMING, SAMPLE_CHARS, TOKENIZE_FULL_LIMIT } from './estimate.js';
export { isInsideGuardedCall } from './guarded-create.js';
export { INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION, isEnforcing, OpenAISpendGuardInstrumentation, SUPPORTED_OPENAI_VERSIONS } from './instrumentation.js';
export { isSpendGuarded, withOpenAISpendGuard, withSpendGuard } from './wrapper.js';
export { withSpendScope, type SpendCallOverrides } from '../common/scope-context.js';
export { ClampNotAppliedError } from '../common/guarded-call.js';
export type { SpendGuardInstrumentationConfig, SpendGuardWrapperOptions } from '../common/binding.js';
