import type { SpendAction, SpendDecision, TriggeredCap } from '../audit/decision.js';
import { capabilitySatisfies } from './capability.js';
import type { CallRequest } from './call-request.js';
import type { CapRef, CapSet } from './cap-set.js';
import { modelInSet } from './model-set.js';
import type { SpendCap, SpendPolicy } from './policy.js';
import { nanocentsToCentsCeil, NANOCENTS_PER_CENT, projectNanocents, type TokenRates } from './pricing.js';
import { actorOf } from './scope.js';
import type { WindowHold } from './spend-store.js';

/**
 * The planner: caps × spend snapshot × prices → what to do with one call.
 * Pure: it reads no store, clock or chain, changes none of its inputs, and
 * gives the same plan for the same inputs. The guard reserves what the plan
 * says; the store has the last word (its reservation is atomic), and when it
 * refuses, the guard plans again with the counters the store saw.
 */

/** What the planner decides from. */
export interface PlanInput {
  readonly request: CallRequest;
  readonly caps: CapSet;
  /**
   * Each counter of `caps.slots` before this call. May be stale or a guess:
   * the reservation the plan asks for is checked atomically by the store.
   */
  readonly spent: readonly number[];
  /** Rates of a model for this call's input size, or null when it has no price. */
  readonly prices: (model: string) => TokenRates | null;
  readonly onUnknownModel: 'block' | 'allow';
  /** Output bound for calls that sent none, when no policy in scope names one. */
  readonly defaultMaxOutputTokens?: number | undefined;
  /** Name of the price table, for reasons. */
  readonly costBasis: string;
}

/** Cents to charge to some counters at once, each up to its limit. */
export interface PlannedReservation {
  readonly cents: number;
  /** Indexes into `caps.slots`, ascending; `holds[i]` is slot `slots[i]`. */
  readonly slots: readonly number[];
  readonly holds: readonly WindowHold[];
}

/** A decision's content, without what the ledger stamps (id, time, entry type, cost basis). */
export type DecisionDraft = Omit<SpendDecision, 'entryType' | 'decisionId' | 'timestamp' | 'costBasis'>;

/** What to do with a call, assuming its reservation (if any) succeeds at the snapshot. */
export interface Plan {
  readonly decision: DecisionDraft;
  /** For the adapter: `block` throws; `allow`/`shadow` send as asked; `downgrade` sends `modelResolved`. */
  readonly action: SpendAction;
  readonly modelResolved: string;
  /** The output bound to send (lower than asked after a clamp or a guard-set default). */
  readonly maxOutputTokens: number;
  /** What to reserve; null when the call is blocked (nothing is sent). */
  readonly reservation: PlannedReservation | null;
  /** Whether the decision's content depends on the counters (a guessed snapshot must be read first). */
  readonly readsCounters: boolean;
  /** Rates the call is priced at (null: unpriced, settled at zero). */
  readonly rates: TokenRates | null;
  /**
   * The reported window, for the outcome entry: an index into
   * `reservation.holds`, or -1 when the window is not charged by this call
   * (`reportFixed` then holds its value) or there is none (`reportFixed` null).
   */
  readonly reportHold: number;
  readonly reportFixed: number | null;
}

const ACTION_RANK: Record<SpendAction, number> = { allow: 0, shadow: 1, downgrade: 2, block: 3 };
const ACTIONS_BY_RANK: readonly SpendAction[] = ['allow', 'shadow', 'downgrade', 'block'];
const ZERO_RATES: TokenRates = { input: 0, output: 0, cachedInput: 0, cacheWrite: 0, reasoning: 0 };

/** A cap that fired without binding (shadow policy, shadow or allow cap), or a would-be block. */
interface RecordedFire {
  cap: TriggeredCap;
  key: string | null;
  rank: number;
  policy?: SpendPolicy;
}

