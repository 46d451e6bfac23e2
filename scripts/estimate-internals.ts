/**
 * The pre-call input estimates, built to dist/internal/ for `bench/estimate.mjs`
 * (not shipped, not exported by any entry point).
 */
export { countTextTokens, EXACT_COUNT_BUDGET } from '../instrumentations/openai/estimate.js';
export { inputTokenBound } from '../instrumentations/common/estimate.js';
