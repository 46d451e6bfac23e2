/**
 * agentguard-spend: in-process spend caps and capability-gated model routing
 * for AI agents, with Ed25519-signed, SHA-256 hash-chained decision receipts.
 *
 * This entry point is the provider-free core. @packageDocumentation
 */
export { canonicalJson } from './audit/canonical-json.js';
export {
  chainIdOf,
  CHECKPOINT_TYPE,
  checkpointHash,
  CheckpointWriter,
  createCheckpoint,
  describeMalformedCheckpoint,
  verifyCheckpointSignature,
  type Checkpoint,
  type CheckpointBody,
  type CheckpointWriterOptions,
} from './audit/checkpoint.js';
export { compareCodePoints, entryCanonicalJson, MAX_ENTRY_DEPTH } from './audit/entry-json.js';
export { MAX_LOG_LINE_LENGTH, parseLogLine } from './audit/log-line.js';
export { rotateChainKey, type RotateChainKeyOptions } from './audit/rotate-key.js';
export { describeBadSignerChange, isSignerChange, SIGNER_CHANGE, signerChangeDecision, type SignerChangeDecision } from './audit/rotation.js';
export { CAPABILITY_TIERS, capabilitySatisfies, type CapabilityTier } from './engine/capability.js';
export { ChainWriter, computeEntryHash, GENESIS_HASH, signEntry, type ChainHead, type DecisionLogEntry, type DecisionPayload } from './audit/chain.js';
export type { EnforcementMode, SpendAction, SpendDecision, TriggeredCap } from './audit/decision.js';
export { AgentGuardError, CanonicalizationError, CheckpointError, LogLineError, type LogLineErrorCode } from './audit/errors.js';
export { AgentGuardBlockedError, PolicyValidationError, SpendStoreError } from './engine/errors.js';
export { SpendGuard, type CallRequest, type DecideResult, type PricingConfig, type SpendGuardConfig } from './engine/guard.js';
export { sha256Hex } from './audit/hash.js';
export { bytesToHex, hexToBytes } from './audit/hex.js';
export {
  generateKeypair,
  loadSigningKeysFromFile,
  publicKeyFromHex,
  publicKeyFromSeed,
  signerFingerprint,
  signingKeysFromHex,
  signingKeysToHex,
  type SigningKeys,
} from './audit/keys.js';
export { DURABILITIES, InMemoryDecisionLogStore, type DecisionLogStore, type Durability, type InMemoryDecisionLogStoreOptions } from './engine/log-store.js';
export { InMemorySpendStore } from './engine/memory-spend-store.js';
export { parsePolicies, parsePolicy, SCOPE_FIELDS, type CapAction, type ScopeField, type SpendCap, type SpendPolicy, type SpendScope } from './engine/policy.js';
export {
  GenaiPricesTable,
  nanocentsToCentsCeil,
  NANOCENTS_PER_CENT,
  OverridePriceTable,
  projectNanocents,
  ratesFromUsd,
  usageNanocents,
  type ModelPriceUsd,
  type PriceTable,
  type TokenRates,
  type UsageTokens,
} from './engine/pricing.js';
export { createSigner, verifySignature, verifySignatureAsync, type Signer, type SignerBackend } from './audit/signer.js';
export type { ReserveRequest, ReserveResult, SettleRequest, SpendStore, WindowHold } from './engine/spend-store.js';
export { spendStoreFromUrl } from './stores/from-url.js';
export { RedisSpendStore, TENANT_HASH_TAG, type RedisHashTag, type RedisScriptClient, type RedisSpendStoreOptions } from './stores/redis-spend-store.js';
export { SqliteSpendStore, type SqliteSpendStoreOptions } from './stores/sqlite-spend-store.js';
export {
  ChainVerifier,
  PipelinedChainVerifier,
  verifyChain,
  verifyEntry,
  type ChainVerification,
  type ChainVerificationFailure,
  type EntryVerification,
  type LocatedFailure,
  type VerifyFailureReason,
  type VerifyOptions,
} from './audit/verify.js';
export { windowAt, WINDOWS, type SpendWindow, type WindowInstance } from './engine/windows.js';
export { ConfigError, configFromEnv, failOpenRequested, INSTRUMENTATION_NAMES, signingKeysFromEnv, type EnvConfig, type InstrumentationName } from './register/env-config.js';
export { loadPolicyFile } from './engine/policy-file.js';
export { watchPolicyFile, type PolicyWatch, type PolicyWatchOptions } from './engine/policy-watch.js';
export { METRIC, SpendMetrics, type SpendMetricsOptions } from './engine/metrics.js';
export { emptyReplayTally, replayDecisions, type ReplayOptions, type ReplayReport, type ReplaySource, type ReplayTally } from './cli/replay/index.js';
