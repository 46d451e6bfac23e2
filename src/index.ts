/**
 * agentguard-spend: in-process spend caps and capability-gated model routing
 * for AI agents, with Ed25519-signed, SHA-256 hash-chained decision receipts.
 *
 * This entry point is the provider-free core: `SpendGuard`, its configuration
 * and decision types, errors, policy and key loading. Stores are in
 * `agentguard-spend/stores` (the in-memory ones, a guard's defaults, are here
 * too); log verification is in `agentguard-spend/audit`. @packageDocumentation
 */
export {
  SpendGuard,
  type CallRequest,
  type DecideResult,
  type OutcomeOptions,
  type PricingConfig,
  type ReleaseReason,
  type SpendGuardConfig,
} from './engine/guard.js';
export type { EnforcementMode, SpendAction, SpendDecision, TriggeredCap } from './audit/decision.js';
export type { DecisionLogEntry } from './audit/chain.js';
export type { SignerChangeDecision } from './audit/rotation.js';
export type { CapabilityTier } from './engine/capability.js';
export type { SpendWindow } from './engine/windows.js';
export type { SignerBackend } from './audit/signer.js';
export type { SpendMetricsOptions } from './engine/metrics.js';
export type { ModelPriceUsd, PriceTable, TokenRates, UsageTokens } from './engine/pricing.js';
export { AgentGuardError, CanonicalizationError } from './audit/errors.js';
export { AgentGuardBlockedError, PolicyValidationError, SpendStoreError } from './engine/errors.js';
export { ClampNotAppliedError } from '../instrumentations/common/guarded-call.js';
export { agentGuardBlockOf, isAgentGuardBlock } from '../instrumentations/common/blocked.js';
export { parsePolicies, parsePolicy, type CapAction, type ScopeField, type SpendCap, type SpendPolicy, type SpendScope } from './engine/policy.js';
export { loadPolicyDocument, loadPolicyFile, type PolicyDocument } from './engine/policy-file.js';
export { watchPolicyFile, type PolicyWatch, type PolicyWatchOptions } from './engine/policy-watch.js';
export { generateKeypair, loadSigningKeysFromFile, publicKeyFromHex, signingKeysFromHex, signingKeysToHex, type SigningKeys } from './audit/keys.js';
export { InMemoryDecisionLogStore, type InMemoryDecisionLogStoreOptions } from './engine/log-store.js';
export { InMemorySpendStore } from './engine/memory-spend-store.js';
