import type { SpendDecision, TriggeredCap } from '../audit/decision.js';
import { AgentGuardError } from '../audit/errors.js';

/**
 * LangChain.js's own mark for "do not retry this error" (`stampRetryable` in
 * `@langchain/core/errors`), a registered symbol so every copy of the library
 * reads it.
 */
const LANGCHAIN_RETRYABLE = Symbol.for('langchain.errors.retryable');

/** The response headers a block reports: a provider's "do not retry" advice, as the Stainless SDKs send it. */
const NO_RETRY_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'x-should-retry': 'false' });

/**
 * The Vercel AI SDK's mark of an `APICallError` (`APICallError.isInstance`
 * reads it, in every copy of `@ai-sdk/provider`). Mastra's model-call retry
 * (`p-retry`'s `shouldRetry`) retries every error except an `APICallError`
 * whose `isRetryable` is false.
 */
const AI_SDK_API_CALL_ERROR = Symbol.for('vercel.ai.error.AI_APICallError');

/**
 * Marks `error` as final for the frameworks' retry handlers that do not read a
 * status: LangChain's non-retryable mark, and the AI SDK's `APICallError` mark
 * with `isRetryable: false` and `statusCode: 403` (non-enumerable: they add
 * nothing to the error's JSON). For errors that asking again cannot change.
 */
export function markNotRetryable(error: Error): void {
  Object.defineProperty(error, LANGCHAIN_RETRYABLE, { value: false, configurable: true });
  Object.defineProperty(error, AI_SDK_API_CALL_ERROR, { value: true, configurable: true });
  Object.defineProperty(error, 'isRetryable', { value: false, configurable: true });
  Object.defineProperty(error, 'statusCode', { value: 403, configurable: true });
}

/**
 * Thrown by wrappers and instrumentations when a decision is `block`, before the
 * provider is contacted. Carries the signed decision, the cap that fired and why.
 *
 * A block is final: asking again gives the same answer and signs another
 * block. So the error also speaks the "not retryable" language of the
 * frameworks' default retry logic: `status` 403 (on LangChain.js's list of
 * statuses never retried; the OpenAI Agents SDK's provider advice, the Vercel
 * AI SDK and the provider SDKs retry only 408, 409, 429 and 5xx),
 * `headers['x-should-retry'] = 'false'` (the provider advice the OpenAI Agents
 * SDK's `retryPolicies.providerSuggested()` reads as a veto), LangChain's
 * own non-retryable mark, and the AI SDK's non-retryable `APICallError` mark
 * (Mastra's retry reads it). See `docs/decisions.md`.
 */
export class AgentGuardBlockedError extends AgentGuardError {
  /** The decision that blocked the call (already signed and logged). */
  readonly decision: SpendDecision;
  /** The cap that fired, or null for a capability or unknown-model block (see `reason`). */
  readonly cap: TriggeredCap | null;
  /** Human-readable reason of the blocking cap. */
  readonly reason: string;
  /** Always 403: the policy refused the call; retry handlers leave a 403 alone. */
  readonly status: 403;
  /** Always `agentguard_blocked`, a stable code to match on. */
  readonly code: 'agentguard_blocked';
  /** `{ 'x-should-retry': 'false' }`: no provider was asked, and retrying is advised against. */
  readonly headers: Readonly<Record<string, string>>;

  // Fields are assigned here, not initialised in the class body: the CommonJS build lowers
  // initialised fields into an anonymous class, whose name would then not be the class's.
  constructor(decision: SpendDecision) {
    const reason = decision.reasons[0] ?? 'blocked by policy';
    super(`agentguard: call blocked: ${reason}`);
    this.name = 'AgentGuardBlockedError';
    this.decision = decision;
    this.cap = decision.triggeredCap;
    this.reason = reason;
    this.status = 403;
    this.code = 'agentguard_blocked';
    this.headers = NO_RETRY_HEADERS;
    markNotRetryable(this);
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
