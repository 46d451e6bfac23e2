// ESM app: imports the SDK normally; run with --import ./esm-preload.mjs.
import * as sdk from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createRequire } from 'node:module';

const { scenario } = createRequire(import.meta.url)('./shared.cjs');
const ns = sdk.BedrockRuntimeClient ? sdk : sdk.default;
try {
  const r = await scenario(ns, NodeHttpHandler, globalThis.__agentguardBedrockState);
  process.stdout.write(JSON.stringify(r));
} catch (e) {
  process.stderr.write(String(e && e.stack));
  process.exit(1);
}
