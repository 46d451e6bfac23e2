import { randomUUID } from 'node:crypto';
import { capabilitySatisfies, CAPABILITY_TIERS, type CapabilityTier } from './capability.js';
import { ChainWriter, type DecisionLogEntry } from '../audit/chain.js';
import type { EnforcementMode, SpendAction, SpendDecision, TriggeredCap } from '../audit/decision.js';
import { AgentGuardError } from '../audit/errors.js';
import { InMemoryDecisionLogStore, type DecisionLogStore } from './log-store.js';
import { InMemorySpendStore } from './memory-spend-store.js';
import { SCOPE_FIELDS, type SpendCap, type SpendPolicy, type SpendScope } from './policy.js';
import {
  GenaiPricesTable,
  nanocentsToCentsCeil,
  NANOCENTS_PER_CENT,
  OverridePriceTable,
  projectNanocents,
  usageNanocents,
  type ModelPriceUsd,
  type PriceTable,
  type TokenRates,
  type UsageTokens,
} from './pricing.js';
import { publicKeyFromSeed, type SigningKeys } from '../audit/keys.js';
import { SpendMetrics, type SpendMetricsOptions } from './metrics.js';
import type { SignerChangeDecision } from '../audit/rotation.js';
import { createSigner, type SignerBackend } from '../audit/signer.js';
import type { SpendStore, WindowHold } from './spend-store.js';
import { sharedWindowAt } from './windows.js';

/** A provider call, described without any provider SDK type. */
export interface CallRequest {
  /** `openai`, `anthropic`, `bedrock`, or another name the price table knows. */
  provider: string;
  model: string;
  scope: SpendScope;
  capabilityClaim?: CapabilityTier;
  /** Pre-call estimate of input tokens (the adapter's tokenizer or byte estimate). */
  estimatedInputTokens: number;
  /** The call's output bound (max_tokens); the worst case is priced at it. */
  maxOutputTokens: number;
  stream?: boolean;
  traceId?: string;
  spanId?: string;
}

/** What the adapter must do with the call, and the signed receipt. */
export interface DecideResult {
  /**
   * `block`: throw before the provider is contacted. `downgrade`: call
   * `modelResolved` instead. `allow` / `shadow`: send the call unchanged.
   */
  action: SpendAction;
  /** The model to call. */
  modelResolved: string;
  /**
   * The output bound to send: the request's own, or lower when a
   * `clampMaxTokens` cap clamped it (adapters rewrite `max_tokens` then).
   */
  maxOutputTokens: number;
  decision: SpendDecision;
  entry: DecisionLogEntry<SpendDecision>;
}

/** Price configuration: a table, per-model overrides over it, or both. */
export interface PricingConfig {
  table?: PriceTable;
  overrides?: Record<string, Record<string, ModelPriceUsd>>;
}

/** Everything a {@link SpendGuard} needs. */
export interface SpendGuardConfig {
  policy?: SpendPolicy;
  policies?: SpendPolicy[];
  /** Window counters (default: in this process's memory). */
  spendStore?: SpendStore;
  /** Where signed entries go (default: in memory). */
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
  signerBackend?: SignerBackend;
  /** OpenTelemetry metrics (default on; a no-op without a MeterProvider). `false` turns them off. */
  metrics?: SpendMetricsOptions | false;
}

/** Why a call failed, for {@link SpendGuard.release}. */
export type ReleaseReason = string;

interface CapRef {
  policy: SpendPolicy;
  cap: SpendCap;
  enforce: boolean;
  /** Counter key; for `per_call` caps the key names the scope only. */
  key: string;
  /** Index into the holds array, or -1 for per_call caps. */
  hold: number;
  expiresAtMs: number;
}

interface Pending {
  decision: SpendDecision;
  rates: TokenRates | null;
  holds: Pick<WindowHold, 'key' | 'expiresAtMs'>[];
  reportKey: number;
  deadlineMs: number;
}

const ACTION_RANK: Record<SpendAction, number> = { allow: 0, shadow: 1, downgrade: 2, block: 3 };
const ZERO_RATES: TokenRates = { input: 0, output: 0, cachedInput: 0, cacheWrite: 0, reasoning: 0 };
const DEFAULT_TTL_MS = 15 * 60_000;
/**
 * How long a decision stays settleable. Longer than the reservation TTL: a call
 * that outlives its hold (a long stream) still settles its real cost, which the
 * store then adds to the live windows.
 */
const PENDING_RETENTION_MS = 24 * 3_600_000;

