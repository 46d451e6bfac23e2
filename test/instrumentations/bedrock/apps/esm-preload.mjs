// Test-only ESM preload (the product's `register` entry point comes later): registers
// import-in-the-middle's hook for the Bedrock SDK only, then enables the instrumentation.
import { register, createRequire } from 'node:module';
import { BedrockSpendGuardInstrumentation } from 'agentguard-spend/instrumentations/bedrock';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: ['@aws-sdk/client-bedrock-runtime'] } });

const { makeGuard } = createRequire(import.meta.url)('./shared.cjs');
const state = makeGuard();
new BedrockSpendGuardInstrumentation({ guard: state.guard, scope: { tenantId: 'acme' } });
globalThis.__agentguardBedrockState = state;
