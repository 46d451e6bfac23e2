// Test-only ESM preload: import-in-the-middle's loader with an include list,
// then the guard and instrumentations (before the app imports `openai`).
import { register } from 'node:module';
import { createRequire } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: ['openai'] } });
createRequire(import.meta.url)('./setup-guard.cjs');
