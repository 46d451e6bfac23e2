// The ESM app's own OpenTelemetry SDK (same as tracing.cjs, imported as ESM).
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

export function setup() {
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
