import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { generateKeypair, parsePolicy, SpendGuard } from '../../src/index.js';
import { METRIC } from '../../src/engine/metrics.js';
import { prometheusLabelName, prometheusMetricName, prometheusSeriesNames, readPromql, type OtelMetricKind } from '../helpers/prometheus.js';

const dashboardPath = join(import.meta.dirname, '..', '..', 'examples', 'grafana', 'agentguard-spend-dashboard.json');

class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** What the package emits, read from a real MeterProvider after allowed, settled and blocked calls, in Prometheus names. */
async function emittedSeries(): Promise<Map<string, Set<string>>> {
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  const guard = new SpendGuard({
    signingKeys: generateKeypair(),
    metrics: { meter: provider.getMeter('agentguard-spend') }, // the default attributes, as register uses them
    policy: parsePolicy({
      id: 'p',
      name: 'p',
      scope: { tenantId: 't' },
      mode: 'enforce',
      version: 1,
      effectiveFrom: '2026-01-01T00:00:00Z',
      caps: [{ amountCents: 30, window: 'per_call', action: 'block', reason: 'small calls only' }],
    }),
  });
  const scope = { tenantId: 't', agentId: 'a' };
  const ok = await guard.decide({ provider: 'openai', model: 'gpt-4o', scope, estimatedInputTokens: 1000, maxOutputTokens: 100 });
  await guard.settle(ok, { inputTokens: 1000, outputTokens: 100 });
  await guard.decide({ provider: 'openai', model: 'gpt-4o', scope, estimatedInputTokens: 200_000, maxOutputTokens: 0 });
  const { resourceMetrics } = await reader.collect();
  const metrics: MetricData[] = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  expect(metrics.map((m) => m.descriptor.name).sort()).toEqual(Object.values(METRIC).sort());
  const out = new Map<string, Set<string>>();
  for (const m of metrics) {
    const kind: OtelMetricKind =
      m.dataPointType === DataPointType.HISTOGRAM ? 'histogram' : m.dataPointType === DataPointType.SUM && m.isMonotonic ? 'counter' : 'gauge';
    const labels = new Set((m.dataPoints as { attributes: Record<string, unknown> }[]).flatMap((p) => Object.keys(p.attributes)).map(prometheusLabelName));
    for (const series of prometheusSeriesNames(m.descriptor.name, m.descriptor.unit, kind))
      out.set(series, series.endsWith('_bucket') ? new Set([...labels, 'le']) : labels);
  }
  return out;
}

/** Every PromQL expression of the dashboard: panel targets (rows included) and query variables. */
function dashboardQueries(): string[] {
  const d = JSON.parse(readFileSync(dashboardPath, 'utf8')) as {
    panels: { targets?: { expr: string }[]; panels?: { targets?: { expr: string }[] }[] }[];
    templating: { list: { type: string; definition?: string; query?: string | { query?: string } }[] };
  };
  const panels = d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const variables = d.templating.list.filter((v) => v.type === 'query');
  const variableQueries = variables.flatMap((v) => [v.definition, typeof v.query === 'string' ? v.query : v.query?.query].filter((q): q is string => !!q));
  expect(variableQueries.length).toBeGreaterThanOrEqual(variables.length * 2);
  return [...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...variableQueries];
}

describe('examples/grafana dashboard', () => {
  it('translates OpenTelemetry names as Prometheus does (the translator’s own examples)', () => {
    expect(prometheusMetricName('http.server.request.duration', 's', 'histogram')).toBe('http_server_request_duration_seconds');
    expect(prometheusMetricName('requests.count', '1', 'counter')).toBe('requests_count_total');
    expect(prometheusMetricName('memory.usage', 'By', 'gauge')).toBe('memory_usage_bytes');
    expect(prometheusMetricName('agentguard.decisions', '{decision}', 'counter')).toBe('agentguard_decisions_total');
    expect(prometheusLabelName('gen_ai.request.model')).toBe('gen_ai_request_model');
  });

  it('queries only metrics and attributes the package emits, and every metric it emits', async () => {
    const emitted = await emittedSeries();
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(10);
    const used = new Set<string>();
    for (const q of queries) {
      const { metrics, labels } = readPromql(q);
      expect(metrics.size, q).toBeGreaterThan(0);
      for (const m of metrics) {
        expect([...emitted.keys()], `${m} in ${q}`).toContain(m);
        used.add(m);
      }
      for (const { label, metric } of labels) {
        const on = metric ? [metric] : [...metrics];
        expect(
          on.some((m) => emitted.get(m)?.has(label)),
          `label ${label} in ${q}`,
        ).toBe(true);
      }
    }
    // Spend, decisions and latency each have a panel.
    for (const name of Object.values(METRIC))
      expect(
        [...used].some((u) => u.startsWith(prometheusMetricName(name, '', 'gauge'))),
        name,
      ).toBe(true);
  });

  it('the PromQL reader finds what a query reads (so the check above can fail)', () => {
    const r = readPromql(
      'sum by (agentguard_policy_id) (increase(agentguard_spend_cents_total{agentguard_scope_tenantId=~"$tenant", gen_ai_request_model!="x"}[$__range])) / 100',
    );
    expect([...r.metrics]).toEqual(['agentguard_spend_cents_total']);
    expect(r.labels.map((l) => l.label).sort()).toEqual(['agentguard_policy_id', 'agentguard_scope_tenantId', 'gen_ai_request_model']);
    expect([...readPromql('histogram_quantile(0.95, sum by (le) (rate(agentguard_decision_duration_bucket[5m])))').metrics]).toEqual([
      'agentguard_decision_duration_bucket',
    ]);
  });
});
