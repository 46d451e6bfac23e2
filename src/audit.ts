/**
 * `agentguard-spend/audit`: checking a decision log with the signer's public
 * key. `verifyChain` checks entries in memory, `ChainVerifier` streams them one
 * at a time, `verifyDecisionLog` checks a log directory (or file) written by
 * `FileDecisionLogStore`. Checkpoints reveal a cut-off tail, a rewritten
 * history and a swapped log: `checkpointSpanEvents` copies them into traces,
 * `checkpointFromAttributes` reads them back. @packageDocumentation
 */
export { chainIdOf, createCheckpoint, verifyCheckpointSignature, type Checkpoint } from './audit/checkpoint.js';
export type { DecisionLogEntry } from './audit/chain.js';
export { CheckpointError, LogLineError, type LogLineErrorCode } from './audit/errors.js';
export { parseLogLine } from './audit/log-line.js';
export {
  ChainVerifier,
  verifyChain,
  type ChainVerification,
  type ChainVerificationFailure,
  type VerifyFailureReason,
  type VerifyOptions,
} from './audit/verify.js';
export { checkpointFromAttributes, checkpointSpanEvents, type CheckpointSpanEventsOptions } from '../exporters/otel/checkpoints.js';
export {
  verifyDecisionLog,
  type ChainFileVerification,
  type LogVerification,
  type VerifyLogOptions,
  type VerifyProgress,
} from '../exporters/file/verify-log.js';