/** Where the caps led: a model, bound and cost to reserve, or a block. */
interface Choice {
  blocked: boolean;
  /** `allow` or `downgrade` when not blocked. */
  action: SpendAction;
  /** The last model evaluated (a blocked call is recorded at the requested one). */
  model: string;
  rates: TokenRates | null;
  bound: number;
  cents: number;
  soft: boolean;
  decider: CapRef | undefined;
  /** Reasons that go first (what a block's error shows). */
  lead: string[];
  tail: string[];
}

/** The output bound a call is planned at, and whether the guard set it. */
function outputBound(input: PlanInput, applicable: CapSet['applicable']): { bound: number; setByGuard: boolean } {
  const { request } = input;
  if (request.outputBoundSent !== false) return { bound: request.maxOutputTokens, setByGuard: false };
  let fallback: number | undefined;
  for (const { policy } of applicable) {
    const d = policy.defaultMaxOutputTokens;
    if (d !== undefined) fallback = Math.min(fallback ?? d, d);
  }
  fallback ??= input.defaultMaxOutputTokens;
  if (fallback === undefined) return { bound: request.maxOutputTokens, setByGuard: false };
  return { bound: Math.min(fallback, request.maxOutputTokens), setByGuard: true };
}

const centsAt = (rates: TokenRates | null, inputTokens: number, outputTokens: number) =>
  nanocentsToCentsCeil(projectNanocents(rates ?? ZERO_RATES, inputTokens, outputTokens));

/** The cap as recorded in a decision (shape shared with the Python port, plus `models`). */
export function triggeredCapOf(cap: SpendCap): TriggeredCap {
  return {
    amountCents: cap.amountCents,
    window: cap.window,
    action: cap.action,
    ...(cap.downgradeTo ? { downgradeTo: cap.downgradeTo } : {}),
    reason: cap.reason,
    ...(cap.models ? { models: [...cap.models] } : {}),
  };
}

function capReason(c: CapRef): string {
  const models = c.cap.models ? ` [models ${c.cap.models.join(', ')}]` : '';
  return `${c.policy.id}/${c.cap.id ?? c.index} ${c.cap.window} cap ${c.cap.amountCents}c${models}: ${c.cap.reason}`;
}

const firedReasons = (fired: readonly CapRef[]) => fired.map((c) => `${c.cap.action}: ${capReason(c)}`);

/**
 * Whether a cap limits a call to `model`: enforced, counting that model, and
 * a block cap (or a downgrade cap before any downgrade: at the target,
 * `soft`, downgrade caps only count).
 */
function binds(c: CapRef, model: string, soft: boolean): boolean {
  return c.enforce && (c.cap.action === 'block' || (c.cap.action === 'downgrade' && !soft)) && modelInSet(c.cap.models, model);
}

/** Block caps first, then in policy order. */
function sortFired(fired: CapRef[]): CapRef[] {
  return fired.sort((a, b) => ACTION_RANK[b.cap.action] - ACTION_RANK[a.cap.action]);
}

class Planner {
  readonly #in: PlanInput;
  readonly #caps: readonly CapRef[];
  readonly #tokensIn: number;
  readonly #routable: ReadonlySet<string> | undefined;

  constructor(input: PlanInput) {
    this.#in = input;
    this.#caps = input.caps.caps;
    this.#tokensIn = input.request.estimatedInputTokens;
    const listed = input.request.routableModels;
    this.#routable = listed ? new Set([input.request.model, ...listed]) : undefined;
  }

  /** Whether the call can be sent to `model` (see `CallRequest.routableModels`). */
  routable(model: string): boolean {
    return !this.#routable || this.#routable.has(model);
  }

  #spent(c: CapRef): number {
    return c.slot >= 0 ? (this.#in.spent[c.slot] ?? 0) : 0;
  }

