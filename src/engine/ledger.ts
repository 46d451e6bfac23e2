import { randomUUID } from 'node:crypto';
import { ChainWriter, type DecisionLogEntry } from '../audit/chain.js';
import type { SpendAction, SpendDecision } from '../audit/decision.js';
import { AgentGuardError } from '../audit/errors.js';
import type { SigningKeys } from '../audit/keys.js';
import type { SignerChangeDecision } from '../audit/rotation.js';
import { createSigner, type SignerBackend } from '../audit/signer.js';
import { SigningQueue } from '../audit/signing-queue.js';
import type { DecisionLogStore } from './log-store.js';
import type { Plan } from './planner.js';
import type { TokenRates, UsageTokens } from './pricing.js';
import type { SpendStore, WindowHold } from './spend-store.js';

/** What the adapter must do with the call, and the signed receipt. */
export interface DecideResult {
  /**
   * `block`: throw before the provider is contacted. `downgrade`: call
   * `modelResolved` instead. `allow` / `shadow`: send the call with this
   * model and output bound.
   */
  action: SpendAction;
  /** The model to call. */
  modelResolved: string;
  /**
   * The output bound to send: the request's own, or lower when a
   * `clampMaxTokens` cap clamped it or the guard set a default bound for a call
   * that sent none (`decision.outputBoundSetByGuard`); adapters write it into
   * the request (`max_tokens`) whenever it differs from what the call sent.
   */
  maxOutputTokens: number;
  decision: SpendDecision;
  entry: DecisionLogEntry<SpendDecision>;
}

/** A decision whose call proceeds: settled or released later. */
export interface PendingDecision {
  readonly decision: SpendDecision;
  /** Rates the call was priced at (null: unpriced, settled at zero). */
  readonly rates: TokenRates | null;
  readonly holds: readonly Pick<WindowHold, 'key' | 'expiresAtMs'>[];
  /** Index into `holds` of the window the decision reported, or -1. */
  readonly reportHold: number;
  /** The reported window's value when this call does not charge it; null when no window was reported. */
  readonly reportFixed: number | null;
  readonly deadlineMs: number;
  /** The call went out without an output bound: the provider's own maximum applies. */
  readonly outputUnbounded?: boolean;
}

/** What the ledger needs. */
export interface LedgerConfig {
  spendStore: SpendStore;
  logStore: DecisionLogStore;
  signingKeys: SigningKeys;
  signerBackend?: SignerBackend | undefined;
  /** How long an unsettled reservation is held. */
  reservationTtlMs: number;
  /** Name of the price table, recorded as `costBasis`. */
  costBasis: string;
}

/**
 * How long a decision stays settleable. Longer than the reservation TTL: a call
 * that outlives its hold (a long stream) still settles its real cost, which the
 * store then adds to the live windows.
 */
const PENDING_RETENTION_MS = 24 * 3_600_000;

/**
 * Entries signed off the caller's thread that may wait to be handed to the log
 * store before a new decision waits for them (the store is slower than the calls).
 */
const MAX_SIGNING_BACKLOG = 8192;

/**
 * The signed record of decisions: appends each decision to the hash chain and
 * the log store, keeps the calls that proceed pending, appends their outcome
 * (settled or released) and gives budgets back when an entry cannot be logged.
 */
export class DecisionLedger {
  readonly #config: LedgerConfig;
  readonly #pending = new Map<string, PendingDecision>();
  #signingKeys: SigningKeys;
  #chain: ChainWriter | null = null;
  #ready: Promise<ChainWriter> | null = null;
  /** Set when the log store takes entries after their calls proceed: entries are signed off the caller's thread. */
  readonly #signing: SigningQueue | null;

  constructor(config: LedgerConfig) {
    this.#config = config;
    this.#signingKeys = config.signingKeys;
    const store = config.logStore;
    this.#signing = store.acceptsDeferred === true ? new SigningQueue((entry) => store.append(entry)) : null;
  }

