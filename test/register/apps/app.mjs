// An unmodified ESM app: the SDK is imported as ESM. Run as
// `node --import agentguard-spend/register app.mjs`.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tracing = process.env.APP_TRACING === '1' ? (await import('./tracing.mjs')).setup() : null;
const provider = process.env.APP_PROVIDER;
const sdk = await import({ openai: 'openai', anthropic: '@anthropic-ai/sdk', bedrock: '@aws-sdk/client-bedrock-runtime' }[provider]);
const extra = provider === 'bedrock' ? { NodeHttpHandler: (await import('@smithy/node-http-handler')).NodeHttpHandler } : {};

await require('./calls.cjs').run(provider, sdk, extra);
if (tracing) await tracing.print();
if (process.env.APP_WAIT === '1') setInterval(() => {}, 1000);
