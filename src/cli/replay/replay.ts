import type { SpendDecision } from '../../audit/decision.js';
import { SpendGuard, type CallRequest, type DecideResult, type PricingConfig } from '../../engine/guard.js';
import { generateKeypair } from '../../audit/keys.js';
import type { DecisionLogStore } from '../../engine/log-store.js';
import { InMemorySpendStore } from '../../engine/memory-spend-store.js';
import { SCOPE_FIELDS, type SpendPolicy } from '../../engine/policy.js';
import type { PriceTable } from '../../engine/pricing.js';
import { capLabel } from './cap-label.js';
import { fateChanged, recordedCall, recordedFate, recordedUsage, replayedFate, usageUnder, type CallFate } from './recorded.js';
import { addTally, addToGroup, decisionContribution, emptyReplayTally, sortedGroups, spendContribution, type ReplayTally } from './tally.js';

/** Options of {@link replayDecisions}. */
export interface ReplayOptions {
  /** The candidate policies (validated, e.g. by `loadPolicyFile` or `parsePolicies`). */
  policies: SpendPolicy[];
  /** Prices for the replay (default: the bundled `@pydantic/genai-prices` table). */
  pricing?: PriceTable | PricingConfig;
  /**
   * `true` (default): evaluate every candidate policy as enforced, since a
   * shadow policy changes no call and replay asks what enforcing it would do.
   * `false`: keep each policy's own `mode`.
   */
  enforce?: boolean;
  /** As `SpendGuardConfig.onUnknownModel` (default `block`). */
  onUnknownModel?: 'block' | 'allow';
  /** As `SpendGuardConfig.reservationTtlMs`: an unsettled call's hold is given back after this long (default 15 minutes). */
  reservationTtlMs?: number;
  /** As `SpendGuardConfig.defaultMaxOutputTokens`: the bound set for recorded calls that sent none, when no candidate policy names one. */
  defaultMaxOutputTokens?: number;
}

/** What {@link replayDecisions} found. */
export interface ReplayReport {
  candidate: {
    policies: { id: string; version: number; mode: 'enforce' | 'shadow' }[];
    /** The price table the replay priced with. */
    costBasis: string;
  };
  log: {
    /** Chains read (merged in time order). */
    chains: number;
    /** Entries read. */
    entries: number;
    /** Pre-call decision entries. */
    decisions: number;
    /** Outcome (settlement) entries. */
    outcomes: number;
    /** Decisions that could not be replayed, by why (e.g. `no estimatedInputTokens`). */
    skipped: Record<string, number>;
    /** Outcome entries whose decision is not in the log (e.g. it starts mid-way). */
    orphanOutcomes: number;
    /** Decisions priced with another table than the replay's, by that table's `costBasis`. */
    otherCostBasis: Record<string, number>;
    /** Calls the candidate blocks only because the replay's price table has no price for `provider/model`. */
    unpriced: Record<string, number>;
  };
  /** Things that make the comparison less exact; printed by the CLI. */
  warnings: string[];
  total: ReplayTally;
  /** By the candidate policy that decided (`none` when no candidate policy applies). */
  byPolicy: Record<string, ReplayTally>;
  /** By the call's scope, e.g. `tenantId=acme,agentId=bot`. */
  byScope: Record<string, ReplayTally>;
  /** By the UTC day `YYYY-MM-DD` of the call. */
  byDay: Record<string, ReplayTally>;
  /** By the candidate cap that decided, with its model set (`(no cap)` when none did). */
  byCap: Record<string, ReplayTally>;
}

/** One chain's entries in order, as a log reader yields them. */
export type ReplaySource = AsyncIterable<{ decision?: unknown }> | Iterable<{ decision?: unknown }>;

/** Signed entries of the replay go nowhere: only the decisions matter. */
class DiscardLogStore implements DecisionLogStore {
  head() {
    return null;
  }
  append() {}
}