/**
 * The engine: decides every call against the policies, reserves its worst-case
 * cost atomically in every window that applies, signs the decision into the
 * hash chain, and settles the reservation to the provider's reported usage.
 * Knows no provider SDK; adapters translate calls to {@link CallRequest}.
 */
export class SpendGuard {
  #policies: SpendPolicy[];
  readonly #spendStore: SpendStore;
  readonly #logStore: DecisionLogStore;
  readonly #pricing: PriceTable;
  readonly #clock: () => number;
  readonly #onUnknownModel: 'block' | 'allow';
  readonly #modeOverride: EnforcementMode | undefined;
  readonly #ttlMs: number;
  readonly #signerBackend: SignerBackend | undefined;
  #signingKeys: SigningKeys;
  readonly #pending = new Map<string, Pending>();
  readonly #metrics: SpendMetrics | null;
  #chain: ChainWriter | null = null;
  #ready: Promise<ChainWriter> | null = null;

  constructor(config: SpendGuardConfig) {
    if (!config || !config.signingKeys) throw new TypeError('SpendGuardConfig.signingKeys is required');
    this.#policies = collectPolicies(config);
    this.#spendStore = config.spendStore ?? new InMemorySpendStore();
    this.#logStore = config.logStore ?? new InMemoryDecisionLogStore();
    this.#pricing = resolvePricing(config.pricing);
    this.#clock = config.clock ?? Date.now;
    this.#onUnknownModel = config.onUnknownModel ?? 'block';
    this.#modeOverride = config.modeOverride;
    this.#ttlMs = config.reservationTtlMs ?? DEFAULT_TTL_MS;
    this.#signerBackend = config.signerBackend;
    this.#signingKeys = config.signingKeys;
    this.#metrics = config.metrics === false ? null : new SpendMetrics(config.metrics);
  }

  /** The policies in force. */
  get policies(): readonly SpendPolicy[] {
    return this.#policies;
  }

  /** Replaces the policies for the next decisions (already validated by `parsePolicies`). */
  setPolicies(policies: SpendPolicy[]): void {
    this.#policies = [...policies];
  }

  /** The price table's name, recorded as `costBasis`. */
  get costBasis(): string {
    return this.#pricing.basis;
  }

  /** Decides a call, reserves its worst case, signs and logs the decision. */
  async decide(request: CallRequest): Promise<DecideResult> {
    const started = performance.now();
    const result = await this.#decide(request);
    this.#metrics?.decision(result.decision, (performance.now() - started) / 1000);
    return result;
  }

  async #decide(request: CallRequest): Promise<DecideResult> {
    validateRequest(request);
    const chain = await this.#chainWriter();
    const nowMs = this.#clock();
    const decisionId = randomUUID();
    const applicable = this.#policies.filter((p) => Date.parse(p.effectiveFrom) <= nowMs && scopeMatches(p.scope, request));
    const isEnforced = (p: SpendPolicy) => this.#modeOverride !== 'shadow' && p.mode === 'enforce';
    // With no policy in scope the configured mode still holds: an unknown model fails closed in enforce.
    const enforcementMode: EnforcementMode =
      this.#modeOverride === 'shadow' ? 'shadow' : applicable.length === 0 || applicable.some(isEnforced) ? 'enforce' : 'shadow';
    const reasons: string[] = [];
    const shadowFires: { cap: TriggeredCap; key: string | null; rank: number; policy?: SpendPolicy }[] = [];
    // The reasons behind a block go first: AgentGuardBlockedError shows reasons[0].
    const capabilityReasons: string[] = [];

    // Capability gate: before anything is priced or reserved.
    let capabilityBlock: SpendPolicy | undefined;
    for (const p of applicable) {
      if (p.requiredCapability && !capabilitySatisfies(request.capabilityClaim, p.requiredCapability)) {
        const why = `capability: policy ${p.id} requires ${p.requiredCapability}, call claims ${request.capabilityClaim ?? 'nothing'}`;
        if (isEnforced(p)) {
          capabilityBlock ??= p;
          capabilityReasons.push(why);
        } else {
          reasons.push(`shadow: would block: ${why}`);
          shadowFires.push({ cap: { amountCents: 0, window: 'per_call', action: 'block', reason: why }, key: null, rank: ACTION_RANK.block, policy: p });
        }
      }
    }

    const base = {
      nowMs,
      decisionId,
      request,
      applicable,
      enforcementMode,
      reasons,
    };

