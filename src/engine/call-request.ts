import { CAPABILITY_TIERS, type CapabilityTier } from './capability.js';
import { SCOPE_FIELDS, type SpendScope } from './policy.js';
import type { UsageTokens } from './pricing.js';

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
  /**
   * `false` when the request itself carried no output bound and
   * `maxOutputTokens` is the model's maximum, projected by the adapter. The
   * guard may then set a bound (`defaultMaxOutputTokens`), which the adapter
   * writes into the request. Absent or `true`: the request sent `maxOutputTokens`.
   */
  outputBoundSent?: boolean;
  /**
   * The models this call can be sent to, when it cannot go to any model (an
   * Azure OpenAI call goes to a deployment, and only the configured deployments
   * exist). The requested model always can. A downgrade to a model not listed
   * is not taken: the call is decided at the requested model, and the
   * decision's reasons say why. Absent: any model.
   */
  routableModels?: readonly string[];
  stream?: boolean;
  traceId?: string;
  spanId?: string;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Every string of a request ends up in a signed decision: it must be canonicalizable. */
/**
 * The longest name a call may carry (provider, model, scope values, trace ids),
 * in UTF-8 bytes: each is written into two signed entries and into counter keys,
 * and every line the log writer produces must stay within what its reader accepts.
 */
export const MAX_CALL_NAME_BYTES = 256;

/** The most models a call may list as {@link CallRequest.routableModels} (one Azure resource's deployments fit well within it). */
export const MAX_ROUTABLE_MODELS = 1000;

function checkString(v: unknown, field: string, nonEmpty = true): void {
  if (typeof v !== 'string' || (nonEmpty && !v)) throw new TypeError(`CallRequest.${field}: expected a ${nonEmpty ? 'non-empty ' : ''}string, got ${short(v)}`);
  if (!v.isWellFormed()) throw new TypeError(`CallRequest.${field}: lone surrogate in ${short(v)}`);
  const bytes = Buffer.byteLength(v, 'utf8');
  if (bytes > MAX_CALL_NAME_BYTES)
    throw new TypeError(`CallRequest.${field}: ${bytes} bytes of UTF-8, more than the ${MAX_CALL_NAME_BYTES} allowed (${short(v)})`);
}

/** A value for an error message, cut to 40 characters (a rejected value can be megabytes). */
function short(v: unknown): string {
  if (typeof v !== 'string') return JSON.stringify(v) ?? String(v);
  return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
}

/** Throws a `TypeError` naming the first field of `r` that is not a valid {@link CallRequest} field. */
export function validateRequest(r: CallRequest): void {
  if (!r || typeof r !== 'object') throw new TypeError('CallRequest: expected an object');
  checkString(r.provider, 'provider');
  checkString(r.model, 'model');
  if (!r.scope || typeof r.scope.tenantId !== 'string' || !r.scope.tenantId) throw new TypeError('CallRequest.scope.tenantId: expected a non-empty string');
  for (const f of SCOPE_FIELDS) if (r.scope[f] !== undefined) checkString(r.scope[f], `scope.${f}`);
  if (r.traceId !== undefined) checkString(r.traceId, 'traceId', false);
  if (r.spanId !== undefined) checkString(r.spanId, 'spanId', false);
  if (!isCount(r.estimatedInputTokens))
    throw new TypeError(`CallRequest.estimatedInputTokens: expected a non-negative integer, got ${JSON.stringify(r.estimatedInputTokens)}`);
  if (!isCount(r.maxOutputTokens))
    throw new TypeError(`CallRequest.maxOutputTokens: expected a non-negative integer, got ${JSON.stringify(r.maxOutputTokens)}`);
  if (r.outputBoundSent !== undefined && typeof r.outputBoundSent !== 'boolean') {
    throw new TypeError(`CallRequest.outputBoundSent: expected a boolean, got ${JSON.stringify(r.outputBoundSent)}`);
  }
  if (r.routableModels !== undefined) {
    if (!Array.isArray(r.routableModels)) throw new TypeError(`CallRequest.routableModels: expected an array of model names, got ${short(r.routableModels)}`);
    if (r.routableModels.length > MAX_ROUTABLE_MODELS)
      throw new TypeError(`CallRequest.routableModels: ${r.routableModels.length} models, more than the ${MAX_ROUTABLE_MODELS} allowed`);
    r.routableModels.forEach((m, i) => checkString(m, `routableModels[${i}]`));
  }
  if (r.capabilityClaim !== undefined && !CAPABILITY_TIERS.includes(r.capabilityClaim)) {
    throw new TypeError(`CallRequest.capabilityClaim: expected one of ${CAPABILITY_TIERS.join(', ')}, got ${JSON.stringify(r.capabilityClaim)}`);
  }
}

