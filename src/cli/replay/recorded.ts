import { CAPABILITY_TIERS, type CapabilityTier } from '../../engine/capability.js';
import type { SpendDecision } from '../../audit/decision.js';
import type { CallRequest, DecideResult } from '../../engine/guard.js';
import { SCOPE_FIELDS, type SpendScope } from '../../engine/policy.js';
import type { UsageTokens } from '../../engine/pricing.js';

/**
 * What a call ended up as, on either side of a replay: stopped, or sent with
 * this model and this output bound.
 */
export interface CallFate {
  blocked: boolean;
  /** The model the call was (or would be) sent with. */
  model: string;
  /** The output bound the call was (or would be) sent with. */
  maxOutputTokens: number;
  downgraded: boolean;
  clamped: boolean;
  /** Worst-case cents of what was sent (0 when blocked). */
  projectedCents: number;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The call a recorded pre-call decision describes, as the engine saw it: the
 * requested model and the caller's own output bound (`requestedMaxOutputTokens`
 * when a clamp or a guard-set default lowered it; a call that sent no bound is
 * replayed as sending none). Returns a string naming the missing field when the
 * entry cannot be replayed.
 */
export function recordedCall(d: Partial<SpendDecision>): CallRequest | string {
  if (typeof d.provider !== 'string' || !d.provider) return 'no provider';
  if (typeof d.modelRequested !== 'string' || !d.modelRequested) return 'no modelRequested';
  const actor = d.actor;
  if (!actor || typeof actor !== 'object' || typeof actor.tenantId !== 'string' || !actor.tenantId) return 'no actor.tenantId';
  if (!isCount(d.estimatedInputTokens)) return 'no estimatedInputTokens';
  const maxOutputTokens = d.requestedMaxOutputTokens ?? d.estimatedOutputTokens;
  if (!isCount(maxOutputTokens)) return 'no estimatedOutputTokens';
  // A call that sent no bound is replayed as one: the candidate sets its own default, or projects the maximum.
  const noBoundSent = d.outputBoundSetByGuard === true && d.requestedMaxOutputTokens !== undefined;
  const scope: SpendScope = { tenantId: actor.tenantId };
  for (const f of SCOPE_FIELDS) if (typeof actor[f] === 'string') scope[f] = actor[f];
  const claim = d.capabilityClaim;
  if (claim !== undefined && !(CAPABILITY_TIERS as readonly string[]).includes(claim)) return `unknown capabilityClaim ${JSON.stringify(claim)}`;
  return {
    provider: d.provider,
    model: d.modelRequested,
    scope,
    ...(claim ? { capabilityClaim: claim as CapabilityTier } : {}),
    estimatedInputTokens: d.estimatedInputTokens,
    maxOutputTokens,
    ...(noBoundSent ? { outputBoundSent: false } : {}),
  };
}

/**
 * What happened to a recorded call. Only an `enforce` decision changed a call:
 * in shadow mode `action` is what enforcement would have done, and the call was
 * sent as requested.
 */
export function recordedFate(d: SpendDecision, call: CallRequest): CallFate {
  const enforced = d.enforcementMode === 'enforce';
  const blocked = enforced && d.action === 'block';
  const model = enforced ? d.modelResolved : call.model;
  // Enforcement sent a lower bound after a clamp, or the bound it set for a call that sent none.
  const lowered = d.clampedMaxOutputTokens ?? (d.outputBoundSetByGuard ? d.estimatedOutputTokens : undefined);
  const maxOutputTokens = enforced && isCount(lowered) ? lowered : call.maxOutputTokens;
  return {
    blocked,
    model,
    maxOutputTokens,
    downgraded: !blocked && model !== call.model,
    clamped: !blocked && maxOutputTokens < call.maxOutputTokens,
    projectedCents: blocked ? 0 : d.projectedCents,
  };
}

/** What the candidate policy does to the call. */
export function replayedFate(r: DecideResult, call: CallRequest): CallFate {
  const blocked = r.action === 'block';
  return {
    blocked,
    model: r.modelResolved,
    maxOutputTokens: r.maxOutputTokens,
    downgraded: !blocked && r.modelResolved !== call.model,
    clamped: !blocked && r.maxOutputTokens < call.maxOutputTokens,
    projectedCents: blocked ? 0 : r.decision.projectedCents,
  };
}

/** Whether the two sides differ: blocked on one only, or sent with another model or output bound. */
export function fateChanged(a: CallFate, b: CallFate): boolean {
  if (a.blocked !== b.blocked) return true;
  return !a.blocked && (a.model !== b.model || a.maxOutputTokens !== b.maxOutputTokens);
}

/**
 * The usage an outcome entry reports, or undefined when it reports none (a
 * call released before any usage was known).
 */
export function recordedUsage(o: Partial<SpendDecision>): UsageTokens | undefined {
  if (!isCount(o.actualInputTokens) || !isCount(o.actualOutputTokens)) return undefined;
  return {
    inputTokens: o.actualInputTokens,
    outputTokens: o.actualOutputTokens,
    ...(isCount(o.actualCachedInputTokens) ? { cachedInputTokens: o.actualCachedInputTokens } : {}),
    ...(isCount(o.actualCacheWriteTokens) ? { cacheWriteTokens: o.actualCacheWriteTokens } : {}),
    ...(isCount(o.actualReasoningTokens) ? { reasoningTokens: o.actualReasoningTokens } : {}),
  };
}

/**
 * Recorded usage as the replayed call would have produced it: the same tokens,
 * but no more output than a (lower) replayed output bound lets through.
 */
export function usageUnder(usage: UsageTokens, maxOutputTokens: number): UsageTokens {
  if (usage.outputTokens <= maxOutputTokens) return usage;
  return {
    ...usage,
    outputTokens: maxOutputTokens,
    ...(usage.reasoningTokens !== undefined ? { reasoningTokens: Math.min(usage.reasoningTokens, maxOutputTokens) } : {}),
  };
}