  /** The binding caps a call to `model` costing `cents` would pass: per-call caps first, then window caps. */
  firedAt(model: string, cents: number, soft: boolean): CapRef[] {
    const perCall = this.#caps.filter((c) => c.slot < 0 && binds(c, model, soft) && cents > c.cap.amountCents);
    const windows = this.#caps.filter((c) => c.slot >= 0 && binds(c, model, soft) && this.#spent(c) + cents > c.cap.amountCents);
    return sortFired([...perCall, ...windows]);
  }

  /**
   * The largest output bound below `bound` whose worst case fits every fired
   * cap, when all of them allow a clamp; null when none does, or when it would
   * go below a cap's `clampMinTokens`.
   */
  clampAt(fired: readonly CapRef[], model: string, rates: TokenRates | null, bound: number, soft: boolean): { bound: number; cents: number } | null {
    if (!rates || fired.length === 0 || !fired.every((c) => c.cap.action === 'block' && c.cap.clampMaxTokens)) return null;
    const outRate = Math.max(rates.output, rates.reasoning);
    if (outRate === 0) return null;
    const remaining = Math.min(...fired.map((c) => c.cap.amountCents - this.#spent(c)));
    const fitting = Math.floor((remaining * NANOCENTS_PER_CENT - this.#tokensIn * rates.input) / outRate);
    if (fitting < clampMinimum(fired) || fitting >= bound) return null;
    const cents = centsAt(rates, this.#tokensIn, fitting);
    // Fewer cents cannot make another cap fire; checked anyway, the plan must hold as a whole.
    if (this.firedAt(model, cents, soft).length > 0) return null;
    return { bound: fitting, cents };
  }

  /**
   * The caps at the requested model; then, when downgrade caps fire and no
   * plain block cap does, the downgrade target, where downgrade caps only
   * count. Clamping block caps lower the output bound at whichever model the
   * call goes to; a block cap that does not clamp wins wherever it fires.
   * A target the call cannot be sent to (`CallRequest.routableModels`) is
   * skipped for the next firing downgrade cap's; when none is left, the call
   * is decided at the requested model as if no downgrade cap existed there
   * (they only count), and the reasons say which downgrade was not taken.
   */
  choose(rates: TokenRates | null, bound: number, projected: number): Choice {
    const { request, prices } = this.#in;
    const requested = request.model;
    const base = { model: requested, rates, bound, cents: projected, soft: false, lead: [] as string[], tail: [] as string[] };
    const fired = this.firedAt(requested, projected, false);
    if (fired.length === 0) return { ...base, blocked: false, action: 'allow', decider: undefined };
    const firstBlock = fired.find((c) => c.cap.action === 'block');
    const downgrades = fired.filter((c) => c.cap.action === 'downgrade');
    const plainBlock = fired.some((c) => c.cap.action === 'block' && !c.cap.clampMaxTokens);
    if (plainBlock) return { ...base, blocked: true, action: 'block', decider: firstBlock, lead: firedReasons(fired) };
    if (downgrades.length === 0) {
      const clamp = this.clampAt(fired, requested, rates, bound, false);
      if (clamp)
        return { ...base, ...clamp, blocked: false, action: 'allow', decider: fired[0], tail: [clampReason(bound, clamp.bound, requested, requested, fired)] };
      return { ...base, blocked: true, action: 'block', decider: firstBlock, lead: [...firedReasons(fired), ...clampNote(fired, requested, rates)] };
    }

    // The first firing downgrade whose target the call can be sent to; the ones before it are noted and skipped.
    const taken = downgrades.find((c) => this.routable(c.cap.downgradeTo!));
    const tail = downgrades.slice(0, taken ? downgrades.indexOf(taken) : downgrades.length).map((c) => notRoutedReason(c, request));
    // None can be taken: the call stays at the requested model, decided as if no downgrade cap existed (they only count there).
    const downgrade = taken ?? downgrades[0]!;
    const target = taken ? taken.cap.downgradeTo! : requested;
    if (taken) {
      tail.push(`downgrade to ${target}: ${capReason(taken)}`);
      for (const c of fired)
        if (c.cap.action === 'block') tail.push(`block at ${requested} (clampMaxTokens): ${capReason(c)}; clamping at ${target} if needed`);
    }
    const targetRates = target === requested ? rates : prices(target);
    if (!targetRates && rates) {
      return {
        ...base,
        blocked: true,
        action: 'block',
        decider: downgrade,
        tail,
        lead: [`unknown model: no price for downgrade target ${request.provider}/${target}; blocking`],
      };
    }
    const at = { model: target, rates: targetRates, soft: true, tail };
    const action: SpendAction = target === requested ? 'allow' : 'downgrade';
    const targetCents = centsAt(targetRates, this.#tokensIn, bound);
    const firedAtTarget = this.firedAt(target, targetCents, true);
    if (firedAtTarget.length === 0) return { ...base, ...at, cents: targetCents, blocked: false, action, decider: downgrade };
    const clamp = this.clampAt(firedAtTarget, target, targetRates, bound, true);
    if (clamp)
      return {
        ...base,
        ...at,
        ...clamp,
        blocked: false,
        action,
        decider: downgrade,
        tail: [...tail, clampReason(bound, clamp.bound, target, requested, firedAtTarget)],
      };
    return {
      ...base,
      ...at,
      cents: targetCents,
      blocked: true,
      action: 'block',
      decider: firedAtTarget[0],
      lead: [...firedReasons(firedAtTarget), ...clampNote(firedAtTarget, target, targetRates)],
    };
  }

  /** Caps that do not bind (shadow policies, shadow/allow caps), evaluated for the record. */
  recordedFires(model: string, cents: number): { reasons: string[]; fires: RecordedFire[] } {
    const reasons: string[] = [];
    const fires: RecordedFire[] = [];
    for (const c of this.#caps) {
      if (c.enforce && (c.cap.action === 'block' || c.cap.action === 'downgrade')) continue;
      if (!modelInSet(c.cap.models, model)) continue;
      if (this.#spent(c) + cents <= c.cap.amountCents) continue;
      if (!c.enforce && c.cap.action === 'downgrade' && !this.routable(c.cap.downgradeTo!)) {
        // Enforcement would not take it either: recorded, but not as a would-be downgrade.
        reasons.push(`shadow: ${notRoutedReason(c, this.#in.request, 'would not be taken')}`);
        continue;
      }
      const would: SpendAction = c.enforce ? (c.cap.action === 'allow' ? 'allow' : 'shadow') : c.cap.action;
      reasons.push(`${c.enforce ? c.cap.action : `shadow: would ${c.cap.action}`}: ${capReason(c)}`);
      fires.push({ cap: triggeredCapOf(c.cap), key: c.key, rank: ACTION_RANK[would], policy: c.policy });
    }
    return { reasons, fires };
  }

  /** The counters charged by a call to `model`, each limited by the binding caps on it. */
  reservationAt(model: string, cents: number, soft: boolean): PlannedReservation {
    const limits = new Map<number, number | null>();
    for (const c of this.#caps) {
      if (c.slot < 0 || !modelInSet(c.cap.models, model)) continue;
      const current = limits.get(c.slot) ?? null;
      limits.set(c.slot, binds(c, model, soft) ? Math.min(current ?? Infinity, c.cap.amountCents) : current);
    }
    const slots = [...limits.keys()].sort((a, b) => a - b);
    const holds = slots.map((s) => ({ key: this.#in.caps.slots[s]!.key, expiresAtMs: this.#in.caps.slots[s]!.expiresAtMs, limitCents: limits.get(s)! }));
    return { cents, slots, holds };
  }

  /** The counted window closest to its cap after this call, to report in the decision. */
  tightestSlot(model: string, cents: number): number {
    let best = -1;
    let bestRatio = -1;
    for (const c of this.#caps) {
      if (c.slot < 0 || !modelInSet(c.cap.models, model)) continue;
      const ratio = (this.#spent(c) + cents) / Math.max(1, c.cap.amountCents);
      if (ratio > bestRatio) {
        best = c.slot;
        bestRatio = ratio;
      }
    }
    return best;
  }
}

const MAX_LISTED_ROUTES = 5;

/** Why a firing downgrade cap was not taken: no model the call can be routed to is its target. */
function notRoutedReason(c: CapRef, request: CallRequest, verdict = 'not taken'): string {
  const target = c.cap.downgradeTo!;
  const all = [...new Set([request.model, ...(request.routableModels ?? [])])];
  // A reason stays short whatever the deployment list: the signed line has a size limit.
  const to = all.length > MAX_LISTED_ROUTES ? `${all.slice(0, MAX_LISTED_ROUTES).join(', ')} and ${all.length - MAX_LISTED_ROUTES} more` : all.join(', ');
  return `downgrade to ${target} ${verdict}: no deployment this call can be sent to serves ${target} (routable: ${to}); ${capReason(c)}`;
}

function clampMinimum(fired: readonly CapRef[]): number {
  return Math.max(...fired.map((c) => c.cap.clampMinTokens ?? 1));
}

function clampReason(from: number, to: number, model: string, requested: string, fired: readonly CapRef[]): string {
  return `clamped max output tokens ${from} → ${to}${model !== requested ? ` at ${model}` : ''}: ${fired.map(capReason).join('; ')}`;
}

/** Why a clamp did not save a call whose every firing cap allowed one. */
function clampNote(fired: readonly CapRef[], model: string, rates: TokenRates | null): string[] {
  if (!rates || !fired.every((c) => c.cap.action === 'block' && c.cap.clampMaxTokens)) return [];
  return [`clampMaxTokens: not even ${clampMinimum(fired)} output tokens fit at ${model}`];
}

/** Plans one call. See the module comment for what "pure" promises. */
export function planCall(input: PlanInput): Plan {
  const { request, caps: set } = input;
  const planner = new Planner(input);
  const shadowMode = set.enforcementMode === 'shadow';
  const { bound, setByGuard } = outputBound(input, set.applicable);
  const reasons: string[] = [];
  const fires: RecordedFire[] = [];

  // Capability gate: before anything is priced or reserved.
  const capabilityReasons: string[] = [];
  let capabilityBlock: SpendPolicy | undefined;
  for (const { policy, enforce } of set.applicable) {
    if (!policy.requiredCapability || capabilitySatisfies(request.capabilityClaim, policy.requiredCapability)) continue;
    const why = `capability: policy ${policy.id} requires ${policy.requiredCapability}, call claims ${request.capabilityClaim ?? 'nothing'}`;
    if (enforce) {
      capabilityBlock ??= policy;
      capabilityReasons.push(why);
    } else {
      reasons.push(`shadow: would block: ${why}`);
      fires.push({ cap: { amountCents: 0, window: 'per_call', action: 'block', reason: why }, key: null, rank: ACTION_RANK.block, policy });
    }
  }
  reasons.unshift(...capabilityReasons);

  const rates = input.prices(request.model);
  if (!rates) {
    const why = `unknown model: no price for ${request.provider}/${request.model} in ${input.costBasis}`;
    if (!shadowMode && input.onUnknownModel === 'block') {
      return blockedEarly(
        draftOf(
          input,
          {
            action: 'block',
            model: request.model,
            projectedCents: 0,
            triggered: null,
            triggeredKey: null,
            spend: [0, 0],
            reasons: [why, ...reasons],
            finalBound: bound,
          },
          bound,
          setByGuard,
        ),
        null,
        request.model,
        bound,
      );
    }
    reasons.push(why);
    if (set.applicable.length > 0 && input.onUnknownModel === 'block') {
      // Shadow: enforce would have failed closed; record that as the would-be action.
      fires.push({ cap: { amountCents: 0, window: 'per_call', action: 'block', reason: 'unknown model' }, key: null, rank: ACTION_RANK.block });
    }
  }
  const projected = centsAt(rates, request.estimatedInputTokens, bound);

  if (capabilityBlock) {
    const decision = draftOf(
      input,
      {
        action: 'block',
        policy: capabilityBlock,
        model: request.model,
        projectedCents: projected,
        triggered: null,
        triggeredKey: `capability:${capabilityBlock.id}`,
        spend: [0, 0],
        reasons,
        finalBound: bound,
      },
      bound,
      setByGuard,
    );
    return blockedEarly(decision, rates, request.model, bound);
  }

  const choice = planner.choose(rates, bound, projected);
  if (choice.blocked && request.outputBoundSent === false && !setByGuard && choice.lead.length > 0) {
    choice.lead[0] += `; no output bound sent; projected at the model's maximum of ${request.maxOutputTokens} output tokens; set defaultMaxOutputTokens (policy) or AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS`;
  }
  reasons.unshift(...choice.lead);
  reasons.push(...choice.tail);
  const recorded = planner.recordedFires(choice.model, choice.cents);
  reasons.push(...recorded.reasons);
  fires.push(...recorded.fires);

  const { decider } = choice;
  let action = choice.action;
  let triggered: TriggeredCap | null = decider ? triggeredCapOf(decider.cap) : null;
  let triggeredKey: string | null = decider ? decider.key : null;
  let policy: SpendPolicy | undefined = decider?.policy;
  const strongest = fires.reduce<RecordedFire | undefined>((a, b) => (!a || b.rank > a.rank ? b : a), undefined);
  if (choice.action === 'allow' && strongest && strongest.rank > 0) {
    action = shadowMode ? ACTIONS_BY_RANK[strongest.rank]! : 'shadow';
    triggered = strongest.cap;
    triggeredKey = strongest.key;
    policy = strongest.policy;
  }
  if (reasons.length === 0) reasons.push(`within all caps (projected ${choice.cents}c, model ${choice.model})`);

  // For the report: the projected cost on the other side of a downgrade, so
  // savings can be computed from the log alone.
  const alt: Partial<Pick<SpendDecision, 'projectedCentsRequested' | 'projectedCentsIfEnforced'>> = {};
  if (choice.action === 'downgrade') alt.projectedCentsRequested = projected;
  // A downgrade that fired but was not applied (shadow mode or a shadow policy).
  const unapplied = choice.action === 'allow' && triggered !== null && triggered === strongest?.cap ? triggered : null;
  if (unapplied?.action === 'downgrade' && unapplied.downgradeTo) {
    const targetRates = input.prices(unapplied.downgradeTo);
    if (targetRates) alt.projectedCentsIfEnforced = centsAt(targetRates, request.estimatedInputTokens, bound);
  }

  // A blocked call sends nothing: it is recorded as asked (requested model and its
  // projection), even when a downgrade was tried before a hard cap blocked it.
  const model = choice.blocked ? request.model : choice.model;
  const cents = choice.blocked ? projected : choice.cents;
  const finalBound = choice.blocked ? bound : choice.bound;
  const reservation = choice.blocked ? null : planner.reservationAt(choice.model, choice.cents, choice.soft);
  const reportSlot = decider && decider.slot >= 0 ? decider.slot : planner.tightestSlot(model, cents);
  const before = reportSlot >= 0 ? (input.spent[reportSlot] ?? 0) : 0;
  const reportHold = reservation && reportSlot >= 0 ? reservation.slots.indexOf(reportSlot) : -1;
  const after = reportHold >= 0 ? before + cents : before;
  const decision = draftOf(
    input,
    { action, policy, model, projectedCents: cents, triggered, triggeredKey, spend: [before, after], reasons, finalBound, alt },
    bound,
    setByGuard,
  );
  return {
    decision,
    action: shadowMode ? (action === 'allow' ? 'allow' : 'shadow') : action,
    modelResolved: decision.modelResolved,
    // Shadow never changes a call: a clamp or a guard-set bound is only recorded there.
    maxOutputTokens: shadowMode ? request.maxOutputTokens : finalBound,
    reservation,
    readsCounters: set.slots.length > 0,
    rates: choice.blocked ? rates : choice.rates,
    reportHold,
    reportFixed: reportHold < 0 && reportSlot >= 0 ? after : null,
  };
}

interface DraftFields {
  action: SpendAction;
  /** The policy that decided; defaults to the first that applied. */
  policy?: SpendPolicy | undefined;
  model: string;
  projectedCents: number;
  triggered: TriggeredCap | null;
  triggeredKey: string | null;
  spend: [number, number];
  reasons: string[];
  finalBound: number;
  alt?: Partial<Pick<SpendDecision, 'projectedCentsRequested' | 'projectedCentsIfEnforced'>>;
}

/** The plan of a call blocked before any counter is read (an unknown model, a capability block). */
function blockedEarly(decision: DecisionDraft, rates: TokenRates | null, model: string, bound: number): Plan {
  return {
    decision,
    action: 'block',
    modelResolved: model,
    maxOutputTokens: bound,
    reservation: null,
    readsCounters: false,
    rates,
    reportHold: -1,
    reportFixed: null,
  };
}

function draftOf(input: PlanInput, d: DraftFields, bound: number, setByGuard: boolean): DecisionDraft {
  const { request, caps: set } = input;
  const policy = d.policy ?? set.applicable[0]?.policy;
  const shadow = set.enforcementMode === 'shadow';
  return {
    action: d.action,
    triggeredCap: d.triggered,
    triggeredScopeKey: d.triggeredKey,
    projectedCents: d.projectedCents,
    ...(d.alt?.projectedCentsRequested !== undefined ? { projectedCentsRequested: d.alt.projectedCentsRequested } : {}),
    ...(d.alt?.projectedCentsIfEnforced !== undefined ? { projectedCentsIfEnforced: d.alt.projectedCentsIfEnforced } : {}),
    windowSpendBefore: d.spend[0],
    windowSpendAfter: d.spend[1],
    provider: request.provider,
    modelRequested: request.model,
    modelResolved: shadow ? request.model : d.model,
    policyId: policy?.id ?? 'none',
    policyVersion: policy?.version ?? 0,
    enforcementMode: set.enforcementMode,
    reasons: d.reasons,
    estimatedInputTokens: request.estimatedInputTokens,
    estimatedOutputTokens: d.finalBound,
    ...(d.finalBound !== request.maxOutputTokens ? { requestedMaxOutputTokens: request.maxOutputTokens } : {}),
    ...(d.finalBound !== bound ? { clampedMaxOutputTokens: d.finalBound } : {}),
    ...(setByGuard ? { outputBoundSetByGuard: true } : {}),
    actor: actorOf(request),
    ...(request.capabilityClaim ? { capabilityClaim: request.capabilityClaim } : {}),
    ...(request.traceId ? { traceId: request.traceId } : {}),
    ...(request.spanId ? { spanId: request.spanId } : {}),
  };
}

/** Whether two plans reserve the same thing for the same call (same model, bound, cents, counters and limits). */
export function sameReservation(a: Plan, b: Plan): boolean {
  const x = a.reservation;
  const y = b.reservation;
  if (!x || !y) return x === y;
  if (a.decision.modelResolved !== b.decision.modelResolved || a.decision.estimatedOutputTokens !== b.decision.estimatedOutputTokens) return false;
  if (x.cents !== y.cents || x.slots.length !== y.slots.length) return false;
  return x.slots.every((s, i) => s === y.slots[i] && x.holds[i]!.limitCents === y.holds[i]!.limitCents);
}
