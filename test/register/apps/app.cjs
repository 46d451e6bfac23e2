'use strict';
// An unmodified CommonJS app: plain SDK calls, optionally with its own
// OpenTelemetry SDK (APP_TRACING=1). Run as `node --require agentguard-spend/register app.cjs`.
const tracing = process.env.APP_TRACING === '1' ? require('./tracing.cjs').setup() : null;
const provider = process.env.APP_PROVIDER;
const sdk = require({ openai: 'openai', anthropic: '@anthropic-ai/sdk', bedrock: '@aws-sdk/client-bedrock-runtime' }[provider]);
const extra = provider === 'bedrock' ? { NodeHttpHandler: require('@smithy/node-http-handler').NodeHttpHandler } : {};

require('./calls.cjs')
  .run(provider, sdk, extra)
  .then(async () => {
    if (tracing) await tracing.print();
    if (process.env.APP_WAIT === '1') setInterval(() => {}, 1000);
    if (process.env.APP_OWN_SIGTERM === '1') {
      process.on('SIGTERM', () => {
        process.stdout.write(`${JSON.stringify({ appHandledSigterm: true })}\n`);
        setTimeout(() => process.exit(0), 200);
      });
    }
  });
