'use strict';
// CommonJS app: the instrumentation is enabled before the SDK is required.
const { BedrockSpendGuardInstrumentation } = require('agentguard-spend/instrumentations/bedrock');
const { makeGuard, scenario } = require('./shared.cjs');

const state = makeGuard();
new BedrockSpendGuardInstrumentation({ guard: state.guard, scope: { tenantId: 'acme' } });

const sdk = require('@aws-sdk/client-bedrock-runtime');
const { NodeHttpHandler } = require('@smithy/node-http-handler');
scenario(sdk, NodeHttpHandler, state).then(
  (r) => process.stdout.write(JSON.stringify(r)),
  (e) => {
    process.stderr.write(String(e && e.stack));
    process.exit(1);
  },
);
