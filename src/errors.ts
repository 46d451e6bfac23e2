import type { SpendDecision, TriggeredCap } from './decision.js';

/** Base class of every error this package throws on purpose. */
export class AgentGuardError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

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

/** A value cannot be canonicalized (RFC 8785) or carried in a decision. */
export class CanonicalizationError extends AgentGuardError {}

/** A spend store could not do what was asked (unreachable, locked, corrupt). */
export class SpendStoreError extends AgentGuardError {}

/** A checkpoint could not be made (no chain id yet, signer not the chain's current key, entries out of order). */
export class CheckpointError extends AgentGuardError {}

/** What is wrong with a stored log line, as a stable code. */
export type LogLineErrorCode =
  | 'invalid_utf8'
  | 'invalid_json'
  | 'not_an_object'
  | 'missing_field'
  | 'bad_field'
  | 'unknown_field'
  | 'line_too_long';

/** A stored decision-log line is not a well-formed entry. `code` says why, `field` which field. */
export class LogLineError extends AgentGuardError {
  readonly code: LogLineErrorCode;
  readonly field: string | undefined;
  constructor(code: LogLineErrorCode, message: string, field?: string, options?: ErrorOptions) {
    super(`log line: ${message}`, options);
    this.code = code;
    this.field = field;
  }
}
