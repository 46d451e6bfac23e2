/** Policy replay: what candidate policies would have done to the calls in a decision log. */
export { replayDecisions, type ReplayOptions, type ReplayReport, type ReplaySource } from './replay.js';
export { emptyReplayTally, type ReplayTally } from './tally.js';