    reasons.unshift(...capabilityReasons);
    let rates = this.#rates(request.provider, request.model, request.estimatedInputTokens);
    if (!rates) {
      const why = `unknown model: no price for ${request.provider}/${request.model} in ${this.#pricing.basis}`;
      if (enforcementMode === 'enforce' && this.#onUnknownModel === 'block') {
        reasons.unshift(why);
        return this.#record(chain, { ...base, action: 'block', model: request.model, projectedCents: 0, triggered: null, triggeredKey: null, spend: [0, 0], rates: null, holds: [], reportKey: -1 });
      }
      reasons.push(why);
      if (applicable.length > 0 && this.#onUnknownModel === 'block') {
        // Shadow: enforce would have failed closed; record that as the would-be action.
        shadowFires.push({ cap: { amountCents: 0, window: 'per_call', action: 'block', reason: 'unknown model' }, key: null, rank: ACTION_RANK.block });
      }
    }
    const projectedAt = (r: TokenRates | null) => nanocentsToCentsCeil(projectNanocents(r ?? ZERO_RATES, request.estimatedInputTokens, request.maxOutputTokens));
    const projected = projectedAt(rates);

    if (capabilityBlock) {
      return this.#record(chain, { ...base, policy: capabilityBlock, action: 'block', model: request.model, projectedCents: projected, triggered: null, triggeredKey: `capability:${capabilityBlock.id}`, spend: [0, 0], rates, holds: [], reportKey: -1 });
    }

    const caps = this.#capRefs(applicable, request, nowMs, isEnforced);
    const holds = caps.filter((c) => c.hold >= 0).map((c) => ({ key: c.key, expiresAtMs: c.expiresAtMs }));

    // A block that every firing cap allows to clamp: lower the output bound until the worst case fits.
    let maxOutputTokens = request.maxOutputTokens;
    const tryClamp = async (fired: CapRef[], before: number[], r: TokenRates | null, soft: boolean) => {
      if (!r || fired.length === 0 || !fired.every((c) => c.cap.action === 'block' && c.cap.clampMaxTokens)) return null;
      const outRate = Math.max(r.output, r.reasoning);
      if (outRate === 0) return null;
      const remaining = Math.min(...fired.map((c) => c.cap.amountCents - (c.hold >= 0 ? before[c.hold] ?? 0 : 0)));
      const fitting = Math.floor((remaining * NANOCENTS_PER_CENT - request.estimatedInputTokens * r.input) / outRate);
      const minimum = Math.max(...fired.map((c) => c.cap.clampMinTokens ?? 1));
      if (fitting < minimum || fitting >= request.maxOutputTokens) return null;
      const clampedCents = nanocentsToCentsCeil(projectNanocents(r, request.estimatedInputTokens, fitting));
      const retry = await this.#attempt(decisionId, caps, holds, clampedCents, nowMs, soft);
      if (!retry.ok) return null;
      maxOutputTokens = fitting;
      reasons.push(`clamped max output tokens ${request.maxOutputTokens} → ${fitting}: ${fired.map(capReason).join('; ')}`);
      return { attempt: retry, cents: clampedCents, decider: fired[0]! };
    };

    // First attempt at the requested model: block and downgrade caps are hard limits.
    let model = request.model;
    let cents = projected;
    let attempt = await this.#attempt(decisionId, caps, holds, cents, nowMs, false);
    let action: SpendAction = 'allow' as SpendAction;
    let decider: CapRef | undefined;

    if (!attempt.ok) {
      const block = attempt.fired.find((c) => c.cap.action === 'block');
      decider = block ?? attempt.fired[0]!;
      const clamped = block ? await tryClamp(attempt.fired, attempt.before, rates, false) : null;
      if (clamped) {
        ({ attempt, cents, decider } = clamped);
      } else if (block) {
        action = 'block';
        reasons.unshift(...attempt.fired.map((c) => `${c.cap.action}: ${capReason(c)}`));
      } else {
        // Only downgrade caps fired: retry at the cheaper model, where they no longer bind.
        const target = decider.cap.downgradeTo!;
        reasons.push(`downgrade to ${target}: ${capReason(decider)}`);
        const targetRates = target === request.model ? rates : this.#rates(request.provider, target, request.estimatedInputTokens);
        if (!targetRates && rates) {
          reasons.unshift(`unknown model: no price for downgrade target ${request.provider}/${target}; blocking`);
          action = 'block';
        } else {
          model = target;
          rates = targetRates;
          cents = projectedAt(targetRates);
          attempt = await this.#attempt(decisionId, caps, holds, cents, nowMs, true);
          const clamped = attempt.ok ? null : await tryClamp(attempt.fired, attempt.before, targetRates, true);
          if (clamped) ({ attempt, cents } = clamped);
          if (attempt.ok) {
            action = target === request.model ? 'allow' : 'downgrade';
          } else {
            action = 'block';
            decider = attempt.fired[0]!;
            reasons.unshift(...attempt.fired.map((c) => `${c.cap.action}: ${capReason(c)}`));
          }
        }
      }
    }