interface InFlight {
  call: CallRequest;
  recorded: CallFate;
  replayed: CallFate;
  /** The candidate's decision, to settle or release; undefined when it blocks. */
  result: DecideResult | undefined;
  groups: [policy: string, scope: string, day: string, cap: string];
}

/**
 * Policy replay: re-evaluates the calls recorded in decision logs against
 * candidate policies and reports what would change against what happened.
 *
 * Every chain's entries are merged in time order (by `timestamp`; entries of
 * one chain keep their order on ties) and fed to a fresh {@link SpendGuard}
 * with an in-memory spend store and a clock set to each entry's time. A
 * pre-call decision is re-decided from what it records (provider, requested
 * model, actor scope, capability claim, input estimate and the caller's output
 * bound); its outcome entry then settles the replayed call with the recorded
 * usage at the outcome's time, so windows fill as they really did. Under the
 * candidate the same tokens are priced at the model it would call, with output
 * cut to a lower output bound it would set.
 *
 * Calls without recorded usage are replayed with their projection only: a
 * call enforcement blocked (it never ran) that the candidate lets through is
 * charged its worst case at once; a call whose outcome is missing keeps its
 * hold until the reservation TTL, as it did live. Both count in `projectionOnly`.
 *
 * Shadow-mode and enforce-mode logs both replay: in shadow mode every call was
 * sent as requested, which is what "happened" means there.
 */