/** Throws a `TypeError` naming the first field of `u` that breaks the {@link UsageTokens} convention. */
export function validateUsage(u: UsageTokens): void {
  if (!u || typeof u !== 'object') throw new TypeError('usage: expected an object');
  for (const f of ['inputTokens', 'outputTokens'] as const)
    if (!isCount(u[f])) throw new TypeError(`usage.${f}: expected a non-negative integer, got ${JSON.stringify(u[f])}`);
  for (const f of ['cachedInputTokens', 'cacheWriteTokens', 'reasoningTokens'] as const) {
    if (u[f] !== undefined && !isCount(u[f])) throw new TypeError(`usage.${f}: expected a non-negative integer, got ${JSON.stringify(u[f])}`);
  }
  if ((u.cachedInputTokens ?? 0) + (u.cacheWriteTokens ?? 0) > u.inputTokens) {
    throw new TypeError('usage: cachedInputTokens + cacheWriteTokens exceed inputTokens (inputTokens must include cached and cache-write tokens)');
  }
  if ((u.reasoningTokens ?? 0) > u.outputTokens) throw new TypeError('usage.reasoningTokens: exceeds outputTokens (reasoning tokens are part of the output)');
}

/** The most tokens one call can plausibly bill: a bound per attempt. */
export interface UsageBound {
  inputTokens: number;
  outputTokens: number;
}

/** Usage capped at a bound, with what was above it. */
export interface CappedUsage {
  usage: UsageTokens;
  /** The counts that exceeded the bound, as given (absent when within it). */
  excess: { inputTokens?: number; outputTokens?: number };
}

/**
 * Caps `u` at `bound`: a count above the bound (a provider or proxy reporting
 * 1e15 tokens for a 100-token call) cannot have been billed for this request,
 * so it is charged at the bound and reported back as excess. Cached and
 * cache-write tokens stay within the capped input, reasoning within the
 * capped output.
 */
export function capUsage(u: UsageTokens, bound: UsageBound): CappedUsage {
  const excess: CappedUsage['excess'] = {};
  const usage: UsageTokens = { ...u };
  if (u.inputTokens > bound.inputTokens) {
    excess.inputTokens = u.inputTokens;
    usage.inputTokens = bound.inputTokens;
    if (usage.cachedInputTokens !== undefined) usage.cachedInputTokens = Math.min(usage.cachedInputTokens, usage.inputTokens);
    if (usage.cacheWriteTokens !== undefined) usage.cacheWriteTokens = Math.min(usage.cacheWriteTokens, usage.inputTokens - (usage.cachedInputTokens ?? 0));
  }
  if (u.outputTokens > bound.outputTokens) {
    excess.outputTokens = u.outputTokens;
    usage.outputTokens = bound.outputTokens;
    if (usage.reasoningTokens !== undefined) usage.reasoningTokens = Math.min(usage.reasoningTokens, usage.outputTokens);
  }
  return { usage, excess };
}

/** Adds `times` × `per` to `u` (the projection of attempts whose usage was never reported). */
export function addAttempts(u: UsageTokens | undefined, per: UsageBound, times: number): UsageTokens | undefined {
  if (times <= 0) return u;
  const base = u ?? { inputTokens: 0, outputTokens: 0 };
  return { ...base, inputTokens: base.inputTokens + times * per.inputTokens, outputTokens: base.outputTokens + times * per.outputTokens };
}
