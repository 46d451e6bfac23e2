/**
 * OpenTelemetry → Prometheus naming, as Prometheus' OTLP receiver and the
 * Collector's Prometheus exporters translate by default (the
 * `UnderscoreEscapingWithSuffixes` strategy of prometheus/otlptranslator):
 * names split on characters outside `[a-zA-Z0-9:]` and joined with `_`, the
 * unit appended unless a name token already is it (`s` → `seconds`; an
 * annotation like `{decision}` adds nothing; an unknown unit is kept), and
 * `_total` on monotonic counters. Attribute keys become labels with every
 * character outside `[a-zA-Z0-9_]` replaced by `_`.
 */
const UNIT_NAMES: Record<string, string> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  '1': '',
  '%': 'percent',
};
const PER_UNIT_NAMES: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

const clean = (u: string) =>
  u
    .replace(/[^a-zA-Z0-9:]/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_/, '');

export type OtelMetricKind = 'counter' | 'histogram' | 'gauge' | 'updowncounter';

/** The Prometheus metric name of an OpenTelemetry metric. */
export function prometheusMetricName(name: string, unit: string, kind: OtelMetricKind): string {
  let tokens = name.split(/[^a-zA-Z0-9:]+/).filter(Boolean);
  const [main, per] = unit.split('/', 2).map((s) => s?.trim() ?? '');
  let mainSuffix = main && !/[{}]/.test(main) ? clean(UNIT_NAMES[main] ?? main) : '';
  let perSuffix = per && !/[{}]/.test(per) ? clean(PER_UNIT_NAMES[per] ?? per) : '';
  if (tokens.includes(mainSuffix)) mainSuffix = '';
  if (perSuffix && tokens.includes(perSuffix)) perSuffix = '';
  if (mainSuffix) tokens.push(mainSuffix);
  if (perSuffix) tokens.push('per', perSuffix);
  if (kind === 'counter') tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  if (unit === '1' && kind === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  return tokens.join('_');
}

/** The Prometheus label name of an attribute key. */
export function prometheusLabelName(key: string): string {
  const l = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(l) ? `key_${l}` : l;
}

/** The series names a metric becomes (a histogram: `_bucket`, `_sum`, `_count`). */
export function prometheusSeriesNames(name: string, unit: string, kind: OtelMetricKind): string[] {
  const base = prometheusMetricName(name, unit, kind);
  return kind === 'histogram' ? [`${base}_bucket`, `${base}_sum`, `${base}_count`] : [base];
}

/** What a PromQL expression reads: metric names, and label names with the metric they are read on (null: an aggregation's grouping). */
export interface PromqlUse {
  metrics: Set<string>;
  labels: { label: string; metric: string | null }[];
}

const PROMQL_WORDS = new Set([
  // aggregations and their modifiers
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'atan2',
  // functions used in dashboards
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'deriv',
  'histogram_quantile',
  'sort',
  'sort_desc',
  'abs',
  'ceil',
  'floor',
  'round',
  'clamp_min',
  'clamp_max',
  'label_values',
  'label_replace',
  'vector',
  'scalar',
  'time',
  'absent',
  'sum_over_time',
  'avg_over_time',
  'max_over_time',
  'min_over_time',
  'count_over_time',
]);

/**
 * A small PromQL reader for dashboard queries: strips Grafana variables,
 * string literals and range selectors, then finds metric names (identifiers
 * that are not keywords or functions), the labels of their matchers, the
 * labels of `by (...)`/`without (...)` groupings, and `label_values(metric, label)`.
 */
export function readPromql(expr: string): PromqlUse {
  const use: PromqlUse = { metrics: new Set(), labels: [] };
  const lv = /^\s*label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/.exec(expr);
  if (lv) {
    use.metrics.add(lv[1]!);
    use.labels.push({ label: lv[2]!, metric: lv[1]! });
    return use;
  }
  let e = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\$\{?\w+\}?/g, '0');
  // Selectors: metric{matchers}
  e = e.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g, (_m, metric: string | undefined, body: string) => {
    if (metric) use.metrics.add(metric);
    for (const mm of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)) use.labels.push({ label: mm[1]!, metric: metric ?? null });
    return ' ';
  });
  e = e.replace(/\b(by|without|on|ignoring)\s*\(([^)]*)\)/g, (_m, _kw, body: string) => {
    for (const l of body
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean))
      use.labels.push({ label: l, metric: null });
    return ' ';
  });
  for (const m of e.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const next = e.slice(m.index! + word.length).trimStart();
    if (PROMQL_WORDS.has(word) || /^\d/.test(word)) continue;
    if (next.startsWith('(')) throw new Error(`unknown PromQL function ${word} in ${expr}`);
    use.metrics.add(word);
  }
  return use;
}