  /**
   * Whether entries are signed off the caller's thread and handed to the log
   * store after the call proceeds (a store with `acceptsDeferred`): outcomes
   * can then be settled after the caller resumes.
   */
  get signsOffThread(): boolean {
    return this.#signing !== null;
  }

  /** The entries signed off the caller's thread so far that the signing thread signed (the rest fell back to this thread). */
  get signedOffThread(): number {
    return this.#signing?.signedOffThread ?? 0;
  }

  /**
   * Resolves once every entry recorded so far is signed and handed to the log
   * store (its `append` resolved). Rejects when a hand-over failed meanwhile
   * (the entries stay queued and are handed over again).
   */
  flush(): Promise<void> {
    return this.#signing ? this.#signing.flush() : Promise.resolve();
  }

  /** For a process that is exiting: signs what is pending here and hands it to the log store synchronously. */
  flushSync(): void {
    this.#signing?.drainSync();
  }

  /** Decisions recorded whose calls proceeded and are not yet settled or released. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * The chain writer, resumed from the log store's head on first use. The hot
   * paths read `#chain` first and await this only while the log is opening:
   * awaiting a ready value still costs a promise and a turn of the microtask
   * queue per call. A synchronous store's `append` is awaited only when it
   * returns a promise, for the same reason.
   */
  chain(): Promise<ChainWriter> | ChainWriter {
    if (this.#chain) return this.#chain;
    this.#ready ??= (async () => {
      const head = await this.#config.logStore.head();
      const signer = createSigner(this.#signingKeys, this.#config.signerBackend);
      this.#chain = new ChainWriter(signer, head);
      // A store that signs checkpoints (the file store) needs the chain's key.
      this.#config.logStore.attachSigner?.(signer);
      return this.#chain;
    })();
    return this.#ready;
  }

  /**
   * Signs and logs a planned decision. A plan with a reservation has it held
   * under `decisionId`; it is given back if the decision cannot be logged.
   */
  async record(plan: Plan, decisionId: string, nowMs: number, call: { outputUnbounded?: boolean } = {}): Promise<DecideResult> {
    const reserved = plan.reservation !== null;
    const chain = this.#chain ?? (await this.chain());
    const decision: SpendDecision = {
      entryType: 'decision',
      decisionId,
      timestamp: new Date(nowMs).toISOString(),
      ...plan.decision,
      costBasis: this.#config.costBasis,
    };
    const holds = reserved && plan.reservation ? plan.reservation.holds.map(({ key, expiresAtMs }) => ({ key, expiresAtMs })) : [];
    const giveBack = () =>
      reserved
        ? this.#config.spendStore.settle({ reservationId: decisionId, holds, actualCents: 0, nowMs }).then(
            () => undefined,
            () => undefined,
          )
        : undefined;
    const signing = this.#signing;
    if (signing?.deliveryError) {
      // The log store is refusing entries: as with a store that rejects, the call does not proceed.
      await giveBack();
      throw new AgentGuardError(`decision log append failed: ${signing.deliveryError.message}`, { cause: signing.deliveryError });
    }
    const previousHead = chain.head;
    let entry: DecisionLogEntry<SpendDecision>;
    try {
      // Off-thread signing: hashed and linked now (the entry hash is final), signed in a batch later.
      entry = signing ? chain.link(decision) : chain.append(decision);
    } catch (err) {
      // A decision that cannot be signed (e.g. not canonicalizable) must not keep its hold.
      await giveBack();
      throw err;
    }
    // Every call that proceeds is pending until settled or released.
    if (plan.action !== 'block') {
      const deadlineMs = nowMs + Math.max(this.#config.reservationTtlMs, PENDING_RETENTION_MS);
      this.#pending.set(decisionId, {
        decision,
        rates: plan.rates,
        holds,
        reportHold: reserved ? plan.reportHold : -1,
        reportFixed: plan.reportFixed,
        deadlineMs,
        ...(call.outputUnbounded ? { outputUnbounded: true } : {}),
      });
      if (this.#pending.size % 1024 === 0) this.#dropStalePending(nowMs);
    }
    if (signing) {
      signing.push(entry, chain.signer);
      if (signing.backlog > MAX_SIGNING_BACKLOG) await signing.flush().catch(() => undefined);
      return { action: plan.action, modelResolved: plan.modelResolved, maxOutputTokens: plan.maxOutputTokens, decision, entry };
    }
    try {
      const appended = this.#config.logStore.append(entry);
      if (appended) await appended;
    } catch (err) {
      // Unlogged calls must not proceed: give the budget back and fail the call,
      // and keep the chain linked to the last entry the log actually holds.
      chain.rewind(entry, previousHead);
      if (this.#pending.delete(decisionId)) await giveBack();
      throw new AgentGuardError(`decision log append failed: ${(err as Error).message}`, { cause: err });
    }
    return { action: plan.action, modelResolved: plan.modelResolved, maxOutputTokens: plan.maxOutputTokens, decision, entry };
  }