export async function replayDecisions(chains: ReplaySource[], options: ReplayOptions): Promise<ReplayReport> {
  if (!options || !Array.isArray(options.policies) || options.policies.length === 0)
    throw new TypeError('replayDecisions: options.policies must be a non-empty list of policies');
  const enforce = options.enforce ?? true;
  const policies = enforce ? options.policies.map((p) => ({ ...p, mode: 'enforce' as const })) : options.policies;
  let nowMs = 0;
  const guard = new SpendGuard({
    policies,
    spendStore: new InMemorySpendStore(),
    logStore: new DiscardLogStore(),
    signingKeys: generateKeypair(),
    clock: () => nowMs,
    metrics: false,
    ...(options.pricing ? { pricing: options.pricing } : {}),
    ...(options.onUnknownModel ? { onUnknownModel: options.onUnknownModel } : {}),
    ...(options.reservationTtlMs !== undefined ? { reservationTtlMs: options.reservationTtlMs } : {}),
    ...(options.defaultMaxOutputTokens !== undefined ? { defaultMaxOutputTokens: options.defaultMaxOutputTokens } : {}),
  });

  const report: ReplayReport = {
    candidate: { policies: policies.map((p) => ({ id: p.id, version: p.version, mode: p.mode })), costBasis: guard.costBasis },
    log: { chains: chains.length, entries: 0, decisions: 0, outcomes: 0, skipped: {}, orphanOutcomes: 0, otherCostBasis: {}, unpriced: {} },
    warnings: [],
    total: emptyReplayTally(),
    byPolicy: {},
    byScope: {},
    byDay: {},
    byCap: {},
  };
  const add = (groups: InFlight['groups'], c: ReplayTally) => {
    addTally(report.total, c);
    addToGroup(report.byPolicy, groups[0], c);
    addToGroup(report.byScope, groups[1], c);
    addToGroup(report.byDay, groups[2], c);
    addToGroup(report.byCap, groups[3], c);
  };
  const inFlight = new Map<string, InFlight>();
  /** Decisions not replayed: their outcomes are skipped with them. */
  const skippedIds = new Set<string>();
  let firstCallMs = Infinity;

  const skip = (d: Partial<SpendDecision>, why: string) => {
    report.log.skipped[why] = (report.log.skipped[why] ?? 0) + 1;
    if (typeof d.decisionId === 'string') skippedIds.add(d.decisionId);
  };

  const onDecision = async (d: SpendDecision, atMs: number) => {
    report.log.decisions++;
    const call = recordedCall(d);
    if (typeof call === 'string') {
      skip(d, call);
      return;
    }
    if (d.costBasis !== undefined && d.costBasis !== guard.costBasis)
      report.log.otherCostBasis[d.costBasis] = (report.log.otherCostBasis[d.costBasis] ?? 0) + 1;
    firstCallMs = Math.min(firstCallMs, atMs);
    nowMs = atMs;
    let result: DecideResult;
    try {
      result = await guard.decide(call);
    } catch (err) {
      skip(d, `rejected: ${(err as Error).message}`);
      return;
    }
    const recorded = recordedFate(d, call);
    const replayed = replayedFate(result, call);
    if (replayed.blocked && result.decision.reasons[0]?.startsWith('unknown model')) {
      const key = `${call.provider}/${call.model}`;
      report.log.unpriced[key] = (report.log.unpriced[key] ?? 0) + 1;
    }
    const groups: InFlight['groups'] = [
      result.decision.policyId,
      scopeKey(call),
      d.timestamp.slice(0, 10),
      capLabel(result.decision.policyId, result.decision.triggeredCap),
    ];
    add(groups, decisionContribution(recorded, replayed, fateChanged(recorded, replayed)));
    const proceeds = replayed.blocked ? undefined : result;
    if (recorded.blocked) {
      // Blocked live, so it never ran and no outcome follows: the candidate's
      // call is charged its worst case now (projection only).
      let would = 0;
      if (proceeds) {
        const outcome = await guard.settle(proceeds, { inputTokens: call.estimatedInputTokens, outputTokens: replayed.maxOutputTokens });
        would = outcome.decision.actualCents ?? 0;
      }
      add(groups, spendContribution(0, would, proceeds !== undefined));
      return;
    }
    inFlight.set(d.decisionId, { call, recorded, replayed, result: proceeds, groups });
  };

  const onOutcome = async (o: SpendDecision, atMs: number) => {
    report.log.outcomes++;
    const flight = typeof o.originalDecisionId === 'string' ? inFlight.get(o.originalDecisionId) : undefined;
    if (!flight) {
      if (!skippedIds.delete(o.originalDecisionId as string)) report.log.orphanOutcomes++;
      return;
    }
    inFlight.delete(o.originalDecisionId!);
    const actual = typeof o.actualCents === 'number' ? o.actualCents : 0;
    let would = 0;
    if (flight.result) {
      // Never before its decision (an outcome without a valid time settles at the decision's).
      const decidedMs = Date.parse(flight.result.decision.timestamp);
      nowMs = Number.isFinite(atMs) ? Math.max(atMs, decidedMs) : decidedMs;
      const usage = recordedUsage(o);
      const replayedUsage = usage && usageUnder(usage, flight.replayed.maxOutputTokens);
      try {
        const entry =
          o.outcome === 'released'
            ? await guard.release(flight.result, 'released in the log', replayedUsage)
            : replayedUsage
              ? await guard.settle(flight.result, replayedUsage)
              : await guard.release(flight.result, 'settled in the log without usage');
        would = entry.decision.actualCents ?? 0;
      } catch {
        // The replayed hold is gone (outcome long after its decision): count the projection.
        add(flight.groups, spendContribution(actual, flight.replayed.projectedCents, true));
        return;
      }
    }
    add(flight.groups, spendContribution(actual, would, false));
  };

  for await (const { entry, atMs } of mergeByTime(chains)) {
    report.log.entries++;
    const d = entry.decision as SpendDecision | undefined;
    if (!d || typeof d !== 'object') continue;
    if (d.entryType === 'outcome') await onOutcome(d, atMs);
    else if (Number.isFinite(atMs)) await onDecision(d, atMs);
    else {
      report.log.decisions++;
      skip(d, 'no valid timestamp');
    }
  }
  // Calls that ran but whose outcome is not in the log: both sides at their projection.
  for (const flight of inFlight.values()) add(flight.groups, spendContribution(flight.recorded.projectedCents, flight.replayed.projectedCents, true));

  report.warnings = warningsOf(report, policies, firstCallMs);
  report.byPolicy = sortedGroups(report.byPolicy);
  report.byScope = sortedGroups(report.byScope);
  report.byDay = sortedGroups(report.byDay);
  report.byCap = sortedGroups(report.byCap);
  return report;
}

