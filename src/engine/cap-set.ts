import type { EnforcementMode } from '../audit/decision.js';
import type { CallRequest } from './call-request.js';
import { modelSetKey } from './model-set.js';
import { SCOPE_FIELDS, type SpendCap, type SpendPolicy } from './policy.js';
import { scopeKey, scopeMatches } from './scope.js';
import { sharedWindowAt } from './windows.js';

/** A policy that applies to the call, and whether it enforces. */
export interface ApplicablePolicy {
  readonly policy: SpendPolicy;
  readonly enforce: boolean;
}

/** One cap of an applicable policy, keyed for this call. */
export interface CapRef {
  readonly policy: SpendPolicy;
  readonly cap: SpendCap;
  /** Position of the cap in its policy. */
  readonly index: number;
  readonly enforce: boolean;
  /** Counter key: policy, cap, scope values, model set, window instance. */
  readonly key: string;
  /** Index into {@link CapSet.slots}, or -1 for `per_call` caps (no counter). */
  readonly slot: number;
}

/** A window counter one or more caps share. */
export interface CounterSlot {
  readonly key: string;
  /** When the window instance ends. */
  readonly expiresAtMs: number;
}

/** Everything about the policies that bears on one call, before any price or counter is looked at. */
export interface CapSet {
  readonly applicable: readonly ApplicablePolicy[];
  readonly enforcementMode: EnforcementMode;
  readonly caps: readonly CapRef[];
  /** The distinct window counters of `caps`, in first-use order. */
  readonly slots: readonly CounterSlot[];
}

/**
 * `effectiveFrom` in epoch ms, parsed once per text: every call reads every
 * policy's start, and the texts are few (one per policy). Bounded like a cache.
 */
const effectiveFromCache = new Map<string, number>();
const EFFECTIVE_FROM_MAX = 1024;

function effectiveFromMs(effectiveFrom: string): number {
  let ms = effectiveFromCache.get(effectiveFrom);
  if (ms === undefined) {
    ms = Date.parse(effectiveFrom);
    if (effectiveFromCache.size >= EFFECTIVE_FROM_MAX) effectiveFromCache.clear();
    effectiveFromCache.set(effectiveFrom, ms);
  }
  return ms;
}

/**
 * The policies in effect at `nowMs` whose scope matches the call, and their
 * caps with the counter keys of this call's windows. With no policy in scope
 * the configured mode still holds: an unknown model fails closed in enforce.
 */
export function resolveCapSet(policies: readonly SpendPolicy[], request: CallRequest, nowMs: number, modeOverride: EnforcementMode | undefined): CapSet {
  const applicable: ApplicablePolicy[] = [];
  for (const policy of policies) {
    if (effectiveFromMs(policy.effectiveFrom) <= nowMs && scopeMatches(policy.scope, request)) {
      applicable.push({ policy, enforce: modeOverride !== 'shadow' && policy.mode === 'enforce' });
    }
  }
  const enforcementMode: EnforcementMode =
    modeOverride === 'shadow' ? 'shadow' : applicable.length === 0 || applicable.some((a) => a.enforce) ? 'enforce' : 'shadow';
  const caps: CapRef[] = [];
  const slots: CounterSlot[] = [];
  const slotOf = new Map<string, number>();
  for (const { policy, enforce } of applicable) {
    policy.caps.forEach((cap, index) => {
      const fields = cap.selector ?? SCOPE_FIELDS.filter((f) => policy.scope[f] !== undefined);
      const models = cap.models ? `|${modelSetKey(cap.models)}` : '';
      const capKey = `${policy.id}:${cap.id ?? index}|${scopeKey(fields, request)}${models}`;
      if (cap.window === 'per_call') {
        caps.push({ policy, cap, index, enforce, key: `${capKey}|per_call`, slot: -1 });
        return;
      }
      const w = sharedWindowAt(cap.window, nowMs);
      const key = `${capKey}|${cap.window}@${w.label}`;
      let slot = slotOf.get(key);
      if (slot === undefined) {
        slot = slots.length;
        slotOf.set(key, slot);
        slots.push({ key, expiresAtMs: w.endMs });
      }
      caps.push({ policy, cap, index, enforce, key, slot });
    });
  }
  return { applicable, enforcementMode, caps, slots };
}
