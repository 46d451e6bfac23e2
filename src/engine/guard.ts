import { randomUUID } from 'node:crypto';
import type { DecisionLogEntry } from '../audit/chain.js';
import type { EnforcementMode, SpendDecision } from '../audit/decision.js';
import { AgentGuardError } from '../audit/errors.js';
import { publicKeyFromSeed, type SigningKeys } from '../audit/keys.js';
import type { SignerChangeDecision } from '../audit/rotation.js';
import type { SignerBackend } from '../audit/signer.js';
import { addAttempts, capUsage, validateRequest, validateUsage, type CallRequest, type UsageBound } from './call-request.js';
import { resolveCapSet, type CapSet } from './cap-set.js';
import { DecisionLedger, type DecideResult, type PendingDecision } from './ledger.js';
import { InMemoryDecisionLogStore, type DecisionLogStore } from './log-store.js';
import { InMemorySpendStore } from './memory-spend-store.js';
import { SpendMetrics, type SpendMetricsOptions } from './metrics.js';
import { planCall, sameReservation, type Plan } from './planner.js';
import type { SpendPolicy } from './policy.js';
import { checkDowngradeTargets, checkedRates, resolvePricing, type PricingConfig } from './price-book.js';
import { nanocentsToCentsCeil, usageNanocents, type PriceTable, type TokenRates, type UsageTokens } from './pricing.js';
import type { SpendStore } from './spend-store.js';

export type { CallRequest } from './call-request.js';
export type { DecideResult } from './ledger.js';
export type { PricingConfig } from './price-book.js';

/** Everything a {@link SpendGuard} needs. */
export interface SpendGuardConfig {
  policy?: SpendPolicy;
  policies?: SpendPolicy[];
  /** Window counters (default: in this process's memory). */
  spendStore?: SpendStore;
  /**
   * Where signed entries go (default: the most recent entries in memory, see
   * {@link InMemoryDecisionLogStore}, signed off the caller's thread). A store
   * with `acceptsDeferred` (the file store in `batch` durability, the
   * OpenTelemetry log-record store) gets its entries signed in batches off the
   * caller's thread, in order, after the calls proceed: call {@link SpendGuard.flush}
   * or {@link SpendGuard.close} before reading or closing it.
   */
  logStore?: DecisionLogStore;
  signingKeys: SigningKeys;
  pricing?: PriceTable | PricingConfig;
  /** Milliseconds since the epoch (default `Date.now`). */
  clock?: () => number;
  /** A model without a price: `block` (default, fail closed) or `allow` at zero projected cost. */
  onUnknownModel?: 'block' | 'allow';
  /** Fleet-wide override: `shadow` turns every policy into shadow mode. */
  modeOverride?: EnforcementMode;
  /** An unsettled reservation is given back after this long (default 15 minutes). */
  reservationTtlMs?: number;
  /**
   * The output bound the guard sets for a call that sent none
   * (`CallRequest.outputBoundSent: false`) when no policy in scope names one
   * (`SpendPolicy.defaultMaxOutputTokens`). Absent: such calls are projected
   * at the model's maximum output.
   */
  defaultMaxOutputTokens?: number;
  signerBackend?: SignerBackend;
  /** OpenTelemetry metrics (default on; a no-op without a MeterProvider). `false` turns them off. */
  metrics?: SpendMetricsOptions | false;
  /**
   * The most tokens one call attempt can bill where the request itself sets no
   * bound: input beyond the pre-call estimate (context the server adds, images,
   * documents) and output of a call sent without an output bound. Reported
   * usage above a call's bound is charged at the bound and flagged in the
   * outcome (`reportedInputTokens` / `reportedOutputTokens`). Default
   * 10,000,000 (no model's context window is larger).
   */
  maxTokensPerCall?: number;
}

/** Options of {@link SpendGuard.settle} and {@link SpendGuard.release}. */
export interface OutcomeOptions {
  /**
   * Attempts of the call besides the one whose usage is given (SDK retries
   * after a timeout, a dropped connection or a 5xx) that may have reached the
   * provider and reported no usage: each is charged the decision's projection.
   */
  unansweredAttempts?: number;
}

/** Why a call failed, for {@link SpendGuard.release}. */
export type ReleaseReason = string;

const DEFAULT_TTL_MS = 15 * 60_000;
const DEFAULT_MAX_TOKENS_PER_CALL = 10_000_000;
const ZERO_RATES: TokenRates = { input: 0, output: 0, cachedInput: 0, cacheWrite: 0, reasoning: 0 };
/**
 * Plans tried for one call before giving up. Each retry means the counters
 * moved under the call (another call reserved or settled in between), so this
 * is only reached under pathological contention; the call then fails closed.
 */
