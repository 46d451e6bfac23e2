import { context, diag, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { CapabilityTier } from '../../src/engine/capability.js';
import type { DecisionLogEntry } from '../../src/audit/chain.js';
import type { SpendDecision } from '../../src/audit/decision.js';
import { AgentGuardError } from '../../src/audit/errors.js';
import { AgentGuardBlockedError } from '../../src/engine/errors.js';
import type { CallRequest, DecideResult, SpendGuard } from '../../src/engine/guard.js';
import type { SpendScope } from '../../src/engine/policy.js';
import type { UsageTokens } from '../../src/engine/pricing.js';
import { ATTR, GEN_AI_PROVIDER } from './attributes.js';
import { AttemptLog } from './attempts.js';
import { errorName } from './call-errors.js';
import { fillUnreported, streamAbandoned, usageNotReported, type PartialUsage, type StreamedOutput } from './unreported-usage.js';
import type { CallDescription, PreparedCall, ReportedUsage } from './provider-adapter.js';

export type { CallDescription } from './provider-adapter.js';
import { getSpendScopeOverrides, mergeOverrides } from './scope-context.js';

/** What a provider adapter needs to guard calls: the engine, defaults and a tracer. */
export interface GuardBinding {
  guard: SpendGuard;
  /** Default scope of calls; per-call overrides are merged over it. */
  scope: SpendScope | (() => SpendScope);
  capabilityClaim?: CapabilityTier;
  tracer: Tracer;
}

/**
 * One guarded provider call: a CLIENT span, the signed decision, and
 * exactly-once settlement. Adapters create it with {@link openGuardedCall},
 * send the call inside {@link GuardedCall.context} with {@link GuardedCall.model},
 * and report the provider's usage with {@link GuardedCall.settle} or failure
 * with {@link GuardedCall.fail}.
 */
export class GuardedCall {
  readonly span: Span;
  readonly result: DecideResult;
  readonly #guard: SpendGuard;
  readonly #context: Context;
  readonly #requestedMaxOutputTokens: number;
  #done = false;
  /** The HTTP attempts sent under this decision (SDK retries): unanswered ones are charged the projection. */
  readonly attempts = new AttemptLog();

  constructor(guard: SpendGuard, span: Span, ctx: Context, result: DecideResult, requestedMaxOutputTokens: number = result.maxOutputTokens) {
    this.#guard = guard;
    this.span = span;
    this.#context = ctx;
    this.result = result;
    this.#requestedMaxOutputTokens = requestedMaxOutputTokens;
  }

  /** The model the call must use (rewritten on `downgrade`). */
  get model(): string {
    return this.result.modelResolved;
  }

  /**
   * The output bound the call must be sent with, when the decision lowered it
   * below the one described (a `clampMaxTokens` cap, or a policy's default
   * bound for a call that sent none); undefined when the request's bound stands.
   */
  get maxOutputTokensToSend(): number | undefined {
    return this.result.maxOutputTokens < this.#requestedMaxOutputTokens ? this.result.maxOutputTokens : undefined;
  }

  /**
   * The output bound a `clampMaxTokens` cap lowered below the request's own;
   * undefined otherwise. {@link maxOutputTokensToSend} also covers a default
   * bound the guard set for a call that sent none.
   */
  get clampedMaxOutputTokens(): number | undefined {
    const d = this.result.decision;
    return d.clampedMaxOutputTokens !== undefined && this.result.maxOutputTokens < (d.requestedMaxOutputTokens ?? Infinity)
      ? this.result.maxOutputTokens
      : undefined;
  }

  /** What the decision asks of the request to send (an adapter's `prepare` writes it). */
  get prepared(): PreparedCall {
    return { model: this.model, maxOutputTokens: this.maxOutputTokensToSend };
  }

  get decision(): SpendDecision {
    return this.result.decision;
  }

  /** The span's context: send the provider request inside it so HTTP spans nest. */
  get context(): Context {
    return this.#context;
  }

  /** Whether settle/fail already ran. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Records what the provider said about its response: `gen_ai.response.model`,
   * `gen_ai.response.id` and `gen_ai.response.finish_reasons`, each when known.
   * Call before {@link settle} or a release; ignored once the span ended.
   */
  recordResponse(response: Pick<ReportedUsage, 'model' | 'id' | 'finishReasons'>): void {
    if (this.#done) return;
    if (response.model) this.span.setAttribute(ATTR.GEN_AI_RESPONSE_MODEL, response.model);
    if (response.id) this.span.setAttribute(ATTR.GEN_AI_RESPONSE_ID, response.id);
    if (response.finishReasons?.length) this.span.setAttribute(ATTR.GEN_AI_RESPONSE_FINISH_REASONS, response.finishReasons);
  }

  /**
   * Settles the reservation with the provider's reported usage and ends the
   * span. When the guard signs off the caller's thread (a log store that
   * queues entries), resolves at once and the settlement, its outcome entry
   * and the span's end follow after the caller resumes (`SpendGuard.flush()`
   * waits for them); otherwise resolves when they are done.
   */
  async settle(usage: UsageTokens, responseModel?: string): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    setUsageAttributes(this.span, usage);
    if (responseModel) this.span.setAttribute(ATTR.GEN_AI_RESPONSE_MODEL, responseModel);
    const settling = this.#settle(usage);
    if (!this.#guard.signsOffThread) await settling;
  }

  async #settle(usage: UsageTokens): Promise<void> {
    try {
      const outcome = await this.#guard.settle(this.result.decision, usage, { unansweredAttempts: this.attempts.unanswered });
      setOutcomeAttributes(this.span, outcome);
    } catch (err) {
      // The provider call succeeded; a settlement failure must not fail it (no error.type, no ERROR status).
      diag.error(`agentguard-spend: settlement failed (${errorName(err)})`);
      this.span.recordException({ name: errorName(err) });
    } finally {
      this.span.end();
    }
  }

  /**
   * The call failed or was aborted: release the reservation (charging any usage
   * the provider did report), mark the span as an error and end it. Like
   * {@link settle}, resolves at once when the guard signs off the caller's thread.
   */
  async fail(error: unknown, usage?: UsageTokens): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    if (usage) setUsageAttributes(this.span, usage);
    recordError(this.span, error);
    const releasing = this.#release(error, usage);
    if (!this.#guard.signsOffThread) await releasing;
  }

  async #release(error: unknown, usage: UsageTokens | undefined): Promise<void> {
    try {
      const outcome = await this.#guard.release(this.result.decision, errorName(error), usage, { unansweredAttempts: this.attempts.unanswered });
      setOutcomeAttributes(this.span, outcome);
    } catch (err) {
      diag.error(`agentguard-spend: release failed: ${(err as Error).message}`);
    } finally {
      this.span.end();
    }
  }
  /**
   * The decision's projection as usage: the worst case the engine reserved
   * (the input estimate and the output bound the call was sent with).
   */
  get projectedUsage(): UsageTokens {
    return { inputTokens: this.result.decision.estimatedInputTokens ?? 0, outputTokens: this.result.maxOutputTokens };
  }

  /**
   * Rule 1 (see `./unreported-usage.ts`): a completed response without
   * (complete) usage is released charging the projection, for the parts not
   * reported, with reason `UsageNotReported`.
   */
  async releaseUnreported(reported?: PartialUsage, message?: string): Promise<void> {
    await this.fail(usageNotReported(message), fillUnreported(reported, this.projectedUsage));
  }

  /**
   * Rule 2 (see `./unreported-usage.ts`): a stream abandoned (no `error`) or
   * failing mid-way is released charging what was reported, and for the parts
   * not reported the input estimate and the streamed output's bytes.
   */
  async releaseCutShort(error: unknown, reported: PartialUsage | undefined, output: StreamedOutput): Promise<void> {
    const fallback = { inputTokens: this.projectedUsage.inputTokens, outputTokens: output.tokens };
    await this.fail(error ?? streamAbandoned(), fillUnreported(reported, fallback, true));
  }

  /**
   * The end of a stream, by the one rule: final usage → settled (whether the
   * caller read to the end or not); otherwise cut short (`error`/`abandoned`)
   * → {@link releaseCutShort}; ended normally without final usage →
   * {@link releaseUnreported}.
   */
  async finishStream(
    outcome: { error?: unknown; abandoned?: boolean },
    usage: { final?: UsageTokens | undefined; reported?: PartialUsage | undefined; model?: string | undefined },
    output: StreamedOutput,
  ): Promise<void> {
    if (this.#done) return;
    if (usage.final) return this.settle(usage.final, usage.model);
    if (outcome.error !== undefined || outcome.abandoned) return this.releaseCutShort(outcome.error, usage.reported, output);
    return this.releaseUnreported(usage.reported, 'the stream ended without its final usage');
  }
}

/**
 * Thrown before anything is sent when a `clampMaxTokens` cap lowered the
 * call's output bound but the adapter cannot write the lower bound into this
 * request (e.g. an InvokeModel body it cannot parse). Sending the call
 * unclamped could spend past the cap, so it fails closed; the reservation is
 * released.
 */
export class ClampNotAppliedError extends AgentGuardError {
  /** The output bound the decision allowed. */
  readonly maxOutputTokens: number;
  constructor(maxOutputTokens: number, why: string) {
    super(`agentguard: clampMaxTokens lowered the output bound to ${maxOutputTokens} tokens, but ${why}; the call was not sent`);
    this.maxOutputTokens = maxOutputTokens;
  }
}

/**
 * Starts the call's span, decides the call, and records the decision on the
 * span. Throws {@link AgentGuardBlockedError} (after ending the span with an
 * error status) when the decision is `block`: nothing has been sent.
 */
export async function openGuardedCall(binding: GuardBinding, call: CallDescription, parent: Context = context.active()): Promise<GuardedCall> {
  const overrides = mergeOverrides(getSpendScopeOverrides(parent), call.overrides ?? {});
  const baseScope = typeof binding.scope === 'function' ? binding.scope() : binding.scope;
  const scope = { ...baseScope, ...definedOnly(overrides.scope) } as SpendScope;
  const capabilityClaim = overrides.capabilityClaim ?? binding.capabilityClaim;

  // Samplers see the requested model: the span must exist before the decision,
  // which signs its trace and span ids. A downgrade renames it afterwards.
  const span = binding.tracer.startSpan(
    `${call.operation} ${call.model}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        // The adapter's provider-specific attributes first: they never replace the ones below.
        ...call.attributes,
        [ATTR.GEN_AI_PROVIDER_NAME]: GEN_AI_PROVIDER[call.provider] ?? call.provider,
        [ATTR.GEN_AI_OPERATION_NAME]: call.operation,
        [ATTR.GEN_AI_REQUEST_MODEL]: call.model,
        [ATTR.GEN_AI_REQUEST_MAX_TOKENS]: call.maxOutputTokens,
        // Conditionally required "if and only if the request is streaming".
        ...(call.stream ? { [ATTR.GEN_AI_REQUEST_STREAM]: true } : {}),
        ...(call.server ? { [ATTR.SERVER_ADDRESS]: call.server.address, [ATTR.SERVER_PORT]: call.server.port } : {}),
      },
    },
    parent,
  );
  const spanContext = span.spanContext();
  const traced = trace.isSpanContextValid(spanContext);
  let result: DecideResult;
  try {
    result = await binding.guard.decide({
      provider: call.provider,
      model: call.model,
      scope,
      ...(capabilityClaim ? { capabilityClaim } : {}),
      estimatedInputTokens: call.estimatedInputTokens,
      maxOutputTokens: call.maxOutputTokens,
      outputBoundSent: call.outputBoundSent,
      ...(call.routableModels ? { routableModels: call.routableModels } : {}),
      stream: call.stream,
      ...(traced ? { traceId: spanContext.traceId, spanId: spanContext.spanId } : {}),
    } as CallRequest);
  } catch (err) {
    recordError(span, err);
    span.end();
    throw err;
  }
  setDecisionAttributes(span, result.decision, result.entry);
  span.setAttribute(ATTR.DECISION_MODEL_REQUESTED, call.model);
  if (result.action !== 'block' && result.modelResolved !== call.model) {
    // A downgrade: the span names the model the request is sent with, as the SDK's own span below it does.
    span.updateName(`${call.operation} ${result.modelResolved}`);
    span.setAttribute(ATTR.GEN_AI_REQUEST_MODEL, result.modelResolved);
  }
  // A clamp: the span says what is sent; the decision keeps both bounds.
  if (result.action !== 'block' && result.maxOutputTokens < call.maxOutputTokens) span.setAttribute(ATTR.GEN_AI_REQUEST_MAX_TOKENS, result.maxOutputTokens);
  if (result.action === 'block') {
    const error = new AgentGuardBlockedError(result.decision);
    recordError(span, error);
    span.end();
    throw error;
  }
  return new GuardedCall(binding.guard, span, trace.setSpan(parent, span), result, call.maxOutputTokens);
}

function setDecisionAttributes(span: Span, decision: SpendDecision, entry: DecisionLogEntry): void {
  span.setAttributes({
    [ATTR.DECISION_ID]: decision.decisionId,
    [ATTR.DECISION_ACTION]: decision.action,
    [ATTR.DECISION_ENFORCEMENT_MODE]: decision.enforcementMode,
    [ATTR.DECISION_MODEL_RESOLVED]: decision.modelResolved,
    [ATTR.DECISION_ENTRY_HASH]: entry.entryHash,
    [ATTR.DECISION_SEQUENCE]: entry.sequence,
    [ATTR.DECISION_SIGNER]: entry.signerFingerprint,
    [ATTR.POLICY_ID]: decision.policyId,
    [ATTR.POLICY_VERSION]: decision.policyVersion,
    [ATTR.COST_PROJECTED_CENTS]: decision.projectedCents,
  });
}

/**
 * A call that ended in an error: `error.type`, an `exception` event and an
 * ERROR status, each with the error's class name only. Never the message:
 * provider messages can echo request content.
 */
function recordError(span: Span, error: unknown): void {
  const name = errorName(error);
  span.setAttribute(ATTR.ERROR_TYPE, name);
  span.recordException({ name });
  span.setStatus({ code: SpanStatusCode.ERROR, message: name });
}

function setOutcomeAttributes(span: Span, outcome: DecisionLogEntry<SpendDecision>): void {
  span.setAttribute(ATTR.OUTCOME_ENTRY_HASH, outcome.entryHash);
  if (outcome.decision.actualCents !== undefined) span.setAttribute(ATTR.COST_ACTUAL_CENTS, outcome.decision.actualCents);
}

function setUsageAttributes(span: Span, usage: UsageTokens): void {
  span.setAttribute(ATTR.GEN_AI_USAGE_INPUT_TOKENS, usage.inputTokens);
  span.setAttribute(ATTR.GEN_AI_USAGE_OUTPUT_TOKENS, usage.outputTokens);
  if (usage.cachedInputTokens !== undefined) span.setAttribute(ATTR.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, usage.cachedInputTokens);
  if (usage.cacheWriteTokens !== undefined) span.setAttribute(ATTR.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, usage.cacheWriteTokens);
  if (usage.reasoningTokens !== undefined) span.setAttribute(ATTR.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, usage.reasoningTokens);
}

function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (!o) return out;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
