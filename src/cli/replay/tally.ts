import type { CallFate } from './recorded.js';

/**
 * Counts and cents for one group of replayed calls: what the log records as
 * having happened, and what the candidate policy would have done. Whole cents.
 */
export interface ReplayTally {
  /** Recorded pre-call decisions replayed. */
  calls: number;
  /** Calls whose fate differs: blocked on one side only, or another model or output bound. */
  changed: number;
  /** Recorded: calls enforcement stopped. */
  blocked: number;
  /** Recorded: calls enforcement sent to a cheaper model. */
  downgraded: number;
  /** Recorded: calls enforcement sent with a lower output bound. */
  clamped: number;
  /** Candidate: calls it would stop. */
  wouldBlock: number;
  /** Candidate: calls it would send to another model. */
  wouldDowngrade: number;
  /** Candidate: calls it would send with a lower output bound. */
  wouldClamp: number;
  /** Calls the candidate blocks that went through. */
  newlyBlocked: number;
  /** Calls that were blocked and the candidate lets through. */
  unblocked: number;
  /** Worst-case cents of the calls that were sent. */
  projectedCents: number;
  /** Worst-case cents of the calls the candidate would send. */
  wouldProjectCents: number;
  /** `projectedCents − wouldProjectCents` (negative: the candidate allows more). */
  savedProjectedCents: number;
  /** Actual cents of the calls that were sent (from outcome entries). */
  actualCents: number;
  /** Actual cents under the candidate: the same usage, priced at the model it would call. */
  wouldSpendCents: number;
  /** `actualCents − wouldSpendCents`. */
  savedActualCents: number;
  /**
   * Calls counted at their projection for want of recorded usage: calls that
   * were blocked (enforce mode) and that the candidate lets through, and calls
   * whose outcome entry is missing from the log.
   */
  projectionOnly: number;
}

/** An empty {@link ReplayTally}. */
export function emptyReplayTally(): ReplayTally {
  return {
    calls: 0,
    changed: 0,
    blocked: 0,
    downgraded: 0,
    clamped: 0,
    wouldBlock: 0,
    wouldDowngrade: 0,
    wouldClamp: 0,
    newlyBlocked: 0,
    unblocked: 0,
    projectedCents: 0,
    wouldProjectCents: 0,
    savedProjectedCents: 0,
    actualCents: 0,
    wouldSpendCents: 0,
    savedActualCents: 0,
    projectionOnly: 0,
  };
}

/** What one replayed decision adds, before its actual cents are known. */
export function decisionContribution(recorded: CallFate, replayed: CallFate, changed: boolean): ReplayTally {
  const t = emptyReplayTally();
  t.calls = 1;
  t.changed = changed ? 1 : 0;
  t.blocked = recorded.blocked ? 1 : 0;
  t.downgraded = recorded.downgraded ? 1 : 0;
  t.clamped = recorded.clamped ? 1 : 0;
  t.wouldBlock = replayed.blocked ? 1 : 0;
  t.wouldDowngrade = replayed.downgraded ? 1 : 0;
  t.wouldClamp = replayed.clamped ? 1 : 0;
  t.newlyBlocked = !recorded.blocked && replayed.blocked ? 1 : 0;
  t.unblocked = recorded.blocked && !replayed.blocked ? 1 : 0;
  t.projectedCents = recorded.projectedCents;
  t.wouldProjectCents = replayed.projectedCents;
  t.savedProjectedCents = recorded.projectedCents - replayed.projectedCents;
  return t;
}

/** What a call's settlement adds: actual cents on both sides. */
export function spendContribution(actualCents: number, wouldSpendCents: number, projectionOnly: boolean): ReplayTally {
  const t = emptyReplayTally();
  t.actualCents = actualCents;
  t.wouldSpendCents = wouldSpendCents;
  t.savedActualCents = actualCents - wouldSpendCents;
  t.projectionOnly = projectionOnly ? 1 : 0;
  return t;
}

/** Adds `c` into `into`. */
export function addTally(into: ReplayTally, c: ReplayTally): void {
  for (const k of Object.keys(c) as (keyof ReplayTally)[]) into[k] += c[k];
}

/** Adds `c` into `map[key]`, creating it. */
export function addToGroup(map: Record<string, ReplayTally>, key: string, c: ReplayTally): void {
  addTally((map[key] ??= emptyReplayTally()), c);
}

/** The map with its keys in sorted order (stable output). */
export function sortedGroups(map: Record<string, ReplayTally>): Record<string, ReplayTally> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
