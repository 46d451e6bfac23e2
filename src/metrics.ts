import { metrics, type Attributes, type Counter, type Histogram, type Meter } from '@opentelemetry/api';
import type { SpendDecision } from './decision.js';
import type { ScopeField } from './policy.js';

/** Metric names this package emits (through the global `@opentelemetry/api` MeterProvider). */
export const METRIC = {
  /** Counter, unit `cent`: actual spend settled, from provider-reported usage. */
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

/** Records decisions and spend as OpenTelemetry metrics. No-op without a registered MeterProvider. */
export class SpendMetrics {
  readonly #spend: Counter;
  readonly #decisions: Counter;
  readonly #duration: Histogram;
  readonly #scopeFields: ScopeField[];

  constructor(options: SpendMetricsOptions = {}) {
    const meter = options.meter ?? metrics.getMeter('agentguard-spend');
    this.#scopeFields = options.scopeAttributes ?? ['tenantId'];
    this.#spend = meter.createCounter(METRIC.SPEND_CENTS, { unit: 'cent', description: 'Actual spend settled from provider-reported usage' });
    this.#decisions = meter.createCounter(METRIC.DECISIONS, { unit: '{decision}', description: 'Spend decisions by action' });
    this.#duration = meter.createHistogram(METRIC.DECISION_DURATION, { unit: 's', description: 'Time to decide, reserve, sign and log a call' });
  }

  /** A pre-call decision was made in `seconds`. */
  decision(decision: SpendDecision, seconds: number): void {
    const attrs = this.#attributes(decision);
    this.#decisions.add(1, attrs);
    this.#duration.record(seconds, attrs);
  }

  /** A call was settled or released with its actual cents. */
  spend(outcome: SpendDecision): void {
    if (outcome.actualCents !== undefined && outcome.actualCents > 0) this.#spend.add(outcome.actualCents, this.#attributes(outcome));
  }

  #attributes(d: SpendDecision): Attributes {
    const attrs: Attributes = {
      'gen_ai.provider.name': d.provider,
      'gen_ai.request.model': d.modelResolved,
      'agentguard.policy.id': d.policyId,
      'agentguard.decision.action': d.action,
      'agentguard.decision.enforcement_mode': d.enforcementMode,
    };
    for (const f of this.#scopeFields) {
      const v = d.actor?.[f];
      if (v !== undefined) attrs[`agentguard.scope.${f}`] = v;
    }
    return attrs;
  }
}
