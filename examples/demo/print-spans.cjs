'use strict';
// Preloaded by the demo after agentguard-spend/register: the app's "OpenTelemetry SDK",
// printing each finished span as one compact line. (Any SDK works the same way:
// register sends its spans through the global tracer provider the app registers.)
let sdk;
try {
  sdk = require('@opentelemetry/sdk-trace');
} catch {
  console.log('spans: install @opentelemetry/sdk-trace to see them (decisions are signed and logged either way)');
  return;
}
const { trace } = require('@opentelemetry/api');

const short = (v) => (typeof v === 'string' && v.length > 16 ? `${v.slice(0, 12)}…` : v);
const exporter = {
  export(spans, done) {
    for (const s of spans) {
      const a = s.attributes;
      const fields = [
        'agentguard.decision.action',
        'agentguard.decision.model_resolved',
        'agentguard.cost.projected_cents',
        'agentguard.cost.actual_cents',
        'agentguard.decision.sequence',
        'agentguard.decision.entry_hash',
      ]
        .filter((k) => a[k] !== undefined)
        .map((k) => `${k.replace(/^agentguard\./, '')}=${short(a[k])}`);
      console.log(`span: "${s.name}" trace=${s.spanContext().traceId.slice(0, 8)}… ${fields.join(' ')}`);
    }
    done({ code: 0 });
  },
  shutdown: async () => {},
};
trace.setGlobalTracerProvider(new sdk.TracerProvider({ spanProcessors: [new sdk.SimpleSpanProcessor({ exporter })] }));
