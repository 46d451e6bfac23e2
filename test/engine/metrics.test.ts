import { AggregationTemporality, DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { generateKeypair, parsePolicy, SpendGuard } from '../../src/index.js';
import { METRIC } from '../../src/engine/metrics.js';

/** A pull reader: the test collects on demand (the SDK's in-memory path). */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

async function collect(reader: TestReader): Promise<Map<string, MetricData>> {
  const { resourceMetrics } = await reader.collect();
  const out = new Map<string, MetricData>();
  for (const scope of resourceMetrics.scopeMetrics) for (const m of scope.metrics) out.set(m.descriptor.name, m);
  return out;
}

describe('metrics', () => {
  it('counts decisions by action, cents spent and decision latency', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const guard = new SpendGuard({
      signingKeys: generateKeypair(),
      metrics: { meter: provider.getMeter('test'), scopeAttributes: ['tenantId', 'agentId'] },
      policy: parsePolicy({
        id: 'p',
        name: 'p',
        scope: { tenantId: 't' },
        mode: 'enforce',
        version: 1,
        effectiveFrom: '2026-01-01T00:00:00Z',
        caps: [{ amountCents: 3, window: 'per_call', action: 'block', reason: 'small calls only' }],
      }),
    });
    const scope = { tenantId: 't', agentId: 'a1' };
    // 100k input tokens of gpt-4o = 25c projected: blocked by the 3c per-call cap.
    const blocked = await guard.decide({ provider: 'openai', model: 'gpt-4o', scope, estimatedInputTokens: 100_000, maxOutputTokens: 0 });
    expect(blocked.action).toBe('block');
    for (let i = 0; i < 2; i++) {
      const ok = await guard.decide({ provider: 'openai', model: 'gpt-4o', scope, estimatedInputTokens: 1000, maxOutputTokens: 100 });
      expect(ok.action).toBe('allow');
      // 4000 input tokens at $2.50/M = 1c each.
      await guard.settle(ok, { inputTokens: 4000, outputTokens: 0 });
    }

    const m = await collect(reader);
    const decisions = m.get(METRIC.DECISIONS)!;
    expect(decisions.dataPointType).toBe(DataPointType.SUM);
    const byAction = Object.fromEntries(decisions.dataPoints.map((p) => [p.attributes['agentguard.decision.action'], p.value]));
    expect(byAction).toEqual({ block: 1, allow: 2 });
    expect(decisions.dataPoints[0]!.attributes).toMatchObject({
      'gen_ai.provider.name': 'openai',
      'agentguard.policy.id': 'p',
      'agentguard.scope.agentId': 'a1',
    });

    const spend = m.get(METRIC.SPEND_CENTS)!;
    expect(spend.dataPoints.map((p) => p.value)).toEqual([2]);
    expect(spend.descriptor.unit).toBe('{cent}');

    const duration = m.get(METRIC.DECISION_DURATION)!;
    expect(duration.dataPointType).toBe(DataPointType.HISTOGRAM);
    const counts = duration.dataPoints.map((p) => (p.value as { count: number }).count).reduce((a, b) => a + b, 0);
    expect(counts).toBe(3);
    expect(duration.descriptor.unit).toBe('s');
  });
});

describe('metrics with the global MeterProvider', () => {
  it('follow a provider registered after the guard was created (as under --require register)', async () => {
    const { metrics } = await import('@opentelemetry/api');
    const guard = new SpendGuard({ signingKeys: generateKeypair(), policies: [] });
    const call = { provider: 'openai', model: 'gpt-4o', scope: { tenantId: 't' }, estimatedInputTokens: 10, maxOutputTokens: 10 };
    await guard.decide(call); // recorded nowhere: no provider yet

    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    expect(metrics.setGlobalMeterProvider(provider)).toBe(true);
    try {
      await guard.decide(call);
      const m = await collect(reader);
      expect(m.get(METRIC.DECISIONS)!.dataPoints.map((p) => p.value)).toEqual([1]);
    } finally {
      metrics.disable();
    }
  });
});
