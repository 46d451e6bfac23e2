'use strict';
// An app with its own OpenTelemetry SDK exporting spans to the console. Run under
// `node --require agentguard-spend/register app.cjs`: the guard's spans (with the signed
// decision's id, action and entryHash) go through the SDK the app registers.
const { trace } = require('@opentelemetry/api');
const { TracerProvider, SimpleSpanProcessor, ConsoleSpanExporter } = require('@opentelemetry/sdk-trace');

const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() })] });
trace.setGlobalTracerProvider(provider);

const OpenAI = require('openai');
const openai = new OpenAI({ maxRetries: 0 });

(async () => {
  const tracer = trace.getTracer('example-app');
  // The app's own span is the parent: the guard's span and the signed decision share its trace id.
  await tracer.startActiveSpan('handle-ticket', async (span) => {
    const r = await openai.chat.completions.create({ model: 'gpt-4o', max_tokens: 5_000, messages: [{ role: 'user', content: 'Hello' }] });
    console.log(`app: answered by ${r.model}`);
    span.end();
  });
  await provider.shutdown();
})();
