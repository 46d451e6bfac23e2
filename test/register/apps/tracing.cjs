'use strict';
// The app's own OpenTelemetry SDK, registered after agentguard-spend/register:
// spans are kept in memory and printed as one JSON line at the end.
const { trace } = require('@opentelemetry/api');
const { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace');

function setup() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  trace.setGlobalTracerProvider(provider);
  return {
    async print() {
      await provider.forceFlush();
      const spans = exporter.getFinishedSpans().map((s) => ({ name: s.name, traceId: s.spanContext().traceId, spanId: s.spanContext().spanId, attributes: s.attributes, status: s.status }));
      process.stdout.write(`${JSON.stringify({ spans })}\n`);
    },
  };
}

module.exports = { setup };