    const before = attempt.before;
    const reserved = attempt.ok;
    // Caps that do not bind (shadow policies, shadow/allow caps) are evaluated for the record.
    for (const c of caps) {
      const binding = c.enforce && (c.cap.action === 'block' || c.cap.action === 'downgrade');
      if (binding) continue;
      const spent = c.hold >= 0 ? before[c.hold] ?? 0 : 0;
      if (spent + cents <= c.cap.amountCents) continue;
      const would: SpendAction = c.enforce ? (c.cap.action === 'allow' ? 'allow' : 'shadow') : c.cap.action;
      reasons.push(`${c.enforce ? c.cap.action : `shadow: would ${c.cap.action}`}: ${capReason(c)}`);
      shadowFires.push({ cap: triggeredCapOf(c.cap), key: c.key, rank: ACTION_RANK[would], policy: c.policy });
    }

    let finalAction = action;
    let triggered: TriggeredCap | null = decider ? triggeredCapOf(decider.cap) : null;
    let triggeredKey: string | null = decider ? decider.key : null;
    let decidingPolicy: SpendPolicy | undefined = decider?.policy;
    const strongestShadow = shadowFires.reduce<(typeof shadowFires)[number] | undefined>((a, b) => (!a || b.rank > a.rank ? b : a), undefined);
    if (action === 'allow' && strongestShadow && strongestShadow.rank > 0) {
      finalAction = enforcementMode === 'shadow' ? (Object.keys(ACTION_RANK) as SpendAction[]).find((k) => ACTION_RANK[k] === strongestShadow.rank)! : 'shadow';
      triggered = strongestShadow.cap;
      triggeredKey = strongestShadow.key;
      decidingPolicy = strongestShadow.policy;
    }
    if (reasons.length === 0) reasons.push(`within all caps (projected ${cents}c, model ${model})`);

    // For the report: the projected cost on the other side of a downgrade, so
    // savings can be computed from the log alone.
    const alt: Partial<SpendDecision> = {};
    if (action === 'downgrade') alt.projectedCentsRequested = projected;
    // A downgrade that fired but was not applied (shadow mode or a shadow policy).
    const unapplied = action === 'allow' && triggered !== null && triggered === strongestShadow?.cap ? triggered : null;
    if (unapplied?.action === 'downgrade' && unapplied.downgradeTo) {
      const targetRates = this.#rates(request.provider, unapplied.downgradeTo, request.estimatedInputTokens);
      if (targetRates) alt.projectedCentsIfEnforced = projectedAt(targetRates);
    }

