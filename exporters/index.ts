/**
 * Where signed decision-log entries go: an exporter interface shaped like
 * OpenTelemetry's, a batching processor, and local JSONL files (a store for
 * `SpendGuard`, rotation, resume, torn-line recovery, signed checkpoints,
 * streaming read-back and verification); the OpenTelemetry attachment of
 * checkpoints; entries as OpenTelemetry log records through the app's own
 * pipeline, and their verification from the OTLP JSON files a Collector
 * stores. @packageDocumentation
 */
export { BatchDecisionLogProcessor, type BatchProcessorOptions } from './common/batch-processor.js';
export { ExportResultCode, type DecisionLogExporter, type ExportResult } from './common/exporter.js';
export { ChainFileWriter, type ChainFileOptions } from './file/chain-file.js';
export {
  CHECKPOINT_FILE_SUFFIX,
  CheckpointPool,
  checkpointFileName,
  gatherCheckpoints,
  parseCheckpointFileName,
  readCheckpointFile,
  type ChainCheckpoints,
  type CheckpointOptions,
  type CheckpointProblem,
  type CheckpointRecord,
  type GatheredCheckpoints,
  type OrphanCheckpoints,
} from './file/checkpoints.js';
export { FileDecisionLogExporter } from './file/file-exporter.js';
export { DURABILITIES, type Durability } from '../src/engine/log-store.js';
export { FileDecisionLogStore, type FileDecisionLogStoreOptions } from './file/file-store.js';
export { readLines, type FileLine } from './file/lines.js';
export { assertChainId, chainFileName, newChainId, parseChainFileName, type ChainFileName } from './file/naming.js';
export { chainEntries, listChains, readChain, readDecisionLog, type ChainSource, type LogRecord } from './file/reader.js';
export { isIntactEntry, recoverChain, type ChainRecovery, type DecisionLogWarning } from './file/recovery.js';
export {
  verifyChainSource,
  verifyDecisionLog,
  type ChainFileVerification,
  type ChainSourceVerifyOptions,
  type LogVerification,
  type VerifyLogOptions,
  type VerifyProgress,
} from './file/verify-log.js';
export {
  CHECKPOINT_ATTR,
  CHECKPOINT_EVENT,
  checkpointAttributes,
  checkpointFromAttributes,
  checkpointSpanEvents,
  type CheckpointSpanEventsOptions,
} from './otel/checkpoints.js';
export {
  entryLine,
  LOG_EVENT,
  LOG_RECORD_ATTR,
  LOG_RECORD_SCOPE,
  OtelLogRecordStore,
  type ClosableDecisionLogStore,
  type OtelLogRecordStoreOptions,
} from './otel/log-records.js';
export { decisionRecordsOf, type OtlpDecisionRecord } from './otlp/otlp-json.js';
export { isOtlpLogPath, isOtlpLogsFile, listOtlpLogFiles, readOtlpLines, type OtlpFileLine } from './otlp/otlp-files.js';
export { otlpChainRecords, readOtlpDecisionLog, verifyOtlpLog, type OtlpChain, type OtlpDecisionLog, type VerifyOtlpOptions } from './otlp/verify-otlp.js';