const MAX_PLAN_ROUNDS = 256;

/** The window counters a call's plans are made from: values and which of them the store has confirmed. */
class CounterSnapshot {
  readonly values: number[];
  readonly #known: boolean[];
  #missing: number;
  /** Bumped whenever a value changes, so a plan knows it was made from an older snapshot. */
  version = 0;

  constructor(size: number) {
    // Unknown counters start as 0, the optimistic guess: the store refuses a reservation the guess got wrong.
    this.values = new Array<number>(size).fill(0);
    this.#known = new Array<boolean>(size).fill(false);
    this.#missing = size;
  }

  get complete(): boolean {
    return this.#missing === 0;
  }

  missing(): number[] {
    const out: number[] = [];
    this.#known.forEach((k, i) => k || out.push(i));
    return out;
  }

  merge(slots: readonly number[], values: readonly number[]): void {
    slots.forEach((slot, i) => {
      const v = values[i] ?? 0;
      if (!this.#known[slot]) {
        this.#known[slot] = true;
        this.#missing--;
      }
      if (this.values[slot] !== v) {
        this.values[slot] = v;
        this.version++;
      }
    });
  }
}

/**
 * The engine: decides every call against the policies, reserves its worst-case
 * cost atomically in every window that applies, signs the decision into the
 * hash chain, and settles the reservation to the provider's reported usage.
 * Knows no provider SDK; adapters translate calls to {@link CallRequest}.
 *
 * A facade: the planner (`planCall`) decides, the spend store reserves, the
 * ledger signs, logs and settles.
 */
export class SpendGuard {
  #policies: SpendPolicy[];
  readonly #spendStore: SpendStore;
  #pricing: PriceTable;
  readonly #clock: () => number;
  readonly #onUnknownModel: 'block' | 'allow';
  readonly #modeOverride: EnforcementMode | undefined;
  readonly #ttlMs: number;
  readonly #defaultMaxOutputTokens: number | undefined;
  readonly #ledger: DecisionLedger;
  readonly #metrics: SpendMetrics | null;
  readonly #maxTokensPerCall: number;
  readonly #logStore: DecisionLogStore;
  /** Settlements and releases running (awaited by {@link flush}). */
  readonly #outcomes = new Set<Promise<unknown>>();