    // A blocked call sends nothing: it is recorded as asked (requested model and its
    // projection), even when a downgrade was tried before a hard cap blocked it.
    if (action === 'block') {
      model = request.model;
      cents = projected;
    }
    const reportKey = decider && decider.hold >= 0 ? decider.hold : tightestHold(caps, before, cents);
    const spentBefore = reportKey >= 0 ? before[reportKey] ?? 0 : 0;
    const spend: [number, number] = [spentBefore, reserved ? spentBefore + cents : spentBefore];
    return this.#record(chain, { ...base, policy: decidingPolicy, action: finalAction, model, projectedCents: cents, triggered, triggeredKey, spend, rates, holds: reserved ? holds : [], reportKey, reserved, maxOutputTokens, alt });
  }

  /**
   * Settles a decision with the provider's reported usage: the reservation is
   * replaced by the actual cost and a signed `outcome` entry is appended.
   */
  async settle(decision: SpendDecision | DecideResult, usage: UsageTokens): Promise<DecisionLogEntry<SpendDecision>> {
    validateUsage(usage);
    const pending = this.#takePending(decision);
    const nanocents = usageNanocents(this.#actualRates(pending, usage), usage);
    return this.#finish(pending, nanocentsToCentsCeil(nanocents), 'settled', ['settled from provider-reported usage'], usage);
  }

  /**
   * Gives back a decision's reservation when the call failed or was aborted
   * before usage was known, and records why in a signed `outcome` entry.
   * Usage the provider did report (e.g. a stream cut short) may be passed and is charged.
   */
  async release(decision: SpendDecision | DecideResult, reason: ReleaseReason, usage?: UsageTokens): Promise<DecisionLogEntry<SpendDecision>> {
    if (usage) validateUsage(usage);
    const pending = this.#takePending(decision);
    const cents = usage ? nanocentsToCentsCeil(usageNanocents(this.#actualRates(pending, usage), usage)) : 0;
    return this.#finish(pending, cents, 'released', [`released: ${reason}`], usage);
  }

  /**
   * Rates for the reported usage: the table is asked again with the actual input size,
   * since a long-context tier depends on it (the estimate only chose the projection's tier).
   */
  #actualRates(pending: Pending, usage: UsageTokens): TokenRates {
    if (!pending.rates) return ZERO_RATES;
    const d = pending.decision;
    try {
      return this.#rates(d.provider, d.modelResolved, usage.inputTokens) ?? pending.rates;
    } catch {
      // The table broke since the decision: settle at the rates the decision was priced with.
      return pending.rates;
    }
  }

  /**
   * The price table's rates, checked: a NaN or negative rate would reserve NaN
   * cents, which passes every cap comparison and poisons the window's counter.
   */
  #rates(provider: string, model: string, inputTokens: number): TokenRates | null {
    const rates = this.#pricing.rates(provider, model, inputTokens);
    if (!rates) return null;
    for (const field of ['input', 'output', 'cachedInput', 'cacheWrite', 'reasoning'] as const) {
      const v = rates[field];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
        throw new AgentGuardError(`price table ${this.#pricing.basis}: rates for ${provider}/${model}: ${field} is ${String(v)}, expected a non-negative integer of nanocents per token`);
      }
    }
    return rates;
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
    const chain = await this.#chainWriter();
    const signer = createSigner(newKeys, this.#signerBackend);
    const entry = chain.rotate(signer, reason, this.#clock());
    this.#signingKeys = newKeys;
    try {
      const appended = this.#logStore.append(entry);
      // After the signer_change entry is handed over, so a checkpointing store
      // signs everything up to it with the outgoing key.
      this.#logStore.attachSigner?.(signer);
      await appended;
    } catch (err) {
      throw new AgentGuardError(`decision log append failed for the signer_change entry at sequence ${entry.sequence}: ${(err as Error).message}`, { cause: err });
    }
    return entry;
  }

  /** Decisions reserved but not yet settled or released. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  async #finish(pending: Pending, actualCents: number, outcome: 'settled' | 'released', reasons: string[], usage?: UsageTokens) {
    const chain = await this.#chainWriter();
    const nowMs = this.#clock();
    const original = pending.decision;
    const { after } = await this.#spendStore.settle({ reservationId: original.decisionId, holds: pending.holds, actualCents, nowMs });
    const spendAfter = pending.reportKey >= 0 && pending.reportKey < after.length ? after[pending.reportKey]! : actualCents;
    const decision: SpendDecision = {
      entryType: 'outcome',
      decisionId: randomUUID(),
      originalDecisionId: original.decisionId,
      outcome,
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
      costBasis: this.#pricing.basis,
      ...(usage ? usageFields(usage) : {}),
      actualCents,
      deltaCents: actualCents - original.projectedCents,
      // A copy: two signed entries must not share a mutable object.
      ...(original.actor ? { actor: { ...original.actor } } : {}),
      ...(original.traceId ? { traceId: original.traceId } : {}),
      ...(original.spanId ? { spanId: original.spanId } : {}),
    };
    const previousHead = chain.head;
    const entry = chain.append(decision);
    try {
      await this.#logStore.append(entry);
    } catch (err) {
      chain.rewind(entry, previousHead);
      throw new AgentGuardError(`decision log append failed: ${(err as Error).message}`, { cause: err });
    }
    this.#metrics?.spend(decision);
    return entry;
  }

  #takePending(decision: SpendDecision | DecideResult): Pending {
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

  async #attempt(reservationId: string, caps: CapRef[], holdsBase: Pick<WindowHold, 'key' | 'expiresAtMs'>[], cents: number, nowMs: number, soft: boolean) {
    const binds = (c: CapRef) => c.enforce && (c.cap.action === 'block' || (c.cap.action === 'downgrade' && !soft));
    const perCallFired = caps.filter((c) => c.hold < 0 && binds(c) && cents > c.cap.amountCents);
    const holds: WindowHold[] = holdsBase.map((h) => ({ ...h, limitCents: null }));
    for (const c of caps) if (c.hold >= 0 && binds(c)) holds[c.hold]!.limitCents = Math.min(holds[c.hold]!.limitCents ?? Infinity, c.cap.amountCents);
    if (perCallFired.length > 0) {
      // Nothing is reserved, but window caps this call would pass fire too:
      // the most restrictive of all wins and every reason is recorded.
      const before = holds.length ? await this.#spendStore.read(holds.map((h) => h.key), nowMs) : [];
      const windowFired = caps.filter((c) => c.hold >= 0 && binds(c) && before[c.hold]! + cents > c.cap.amountCents);
      return { ok: false as const, before, fired: sortFired([...perCallFired, ...windowFired]) };
    }
    if (holds.length === 0) return { ok: true as const, before: [] as number[] };
    const result = await this.#spendStore.reserve({ reservationId, cents, holds, nowMs, ttlMs: this.#ttlMs });
    if (result.ok) return { ok: true as const, before: result.before };
    const exceeded = new Set(result.exceeded);
    const fired = caps.filter((c) => c.hold >= 0 && binds(c) && exceeded.has(c.hold) && result.before[c.hold]! + cents > c.cap.amountCents);
    return { ok: false as const, before: result.before, fired: sortFired(fired) };
  }

  #capRefs(applicable: SpendPolicy[], request: CallRequest, nowMs: number, isEnforced: (p: SpendPolicy) => boolean): CapRef[] {
    const refs: CapRef[] = [];
    const holdIndex = new Map<string, number>();
    for (const policy of applicable) {
      const enforce = isEnforced(policy);
      policy.caps.forEach((cap, i) => {
        const fields = cap.selector ?? SCOPE_FIELDS.filter((f) => policy.scope[f] !== undefined);
        // Values are URI-encoded so that no scope value (e.g. a tenant named `a,teamId=b`)
        // can spell another scope's key; a field the call does not set appears bare.
        const scopeKey = fields
          .map((f) => {
            const v = scopeValue(request, f);
            return v === undefined ? f : `${f}=${encodeURIComponent(v)}`;
          })
          .join(',');
        const capKey = `${policy.id}:${cap.id ?? i}|${scopeKey}`;
        if (cap.window === 'per_call') {
          refs.push({ policy, cap, enforce, key: `${capKey}|per_call`, hold: -1, expiresAtMs: nowMs });
          return;
        }
        const w = sharedWindowAt(cap.window, nowMs);
        const key = `${capKey}|${cap.window}@${w.label}`;
        let hold = holdIndex.get(key);
        if (hold === undefined) {
          hold = holdIndex.size;
          holdIndex.set(key, hold);
        }
        refs.push({ policy, cap, enforce, key, hold, expiresAtMs: w.endMs });
      });
    }
    return refs;
  }

  async #record(
    chain: ChainWriter,
    d: {
      nowMs: number;
      decisionId: string;
      request: CallRequest;
      applicable: SpendPolicy[];
      /** The policy that decided; defaults to the first that applied. */
      policy?: SpendPolicy | undefined;
      enforcementMode: EnforcementMode;
      reasons: string[];
      action: SpendAction;
      model: string;
      projectedCents: number;
      triggered: TriggeredCap | null;
      triggeredKey: string | null;
      spend: [number, number];
      rates: TokenRates | null;
      holds: Pick<WindowHold, 'key' | 'expiresAtMs'>[];
      reportKey: number;
      reserved?: boolean;
      maxOutputTokens?: number;
      /** Optional projected costs on the other side of a (would-be) downgrade. */
      alt?: Partial<Pick<SpendDecision, 'projectedCentsRequested' | 'projectedCentsIfEnforced'>>;
    },
  ): Promise<DecideResult> {
    const { request } = d;
    const policy = d.policy ?? d.applicable[0];
    const shadow = d.enforcementMode === 'shadow';
    const modelResolved = shadow ? request.model : d.model;
    const decision: SpendDecision = {
      entryType: 'decision',
      decisionId: d.decisionId,
      timestamp: new Date(d.nowMs).toISOString(),
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
      modelResolved,
      policyId: policy?.id ?? 'none',
      policyVersion: policy?.version ?? 0,
      enforcementMode: d.enforcementMode,
      reasons: d.reasons,
      costBasis: this.#pricing.basis,
      estimatedInputTokens: request.estimatedInputTokens,
      estimatedOutputTokens: d.maxOutputTokens ?? request.maxOutputTokens,
      ...(d.maxOutputTokens !== undefined && d.maxOutputTokens !== request.maxOutputTokens
        ? { requestedMaxOutputTokens: request.maxOutputTokens, clampedMaxOutputTokens: d.maxOutputTokens }
        : {}),
      actor: actorOf(request),
      ...(request.capabilityClaim ? { capabilityClaim: request.capabilityClaim } : {}),
      ...(request.traceId ? { traceId: request.traceId } : {}),
      ...(request.spanId ? { spanId: request.spanId } : {}),
    };
    const reserved = d.reserved ?? false;
    const previousHead = chain.head;
    let entry: DecisionLogEntry<SpendDecision>;
    try {
      entry = chain.append(decision);
    } catch (err) {
      // A decision that cannot be signed (e.g. not canonicalizable) must not keep its hold.
      if (reserved) await this.#spendStore.settle({ reservationId: d.decisionId, holds: d.holds, actualCents: 0, nowMs: d.nowMs }).catch(() => undefined);
      throw err;
    }
    const effective: SpendAction = shadow ? (d.action === 'allow' ? 'allow' : 'shadow') : d.action;
    // Every call that proceeds is pending until settled or released.
    if (effective !== 'block') {
      this.#pending.set(d.decisionId, { decision, rates: d.rates, holds: d.holds, reportKey: d.reportKey, deadlineMs: d.nowMs + Math.max(this.#ttlMs, PENDING_RETENTION_MS) });
      if (this.#pending.size % 1024 === 0) this.#dropStalePending(d.nowMs);
    }
    try {
      await this.#logStore.append(entry);
    } catch (err) {
      // Unlogged calls must not proceed: give the budget back and fail the call,
      // and keep the chain linked to the last entry the log actually holds.
      chain.rewind(entry, previousHead);
      if (this.#pending.delete(d.decisionId) && reserved) {
        await this.#spendStore.settle({ reservationId: d.decisionId, holds: d.holds, actualCents: 0, nowMs: d.nowMs }).catch(() => undefined);
      }
      throw new AgentGuardError(`decision log append failed: ${(err as Error).message}`, { cause: err });
    }
    // Shadow never changes a call, so a clamp is only recorded there.
    const maxOutputTokens = shadow ? request.maxOutputTokens : d.maxOutputTokens ?? request.maxOutputTokens;
    return { action: effective, modelResolved, maxOutputTokens, decision, entry };
  }

  /** Forgets pending decisions past their reservation's expiry (the store already gave the budget back). */
  #dropStalePending(nowMs: number): void {
    for (const [id, p] of this.#pending) if (p.deadlineMs <= nowMs) this.#pending.delete(id);
  }

  #chainWriter(): Promise<ChainWriter> | ChainWriter {
    if (this.#chain) return this.#chain;
    this.#ready ??= (async () => {
      const head = await this.#logStore.head();
      const signer = createSigner(this.#signingKeys, this.#signerBackend);
      this.#chain = new ChainWriter(signer, head);
      // A store that signs checkpoints (the file store) needs the chain's key.
      this.#logStore.attachSigner?.(signer);
      return this.#chain;
    })();
    return this.#ready;
  }
}

