// An app with the OpenTelemetry SDK (console exporter) under --require agentguard-spend/register.
// Run: node examples/otel-console/run.mjs
import { join } from 'node:path';
import { run, setup } from '../lib/launch.mjs';

const s = await setup();
console.log('$ node --require agentguard-spend/register app.cjs');
process.exitCode = await run(['--require', 'agentguard-spend/register', join(import.meta.dirname, 'app.cjs')], s.env);
await s.fake.close();
