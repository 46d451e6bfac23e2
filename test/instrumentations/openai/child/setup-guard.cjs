'use strict';
// Test-only preload shared by the CommonJS and ESM child apps: builds a guard
// from the BUILT package and enables the instrumentations in the order given by
// AG_ORDER ("ours" | "ours,contrib" | "contrib,ours"). Construction enables each
// instrumentation, and hooks run in that order when `openai` is loaded.
const { generateKeypair, InMemoryDecisionLogStore, parsePolicy, SpendGuard } = require('agentguard-spend');
const { OpenAISpendGuardInstrumentation } = require('agentguard-spend/instrumentations/openai');

const log = new InMemoryDecisionLogStore();
const guard = new SpendGuard({
  signingKeys: generateKeypair(),
  logStore: log,
  pricing: { overrides: { openai: { 'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10 } } } },
  policy: parsePolicy({
    id: 'child',
    name: 'child',
    scope: { tenantId: 't1' },
    mode: 'enforce',
    version: 1,
    effectiveFrom: '2026-01-01T00:00:00Z',
    caps: [{ amountCents: 5, window: 'per_call', action: 'block', reason: 'per-call limit' }],
  }),
});

const order = (process.env.AG_ORDER || 'ours').split(',');
const instrumentations = [];
for (const name of order) {
  if (name === 'ours') instrumentations.push(new OpenAISpendGuardInstrumentation({ guard, scope: { tenantId: 't1' } }));
  if (name === 'contrib') {
    const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');
    const { metrics } = require('@opentelemetry/api');
    const contrib = new OpenAIInstrumentation();
    contrib.setMeterProvider(metrics.getMeterProvider());
    instrumentations.push(contrib);
  }
}
globalThis.__agentguardTest = { guard, log, instrumentations };