function collectPolicies(config: SpendGuardConfig): SpendPolicy[] {
  const list = [...(config.policy ? [config.policy] : []), ...(config.policies ?? [])];
  return list;
}

function resolvePricing(pricing: SpendGuardConfig['pricing']): PriceTable {
  if (pricing && 'rates' in pricing && typeof pricing.rates === 'function') return pricing as PriceTable;
  const cfg = (pricing ?? {}) as PricingConfig;
  const base = cfg.table ?? new GenaiPricesTable();
  return cfg.overrides ? new OverridePriceTable(cfg.overrides, base) : base;
}

function scopeValue(request: CallRequest, field: (typeof SCOPE_FIELDS)[number]): string | undefined {
  return field === 'provider' ? request.scope.provider ?? request.provider : request.scope[field];
}

function scopeMatches(policyScope: SpendScope, request: CallRequest): boolean {
  for (const f of SCOPE_FIELDS) {
    const want = policyScope[f];
    if (want !== undefined && scopeValue(request, f) !== want) return false;
  }
  return true;
}

function actorOf(request: CallRequest): Record<string, string> {
  const actor: Record<string, string> = {};
  for (const f of SCOPE_FIELDS) {
    const v = request.scope[f];
    if (v !== undefined) actor[f] = v;
  }
  return actor;
}