  /** Removes and returns a pending decision; throws when there is none to settle. */
  take(decision: SpendDecision | DecideResult): PendingDecision {
    const d = 'decision' in decision && 'entry' in decision ? decision.decision : (decision as SpendDecision);
    const pending = this.#pending.get(d.decisionId);
    if (!pending) {
      throw new AgentGuardError(
        d.action === 'block' && d.enforcementMode === 'enforce'
          ? `decision ${d.decisionId} was a block: nothing was reserved, nothing to settle`
          : `decision ${d.decisionId} is not pending (already settled or released, or not made by this guard)`,
      );
    }
    this.#pending.delete(d.decisionId);
    return pending;
  }

  /**
   * Replaces a pending decision's reservation with `actualCents` and appends
   * its signed `outcome` entry. A spend store that fails to settle is retried
   * ({@link SETTLE_RETRY_DELAYS_MS}); if it still fails, the outcome is logged
   * all the same, saying so in its reasons (the window keeps the reservation
   * until it expires, and the actual cost is in the log).
   */
  async finish(
    pending: PendingDecision,
    outcome: {
      actualCents: number;
      kind: 'settled' | 'released';
      reasons: string[];
      usage?: UsageTokens | undefined;
      fields?: Partial<SpendDecision>;
      nowMs: number;
    },
  ) {
    const chain = this.#chain ?? (await this.chain());
    const { actualCents, nowMs, usage } = outcome;
    const original = pending.decision;
    const reasons = [...outcome.reasons];
    const settled = await settleWithRetry(this.#config.spendStore, { reservationId: original.decisionId, holds: [...pending.holds], actualCents, nowMs });
    let spendAfter: number;
    if ('after' in settled) {
      spendAfter =
        pending.reportHold >= 0 && pending.reportHold < settled.after.length ? settled.after[pending.reportHold]! : (pending.reportFixed ?? actualCents);
    } else {
      spendAfter = original.windowSpendAfter;
      reasons.push(
        `spend store did not settle after ${SETTLE_RETRY_DELAYS_MS.length + 1} attempts (${errorClass(settled.error)}): the window keeps the reservation of ${original.projectedCents}c until it expires`,
      );
    }
    const decision: SpendDecision = {
      entryType: 'outcome',
      decisionId: randomUUID(),
      originalDecisionId: original.decisionId,
      outcome: outcome.kind,
      timestamp: new Date(nowMs).toISOString(),
      action: original.action,
      triggeredCap: null,
      triggeredScopeKey: original.triggeredScopeKey,
      projectedCents: original.projectedCents,
      windowSpendBefore: original.windowSpendAfter,
      windowSpendAfter: spendAfter,
      provider: original.provider,
      modelRequested: original.modelRequested,
      modelResolved: original.modelResolved,
      policyId: original.policyId,
      policyVersion: original.policyVersion,
      enforcementMode: original.enforcementMode,
      reasons,
      costBasis: this.#config.costBasis,
      ...(usage ? usageFields(usage) : {}),
      ...outcome.fields,
      actualCents,
      deltaCents: actualCents - original.projectedCents,
      // A copy: two signed entries must not share a mutable object.
      ...(original.actor ? { actor: { ...original.actor } } : {}),
      ...(original.traceId ? { traceId: original.traceId } : {}),
      ...(original.spanId ? { spanId: original.spanId } : {}),
    };
    if (this.#signing) {
      // Handed to the store once signed, in chain order; a store refusing it is retried (the call already happened).
      const entry = chain.link(decision);
      this.#signing.push(entry, chain.signer);
      return entry;
    }
    const previousHead = chain.head;
    const entry = chain.append(decision);
    try {
      const appended = this.#config.logStore.append(entry);
      if (appended) await appended;
    } catch (err) {
      chain.rewind(entry, previousHead);
      throw new AgentGuardError(`decision log append failed: ${(err as Error).message}`, { cause: err });
    }
    return entry;
  }

  /**
   * Appends a `signer_change` entry signed by the outgoing key and signs every
   * later entry with `newKeys` (see `SpendGuard.rotateSigningKey`).
   */
  async rotate(newKeys: SigningKeys, reason: string, nowMs: number): Promise<DecisionLogEntry<SignerChangeDecision>> {
    const chain = this.#chain ?? (await this.chain());
    const signer = createSigner(newKeys, this.#config.signerBackend);
    const outgoing = chain.signer;
    const entry = chain.rotate(signer, reason, nowMs, { signLater: this.#signing !== null });
    this.#signingKeys = newKeys;
    if (this.#signing) {
      // Signed by the outgoing key like every entry before it; returned once signed and handed over.
      // The store gets the incoming key right after the signer_change entry, as when signing here.
      this.#signing.push(entry, outgoing, () => this.#config.logStore.attachSigner?.(signer));
      try {
        await this.#signing.flush();
      } catch (err) {
        throw new AgentGuardError(`decision log append failed for the signer_change entry at sequence ${entry.sequence}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      return entry;
    }
    try {
      const appended = this.#config.logStore.append(entry);
      // After the signer_change entry is handed over, so a checkpointing store
      // signs everything up to it with the outgoing key.
      this.#config.logStore.attachSigner?.(signer);
      await appended;
    } catch (err) {
      throw new AgentGuardError(`decision log append failed for the signer_change entry at sequence ${entry.sequence}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return entry;
  }

  /** Forgets pending decisions past their deadline (the store already gave the budget back). */
  #dropStalePending(nowMs: number): void {
    for (const [id, p] of this.#pending) if (p.deadlineMs <= nowMs) this.#pending.delete(id);
  }
}

/** Waits before each retry of a failed spend-store settlement (three retries, about 0.9 s in all). */
export const SETTLE_RETRY_DELAYS_MS: readonly number[] = [50, 200, 650];

async function settleWithRetry(store: SpendStore, request: Parameters<SpendStore['settle']>[0]): Promise<{ after: number[] } | { error: unknown }> {
  let error: unknown;
  for (let attempt = 0; attempt <= SETTLE_RETRY_DELAYS_MS.length; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, SETTLE_RETRY_DELAYS_MS[attempt - 1]));
    try {
      const { after } = await store.settle({ ...request, holds: [...request.holds] });
      return { after };
    } catch (err) {
      error = err;
    }
  }
  return { error };
}

/** Only the error's class goes into a signed entry: a store's message can carry a URL or a path. */
function errorClass(err: unknown): string {
  const name = (err as { name?: unknown } | null)?.name;
  return typeof name === 'string' && /^[A-Za-z_$][\w$]{0,63}$/.test(name) ? name : 'Error';
}

function usageFields(usage: UsageTokens): Partial<SpendDecision> {
  return {
    actualInputTokens: usage.inputTokens,
    actualOutputTokens: usage.outputTokens,
    ...(usage.cachedInputTokens !== undefined ? { actualCachedInputTokens: usage.cachedInputTokens } : {}),
    ...(usage.cacheWriteTokens !== undefined ? { actualCacheWriteTokens: usage.cacheWriteTokens } : {}),
    ...(usage.reasoningTokens !== undefined ? { actualReasoningTokens: usage.reasoningTokens } : {}),
  };
}