  constructor(config: SpendGuardConfig) {
    if (!config || !config.signingKeys) throw new TypeError('SpendGuardConfig.signingKeys is required');
    const d = config.defaultMaxOutputTokens;
    if (d !== undefined && !(Number.isSafeInteger(d) && d > 0)) {
      throw new TypeError(`SpendGuardConfig.defaultMaxOutputTokens: expected a positive integer, got ${JSON.stringify(d)}`);
    }
    const m = config.maxTokensPerCall;
    if (m !== undefined && !(Number.isSafeInteger(m) && m > 0)) {
      throw new TypeError(`SpendGuardConfig.maxTokensPerCall: expected a positive integer, got ${JSON.stringify(m)}`);
    }
    this.#maxTokensPerCall = m ?? DEFAULT_MAX_TOKENS_PER_CALL;
    this.#policies = [...(config.policy ? [config.policy] : []), ...(config.policies ?? [])];
    this.#spendStore = config.spendStore ?? new InMemorySpendStore();
    this.#pricing = resolvePricing(config.pricing);
    this.#clock = config.clock ?? Date.now;
    this.#onUnknownModel = config.onUnknownModel ?? 'block';
    if (this.#onUnknownModel !== 'allow') checkDowngradeTargets(this.#policies, this.#pricing);
    this.#modeOverride = config.modeOverride;
    this.#ttlMs = config.reservationTtlMs ?? DEFAULT_TTL_MS;
    this.#defaultMaxOutputTokens = d;
    this.#metrics = config.metrics === false ? null : new SpendMetrics(config.metrics);
    const costBasis = () => this.#pricing.basis;
    this.#logStore = config.logStore ?? new InMemoryDecisionLogStore({ deferred: true });
    this.#ledger = new DecisionLedger({
      spendStore: this.#spendStore,
      logStore: this.#logStore,
      signingKeys: config.signingKeys,
      signerBackend: config.signerBackend,
      reservationTtlMs: this.#ttlMs,
      // Read at each entry: the price table can be replaced (setPricing).
      get costBasis(): string {
        return costBasis();
      },
    });
  }

  /** The policies in force. */
  get policies(): readonly SpendPolicy[] {
    return this.#policies;
  }

  /**
   * Replaces the policies for the next decisions (already validated by
   * `parsePolicies`). Throws, keeping the policies in force, when a cap
   * downgrades to a model without a price (unless `onUnknownModel: 'allow'`).
   */
  setPolicies(policies: SpendPolicy[]): void {
    if (this.#onUnknownModel !== 'allow') checkDowngradeTargets(policies, this.#pricing);
    this.#policies = [...policies];
  }

  /**
   * Replaces the prices for the next decisions and settlements (the price file's
   * hot reload); each entry records the `costBasis` it was priced with.
   */
  setPricing(pricing: PriceTable | PricingConfig): void {
    this.#pricing = resolvePricing(pricing);
  }

  /** The price table's name, recorded as `costBasis`. */
  get costBasis(): string {
    return this.#pricing.basis;
  }

  /** Decisions reserved but not yet settled or released. */
  get pendingCount(): number {
    return this.#ledger.pendingCount;
  }

  /**
   * Whether entries are signed off the caller's thread and handed to the log
   * store after the call proceeds (its store has `acceptsDeferred`). Then a
   * decision's `entry.signature` is filled in once signed, and an adapter may
   * let the caller resume before the outcome is settled and logged.
   */
  get signsOffThread(): boolean {
    return this.#ledger.signsOffThread;
  }

  /**
   * Entries signed so far by the signing thread (with {@link signsOffThread});
   * the others were signed on the caller's thread: before the thread was up,
   * or after it died.
   */
  get entriesSignedOffThread(): number {
    return this.#ledger.signedOffThread;
  }

  /**
   * Waits until every settlement and release started so far is done, every
   * entry recorded so far is signed and handed to the log store, and then
   * flushes the log store if it can (`flush()`). Rejects when the log store
   * refused entries meanwhile (they stay queued and are handed over again).
   */
  async flush(): Promise<void> {
    await this.#handOver();
    await (this.#logStore as { flush?: () => Promise<void> }).flush?.();
  }

  /**
   * For a process that is exiting now (an `exit` listener, after `process.exit()`):
   * signs every entry still pending on this thread, hands them to the log store
   * synchronously, and asks the store to write what it holds synchronously if
   * it can (`flushSync()`; the file store does). Outcomes whose settlement has
   * not reached the ledger yet cannot be waited for here.
   */
  flushSync(): void {
    this.#ledger.flushSync();
    (this.#logStore as { flushSync?: () => void }).flushSync?.();
  }

  /** {@link flush}es, then closes the log store if it can (`close()`). Call on exit. */
  async close(): Promise<void> {
    try {
      await this.#handOver();
    } finally {
      await (this.#logStore as { close?: () => Promise<void> }).close?.();
    }
  }

  /** Waits for running outcomes and for every entry recorded so far to be signed and in the log store. */
  async #handOver(): Promise<void> {
    while (this.#outcomes.size > 0) await Promise.allSettled([...this.#outcomes]);
    try {
      await this.#ledger.flush();
    } catch {
      // The store refused an entry: let it write what it kept (a full disk with room again), then hand over once more.
      await (this.#logStore as { flush?: () => Promise<void> }).flush?.();
      await this.#ledger.flush();
    }
  }

  /** Decides a call, reserves its worst case, signs and logs the decision. */
  async decide(request: CallRequest): Promise<DecideResult> {
    const started = performance.now();
    const result = await this.#decide(request);
    this.#metrics?.decision(result.decision, (performance.now() - started) / 1000);
    return result;
  }

  /**
   * Plan, reserve, record. The plan is made from a snapshot of the counters
   * (at first a guess); the store's atomic reservation is the check. When the
   * store refuses, the plan is remade from the counters the store saw; when a
   * reservation succeeded on counters other than the snapshot's, the plan is
   * remade from them and, if it would now reserve something else, the
   * reservation is given back and the call planned again.
   */
  async #decide(request: CallRequest): Promise<DecideResult> {
    validateRequest(request);
    // Opens the log on the first call; later calls do not wait a turn for it (see DecisionLedger.chain).
    const opening = this.#ledger.chain();
    if (opening instanceof Promise) await opening;
    const nowMs = this.#clock();
    const decisionId = randomUUID();
    const caps = resolveCapSet(this.#policies, request, nowMs, this.#modeOverride);
    const snapshot = new CounterSnapshot(caps.slots.length);
    const plan = this.#planner(request, caps, snapshot);

    for (let round = 0; round < MAX_PLAN_ROUNDS; round++) {
      const planned = plan();
      const reservation = planned.reservation;
      if (!reservation) {
        if (planned.readsCounters && !snapshot.complete) {
          await this.#readMissing(snapshot, caps, nowMs);
          continue;
        }
        return this.#record(request, planned, decisionId, nowMs);
      }
      let reserved = false;
      if (reservation.holds.length > 0) {
        const result = await this.#spendStore.reserve({
          reservationId: decisionId,
          cents: reservation.cents,
          holds: [...reservation.holds],
          nowMs,
          ttlMs: this.#ttlMs,
        });
        snapshot.merge(reservation.slots, result.before);
        if (!result.ok) continue;
        reserved = true;
      }
      if (!snapshot.complete) await this.#readMissing(snapshot, caps, nowMs);
      const confirmed = snapshot.version === planned.version ? planned : plan();
      if (sameReservation(confirmed, planned)) return this.#record(request, confirmed, decisionId, nowMs);
      if (reserved)
        await this.#spendStore.settle({
          reservationId: decisionId,
          holds: reservation.holds.map(({ key, expiresAtMs }) => ({ key, expiresAtMs })),
          actualCents: 0,
          nowMs,
        });
    }
    throw new AgentGuardError(
      `spend counters kept changing while deciding a call to ${request.provider}/${request.model} (${MAX_PLAN_ROUNDS} attempts); not sent`,
    );
  }

  /** Records the plan; a call sent without an output bound (the provider's own maximum applies) is marked for settlement. */
  #record(request: CallRequest, plan: Plan, decisionId: string, nowMs: number): Promise<DecideResult> {
    const boundWritten = plan.decision.outputBoundSetByGuard === true && plan.decision.enforcementMode === 'enforce';
    return this.#ledger.record(plan, decisionId, nowMs, { outputUnbounded: request.outputBoundSent === false && !boundWritten });
  }

  /** A function planning the call from the snapshot's current values, tagged with the snapshot version it used. */
  #planner(request: CallRequest, caps: CapSet, snapshot: CounterSnapshot): () => Plan & { version: number } {
    const rates = new Map<string, TokenRates | null>();
    const prices = (model: string) => {
      if (!rates.has(model)) rates.set(model, checkedRates(this.#pricing, request.provider, model, request.estimatedInputTokens));
      return rates.get(model)!;
    };
    const input = {
      request,
      caps,
      prices,
      onUnknownModel: this.#onUnknownModel,
      defaultMaxOutputTokens: this.#defaultMaxOutputTokens,
      costBasis: this.#pricing.basis,
    };
    return () => ({ ...planCall({ ...input, spent: snapshot.values }), version: snapshot.version });
  }

  async #readMissing(snapshot: CounterSnapshot, caps: CapSet, nowMs: number): Promise<void> {
    const missing = snapshot.missing();
    const values = await this.#spendStore.read(
      missing.map((i) => caps.slots[i]!.key),
      nowMs,
    );
    snapshot.merge(missing, values);
  }

  /**
   * Settles a decision with the provider's reported usage: the reservation is
   * replaced by the actual cost and a signed `outcome` entry is appended.
   * Usage above the call's bound is charged at the bound (see
   * {@link SpendGuardConfig.maxTokensPerCall}); unanswered attempts are
   * charged the projection each.
   */
  async settle(decision: SpendDecision | DecideResult, usage: UsageTokens, options: OutcomeOptions = {}): Promise<DecisionLogEntry<SpendDecision>> {
    validateUsage(usage);
    const attempts = checkAttempts(options);
    const pending = this.#ledger.take(decision);
    return this.#tracked(this.#finish(pending, 'settled', 'settled from provider-reported usage', usage, attempts));
  }

  /**
   * Gives back a decision's reservation when the call failed or was aborted
   * before usage was known, and records why in a signed `outcome` entry.
   * Usage the provider did report (e.g. a stream cut short) may be passed and
   * is charged, as are unanswered attempts (see {@link OutcomeOptions}).
   */
  async release(
    decision: SpendDecision | DecideResult,
    reason: ReleaseReason,
    usage?: UsageTokens,
    options: OutcomeOptions = {},
  ): Promise<DecisionLogEntry<SpendDecision>> {
    if (usage) validateUsage(usage);
    const attempts = checkAttempts(options);
    const pending = this.#ledger.take(decision);
    return this.#tracked(this.#finish(pending, 'released', `released: ${reason}`, usage, attempts));
  }

  /** Keeps `outcome` in {@link #outcomes} while it runs, so {@link flush} waits for it. */
  #tracked<T>(outcome: Promise<T>): Promise<T> {
    this.#outcomes.add(outcome);
    const done = () => void this.#outcomes.delete(outcome);
    outcome.then(done, done);
    return outcome;
  }

  async #finish(pending: PendingDecision, kind: 'settled' | 'released', reason: string, reported: UsageTokens | undefined, attempts: number) {
    const d = pending.decision;
    const estimatedInput = d.estimatedInputTokens ?? 0;
    // The bound the call went out with: in shadow mode the request's own, not the one enforcement would have written.
    const sentOutput = Math.max(d.estimatedOutputTokens ?? 0, d.enforcementMode === 'enforce' ? 0 : (d.requestedMaxOutputTokens ?? 0));
    const perAttempt: UsageBound = { inputTokens: estimatedInput, outputTokens: sentOutput };
    const bound: UsageBound = {
      inputTokens: Math.max(estimatedInput, this.#maxTokensPerCall),
      outputTokens: pending.outputUnbounded ? Math.max(sentOutput, this.#maxTokensPerCall) : sentOutput,
    };
    const reasons = [reason];
    const fields: Partial<SpendDecision> = {};
    let usage = reported;
    if (reported) {
      const capped = capUsage(reported, bound);
      usage = capped.usage;
      if (capped.excess.inputTokens !== undefined) {
        fields.reportedInputTokens = capped.excess.inputTokens;
        reasons.push(`usage capped: ${capped.excess.inputTokens} input tokens reported, above the call's bound of ${bound.inputTokens}`);
      }
      if (capped.excess.outputTokens !== undefined) {
        fields.reportedOutputTokens = capped.excess.outputTokens;
        reasons.push(`usage capped: ${capped.excess.outputTokens} output tokens reported, above the call's bound of ${bound.outputTokens}`);
      }
    }
    if (attempts > 0) {
      usage = addAttempts(usage, perAttempt, attempts);
      fields.unansweredAttempts = attempts;
      reasons.push(
        `charged ${attempts} unanswered attempt${attempts === 1 ? '' : 's'} at the projection (${perAttempt.inputTokens} input, ${perAttempt.outputTokens} output tokens each)`,
      );
    }
    const actualCents = usage ? nanocentsToCentsCeil(usageNanocents(this.#actualRates(pending, usage), usage)) : 0;
    const entry = await this.#ledger.finish(pending, { actualCents, kind, reasons, usage, fields, nowMs: this.#clock() });
    this.#metrics?.spend(entry.decision);
    return entry;
  }

  /**
   * Rates for the reported usage: the table is asked again with the actual input size,
   * since a long-context tier depends on it (the estimate only chose the projection's tier).
   */
  #actualRates(pending: PendingDecision, usage: UsageTokens): TokenRates {
    if (!pending.rates) return ZERO_RATES;
    const d = pending.decision;
    try {
      return checkedRates(this.#pricing, d.provider, d.modelResolved, usage.inputTokens) ?? pending.rates;
    } catch {
      // The table broke since the decision: settle at the rates the decision was priced with.
      return pending.rates;
    }
  }

  /**
   * Rotates the signing key without starting a new chain: appends a
   * `signer_change` entry naming `newKeys.publicKey`, signed by the outgoing
   * key, and signs every later entry (outcomes of calls already in flight
   * included) with `newKeys`. Verify the log afterwards with the FIRST public
   * key (or `trustedKeys`); the verifier follows the rotation. Keep the new
   * seed where the next start of the process will load it.
   */
  async rotateSigningKey(newKeys: SigningKeys, reason: string): Promise<DecisionLogEntry<SignerChangeDecision>> {
    if (!newKeys?.privateKey || !newKeys.publicKey) throw new TypeError('rotateSigningKey: newKeys needs privateKey and publicKey');
    if (!Buffer.from(publicKeyFromSeed(newKeys.privateKey)).equals(Buffer.from(newKeys.publicKey))) {
      throw new TypeError('rotateSigningKey: newKeys.publicKey is not the public key of newKeys.privateKey');
    }
    await this.#ledger.chain();
    return this.#ledger.rotate(newKeys, reason, this.#clock());
  }
}

function checkAttempts(options: OutcomeOptions): number {
  const n = options?.unansweredAttempts ?? 0;
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`unansweredAttempts: expected a non-negative integer, got ${JSON.stringify(n)}`);
  return n;
}
