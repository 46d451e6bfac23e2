import { metrics, type Attributes, type Counter, type Histogram, type Meter, type MeterProvider } from '@opentelemetry/api';
import type { SpendDecision } from '../audit/decision.js';
import type { ScopeField } from './policy.js';

/** Metric names this package emits (through the global `@opentelemetry/api` MeterProvider). */
export const METRIC = {
  /** Counter, unit `{cent}`: actual spend settled, from provider-reported usage. */
  SPEND_CENTS: 'agentguard.spend.cents',
  /** Counter, unit `{decision}`: decisions by action. */
  DECISIONS: 'agentguard.decisions',
  /** Histogram, unit `s`: time to decide a call (policy evaluation, reservation, signing, log append). */
  DECISION_DURATION: 'agentguard.decision.duration',
} as const;

/** Which attributes go on the metrics. */
export interface SpendMetricsOptions {
  /** Scope fields to add as `agentguard.scope.<field>` (mind cardinality). Default `['tenantId']`. */
  scopeAttributes?: ScopeField[];
  /** Meter to use; default `metrics.getMeter('agentguard-spend')`. */
  meter?: Meter;
}

/**
 * Records decisions and spend as OpenTelemetry metrics. No-op without a
 * registered MeterProvider. The metrics API has no proxy provider (unlike
 * tracing), so without an explicit `meter` the instruments are re-created when
 * the global MeterProvider changes: an app may register its SDK after
 * `agentguard-spend/register` created the guard.
 */
export class SpendMetrics {
  #spend!: Counter;
  #decisions!: Counter;
  #duration!: Histogram;
  /** Each scope field with its attribute name, built once: the names are the same on every call. */
  readonly #scopeAttributes: ReadonlyArray<readonly [ScopeField, string]>;
  readonly #fixedMeter: Meter | undefined;
  #provider: MeterProvider | undefined;

  constructor(options: SpendMetricsOptions = {}) {
    this.#scopeAttributes = (options.scopeAttributes ?? ['tenantId']).map((f) => [f, `agentguard.scope.${f}`] as const);
    this.#fixedMeter = options.meter;
    this.#instruments();
  }

  /** (Re)creates the instruments on the current meter. */
  #instruments(): void {
    let meter = this.#fixedMeter;
    if (!meter) {
      this.#provider = metrics.getMeterProvider();
      meter = this.#provider.getMeter('agentguard-spend');
    }
    this.#spend = meter.createCounter(METRIC.SPEND_CENTS, { unit: '{cent}', description: 'Actual spend settled from provider-reported usage' });
    this.#decisions = meter.createCounter(METRIC.DECISIONS, { unit: '{decision}', description: 'Spend decisions by action' });
    this.#duration = meter.createHistogram(METRIC.DECISION_DURATION, { unit: 's', description: 'Time to decide, reserve, sign and log a call' });
  }

  #current(): this {
    if (!this.#fixedMeter && metrics.getMeterProvider() !== this.#provider) this.#instruments();
    return this;
  }

  /** A pre-call decision was made in `seconds`. */
  decision(decision: SpendDecision, seconds: number): void {
    this.#current();
    const attrs = this.#attributes(decision);
    this.#decisions.add(1, attrs);
    this.#duration.record(seconds, attrs);
  }

  /** A call was settled or released with its actual cents. */
  spend(outcome: SpendDecision): void {
    if (outcome.actualCents !== undefined && outcome.actualCents > 0) this.#current().#spend.add(outcome.actualCents, this.#attributes(outcome));
  }

  #attributes(d: SpendDecision): Attributes {
    const attrs: Attributes = {
      'gen_ai.provider.name': d.provider,
      'gen_ai.request.model': d.modelResolved,
      'agentguard.policy.id': d.policyId,
      'agentguard.decision.action': d.action,
      'agentguard.decision.enforcement_mode': d.enforcementMode,
    };
    for (const [f, name] of this.#scopeAttributes) {
      const v = d.actor?.[f];
      if (v !== undefined) attrs[name] = v;
    }
    return attrs;
  }
}