function triggeredCapOf(cap: SpendCap): TriggeredCap {
  return {
    amountCents: cap.amountCents,
    window: cap.window,
    action: cap.action,
    ...(cap.downgradeTo ? { downgradeTo: cap.downgradeTo } : {}),
    reason: cap.reason,
  };
}

function capReason(c: CapRef): string {
  return `${c.policy.id}/${c.cap.id ?? c.policy.caps.indexOf(c.cap)} ${c.cap.window} cap ${c.cap.amountCents}c: ${c.cap.reason}`;
}

/** Block caps first, then in policy order. */
function sortFired(fired: CapRef[]): CapRef[] {
  return [...fired].sort((a, b) => ACTION_RANK[b.cap.action] - ACTION_RANK[a.cap.action]);
}

/** The hold closest to its cap after this call, to report in the decision. */
function tightestHold(caps: CapRef[], before: number[], cents: number): number {
  let best = -1;
  let bestRatio = -1;
  for (const c of caps) {
    if (c.hold < 0) continue;
    const ratio = ((before[c.hold] ?? 0) + cents) / Math.max(1, c.cap.amountCents);
    if (ratio > bestRatio) {
      best = c.hold;
      bestRatio = ratio;
    }
  }
  return best;
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

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Every string of a request ends up in a signed decision: it must be canonicalizable. */
function checkString(v: unknown, field: string, nonEmpty = true): void {
  if (typeof v !== 'string' || (nonEmpty && !v)) throw new TypeError(`CallRequest.${field}: expected a ${nonEmpty ? 'non-empty ' : ''}string, got ${JSON.stringify(v)}`);
  if (!v.isWellFormed()) throw new TypeError(`CallRequest.${field}: lone surrogate in ${JSON.stringify(v)}`);
}

function validateRequest(r: CallRequest): void {
  if (!r || typeof r !== 'object') throw new TypeError('CallRequest: expected an object');
  checkString(r.provider, 'provider');
  checkString(r.model, 'model');
  if (!r.scope || typeof r.scope.tenantId !== 'string' || !r.scope.tenantId) throw new TypeError('CallRequest.scope.tenantId: expected a non-empty string');
  for (const f of SCOPE_FIELDS) if (r.scope[f] !== undefined) checkString(r.scope[f], `scope.${f}`);
  if (r.traceId !== undefined) checkString(r.traceId, 'traceId', false);
  if (r.spanId !== undefined) checkString(r.spanId, 'spanId', false);
  if (!isCount(r.estimatedInputTokens)) throw new TypeError(`CallRequest.estimatedInputTokens: expected a non-negative integer, got ${JSON.stringify(r.estimatedInputTokens)}`);
  if (!isCount(r.maxOutputTokens)) throw new TypeError(`CallRequest.maxOutputTokens: expected a non-negative integer, got ${JSON.stringify(r.maxOutputTokens)}`);
  if (r.capabilityClaim !== undefined && !CAPABILITY_TIERS.includes(r.capabilityClaim)) {
    throw new TypeError(`CallRequest.capabilityClaim: expected one of ${CAPABILITY_TIERS.join(', ')}, got ${JSON.stringify(r.capabilityClaim)}`);
  }
}

function validateUsage(u: UsageTokens): void {
  if (!u || typeof u !== 'object') throw new TypeError('usage: expected an object');
  for (const f of ['inputTokens', 'outputTokens'] as const) if (!isCount(u[f])) throw new TypeError(`usage.${f}: expected a non-negative integer, got ${JSON.stringify(u[f])}`);
  for (const f of ['cachedInputTokens', 'cacheWriteTokens', 'reasoningTokens'] as const) {
    if (u[f] !== undefined && !isCount(u[f])) throw new TypeError(`usage.${f}: expected a non-negative integer, got ${JSON.stringify(u[f])}`);
  }
  if ((u.cachedInputTokens ?? 0) + (u.cacheWriteTokens ?? 0) > u.inputTokens) {
    throw new TypeError('usage: cachedInputTokens + cacheWriteTokens exceed inputTokens (inputTokens must include cached and cache-write tokens)');
  }
  if ((u.reasoningTokens ?? 0) > u.outputTokens) throw new TypeError('usage.reasoningTokens: exceeds outputTokens (reasoning tokens are part of the output)');
}
