import type { SpendDecision, TriggeredCap } from '../audit/decision.js';
import { AgentGuardError } from '../audit/errors.js';

/**
 * Thrown by wrappers and instrumentations when a decision is `block`, before the
 * provider is contacted. Carries the signed decision, the cap that fired and why.
 */
export class AgentGuardBlockedError extends AgentGuardError {
  /** The decision that blocked the call (already signed and logged). */
  readonly decision: SpendDecision;
  /** The cap that fired, or null for a capability or unknown-model block (see `reason`). */
  readonly cap: TriggeredCap | null;
  /** Human-readable reason of the blocking cap. */
  readonly reason: string;

  constructor(decision: SpendDecision) {
    const reason = decision.reasons[0] ?? 'blocked by policy';
    super(`agentguard: call blocked: ${reason}`);
    this.decision = decision;
    this.cap = decision.triggeredCap;
    this.reason = reason;
  }
}

/** A policy document failed validation; the message names the field and value. */
export class PolicyValidationError extends AgentGuardError {
  /** Dotted path of the first bad field, e.g. `caps[0].window`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(`invalid policy: ${field}: ${message}`);
    this.field = field;
  }
}

/** A spend store could not do what was asked (unreachable, locked, corrupt). */
export class SpendStoreError extends AgentGuardError {}
