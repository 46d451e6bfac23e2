/** The cap behind a decision, as recorded in the log. */
export interface TriggeredCap {
  amountCents: number;
  window: string;
  action: SpendAction;
  downgradeTo?: string;
  reason?: string;
  /** The models whose spend the cap counts and limits (exact names and `*` patterns); absent: every model. */
  models?: string[];
}

/** What the guard does with a call. */
export type SpendAction = 'allow' | 'downgrade' | 'block' | 'shadow';

/** `enforce` changes calls; `shadow` only records what enforce would have done. */
export type EnforcementMode = 'enforce' | 'shadow';

/**
 * One signed receipt in the decision log. Only plain JSON values: the object is
 * canonicalized (RFC 8785) and hashed as is. Never holds prompt text, message
 * content or keys.
 *
 * A pre-call decision has `entryType: 'decision'`; the settlement of its actual
 * usage is a separate `entryType: 'outcome'` entry naming `originalDecisionId`,
 * so no signed entry is ever rewritten.
 */
export interface SpendDecision {
  entryType: 'decision' | 'outcome';
  decisionId: string;
  /** ISO 8601 UTC with milliseconds. */
  timestamp: string;
  /**
   * The action applied to the call. In shadow mode this is what enforcement
   * *would* have done; `enforcementMode: 'shadow'` says the call was not changed.
   */
  action: SpendAction;
  /** The cap that decided the action (shape shared with the Python port), or null. */
  triggeredCap: TriggeredCap | null;
  /** Counter key (policy, cap, scope and window) of the deciding cap, or null. */
  triggeredScopeKey: string | null;
  /** Worst-case cost of the call in whole cents, rounded up. */
  projectedCents: number;
  /**
   * Enforced downgrades only: the worst-case cost at the requested model
   * (`projectedCents` is at the model actually called), so the saving is
   * `projectedCentsRequested - projectedCents`.
   */
  projectedCentsRequested?: number;
  /**
   * A would-be downgrade that was not applied (shadow mode, or a shadow
   * policy's downgrade cap): the worst-case cost at the downgrade target, so
   * the saving enforcement would have made is `projectedCents - projectedCentsIfEnforced`.
   * Absent when the target has no price.
   */
  projectedCentsIfEnforced?: number;
  /** Spend in the deciding (or tightest) window before and after this decision. */
  windowSpendBefore: number;
  windowSpendAfter: number;
  provider: string;
  modelRequested: string;
  modelResolved: string;
  /** Policy that decided (or the first that applied); `none` when no policy applies. */
  policyId: string;
  policyVersion: number;
  enforcementMode: EnforcementMode;
  reasons: string[];
  /** Price table that priced this decision, so a replay prices it the same way. */
  costBasis?: string;
  estimatedInputTokens?: number;
  /** The output bound the call is sent with (after any clamp). */
  estimatedOutputTokens?: number;
  /**
   * Set when the guard lowered the output bound (a `clampMaxTokens` clamp, or
   * a default bound for a call that sent none): the bound the call was
   * described with (for a call that sent none, the model's maximum).
   */
  requestedMaxOutputTokens?: number;
  /** Set when a `clampMaxTokens` cap lowered the output bound: the bound applied. */
  clampedMaxOutputTokens?: number;
  /**
   * The call sent no output bound and the guard set one
   * (`defaultMaxOutputTokens`): `estimatedOutputTokens` is the bound written
   * into the request (in shadow mode, the bound enforcement would have written).
   */
  outputBoundSetByGuard?: boolean;
  actualInputTokens?: number;
  actualOutputTokens?: number;
  actualCachedInputTokens?: number;
  actualCacheWriteTokens?: number;
  actualReasoningTokens?: number;
  actualCents?: number;
  deltaCents?: number;
  /**
   * Outcome entries whose usage exceeded the call's bound (input: the larger of
   * the input estimate and the guard's per-call input ceiling; output: the
   * output bound the call was sent with): the input count as reported, before
   * it was capped at the bound. The reasons say so too.
   */
  reportedInputTokens?: number;
  /** Like {@link reportedInputTokens}, for the output count. */
  reportedOutputTokens?: number;
  /**
   * Outcome entries: attempts of the call (retries by the SDK after a timeout
   * or a 5xx) that may have reached the provider without reporting usage; each
   * is charged the decision's projection, included in the `actual*` counts.
   */
  unansweredAttempts?: number;
  /** Outcome entries: the decision they settle. */
  originalDecisionId?: string;
  /** Outcome entries: `settled`, or `released` when the call failed. */
  outcome?: 'settled' | 'released';
  /** The call's scope (tenant, team, user, agent, task, provider). */
  actor?: Record<string, string>;
  capabilityClaim?: string;
  traceId?: string;
  spanId?: string;
}