function warningsOf(report: ReplayReport, policies: SpendPolicy[], firstCallMs: number): string[] {
  const warnings: string[] = [];
  for (const [basis, n] of Object.entries(report.log.otherCostBasis)) {
    warnings.push(
      `${n} decision${n === 1 ? ' was' : 's were'} priced with ${basis}; the replay prices with ${report.candidate.costBasis}, so cents may differ`,
    );
  }
  for (const [model, n] of Object.entries(report.log.unpriced)) {
    warnings.push(
      `${n} call${n === 1 ? ' is' : 's are'} blocked only because ${model} has no price in ${report.candidate.costBasis} (give its price, or allow unknown models)`,
    );
  }
  for (const p of policies) {
    if (Date.parse(p.effectiveFrom) > firstCallMs)
      warnings.push(`policy ${p.id} is effective from ${p.effectiveFrom}, after the first recorded call: earlier calls are not subject to it`);
  }
  const skipped = Object.values(report.log.skipped).reduce((a, b) => a + b, 0);
  if (skipped > 0)
    warnings.push(
      `${skipped} decision${skipped === 1 ? '' : 's'} could not be replayed: ${Object.entries(report.log.skipped)
        .map(([why, n]) => `${n} ${why}`)
        .join('; ')}`,
    );
  if (report.log.orphanOutcomes > 0)
    warnings.push(`${report.log.orphanOutcomes} outcome${report.log.orphanOutcomes === 1 ? '' : 's'} without their decision in the log were ignored`);
  if (report.total.projectionOnly > 0)
    warnings.push(
      `${report.total.projectionOnly} call${report.total.projectionOnly === 1 ? '' : 's'} had no recorded usage and ${report.total.projectionOnly === 1 ? 'is' : 'are'} counted at ${report.total.projectionOnly === 1 ? 'its' : 'their'} projection`,
    );
  return warnings;
}

/** `tenantId=acme,agentId=bot`: the call's scope fields in scope order (as the report command keys scopes). */
function scopeKey(call: CallRequest): string {
  return SCOPE_FIELDS.filter((f) => call.scope[f] !== undefined)
    .map((f) => `${f}=${call.scope[f]}`)
    .join(',');
}

/**
 * Merges chains into one stream in time order: at each step, the chain whose
 * next entry is earliest (lower chain index on ties). Each chain is read
 * lazily, so memory stays flat; entries of one chain keep their order.
 */
async function* mergeByTime(chains: ReplaySource[]): AsyncGenerator<{ entry: { decision?: unknown }; atMs: number }> {
  const iterators = chains.map((c) => (Symbol.asyncIterator in c ? c[Symbol.asyncIterator]() : (c as Iterable<{ decision?: unknown }>)[Symbol.iterator]()));
  const heads = await Promise.all(iterators.map((it) => it.next()));
  for (;;) {
    let best = -1;
    let bestMs = Infinity;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i]!;
      if (h.done) continue;
      const ms = timeOf(h.value);
      // An entry without a valid time goes out at once (it is counted, not replayed).
      if (best < 0 || !Number.isFinite(ms) || ms < bestMs) {
        best = i;
        bestMs = ms;
        if (!Number.isFinite(ms)) break;
      }
    }
    if (best < 0) return;
    const entry = heads[best]!.value as { decision?: unknown };
    yield { entry, atMs: bestMs };
    heads[best] = await iterators[best]!.next();
  }
}

function timeOf(entry: { decision?: unknown }): number {
  const ts = (entry?.decision as { timestamp?: unknown } | undefined)?.timestamp;
  return typeof ts === 'string' ? Date.parse(ts) : NaN;
}
