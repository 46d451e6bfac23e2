'use strict';
// Stand-in for `agentguard-spend/register`, used by bench/startup.mjs only while
// that entry is not built: the same work a preload must do (read AGENTGUARD_*,
// load the policy and key, open the file log, enable the three instrumentations
// before the app's first require), from the built dist.
const tStart = performance.now();
const { configFromEnv, signingKeysFromEnv, SpendGuard } = require('../../dist/index.cjs');
const tCore = performance.now();
const { FileDecisionLogStore } = require('../../dist/exporters.cjs');

const cfg = configFromEnv();
const guard = new SpendGuard({
  policies: cfg.policies,
  signingKeys: signingKeysFromEnv(),
  logStore: new FileDecisionLogStore({ dir: cfg.logDir, durability: cfg.durability }),
  onUnknownModel: cfg.onUnknownModel,
  ...(cfg.mode ? { modeOverride: cfg.mode } : {}),
});
const common = { guard, scope: cfg.scope, ...(cfg.capabilityClaim ? { capabilityClaim: cfg.capabilityClaim } : {}) };
const { OpenAISpendGuardInstrumentation } = require('../../dist/instrumentations/openai/index.cjs');
const { AnthropicSpendGuardInstrumentation } = require('../../dist/instrumentations/anthropic/index.cjs');
const { BedrockSpendGuardInstrumentation } = require('../../dist/instrumentations/bedrock/index.cjs');
new OpenAISpendGuardInstrumentation(common);
new AnthropicSpendGuardInstrumentation(common);
new BedrockSpendGuardInstrumentation(common);
if (process.env.AGENTGUARD_BENCH_TIMING) process.stderr.write(`stand-in: node booted at ${tStart.toFixed(1)} ms, core loaded +${(tCore - tStart).toFixed(1)} ms, ready +${(performance.now() - tStart).toFixed(1)} ms\n`);
