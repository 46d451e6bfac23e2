// Amazon Bedrock quickstart, in code: wrap the client; the same API, every call guarded.
// Runs offline against the built-in fake provider: `node examples/bedrock-quickstart.mjs`.
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { AgentGuardBlockedError, generateKeypair, InMemoryDecisionLogStore, parsePolicy } from 'agentguard-spend';
import { verifyChain } from 'agentguard-spend/audit';
import { withBedrockSpendGuard } from 'agentguard-spend/instrumentations/bedrock';
import { createFakeProvider } from './lib/fake-provider.mjs';

const fake = createFakeProvider(['bedrock']);
const url = await fake.listen(); // stands in for https://bedrock-runtime.<region>.amazonaws.com

const SONNET = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const keys = generateKeypair();
const log = new InMemoryDecisionLogStore();
const policy = parsePolicy({
  id: 'ops-agent',
  name: 'Ops agent',
  scope: { tenantId: 'acme' },
  mode: 'enforce',
  version: 1,
  effectiveFrom: '2025-01-01T00:00:00Z',
  caps: [
    { amountCents: 5, window: 'per_call', action: 'downgrade', downgradeTo: HAIKU, reason: 'big calls go to Haiku' },
    { amountCents: 50, window: 'per_call', action: 'block', reason: 'no call may cost more than 50c' },
  ],
});

// The fake speaks HTTP/1.1; against AWS, leave requestHandler and endpoint out.
const client = new BedrockRuntimeClient({
  region: 'us-east-1',
  endpoint: url,
  requestHandler: new NodeHttpHandler(),
  credentials: { accessKeyId: 'AKIDFAKE', secretAccessKey: 'fake' },
  maxAttempts: 1,
});
const bedrock = withBedrockSpendGuard(client, { policy, config: { signingKeys: keys, logStore: log }, scope: { tenantId: 'acme', agentId: 'ops-agent' } });

for (const maxTokens of [200, 10_000, 100_000]) {
  try {
    const r = await bedrock.send(
      new ConverseCommand({ modelId: SONNET, messages: [{ role: 'user', content: [{ text: 'Hello' }] }], inferenceConfig: { maxTokens } }),
    );
    console.log(`maxTokens ${maxTokens}: ${r.stopReason}, ${r.usage.outputTokens} output tokens`);
  } catch (err) {
    if (!(err instanceof AgentGuardBlockedError)) throw err;
    console.log(`maxTokens ${maxTokens}: blocked before the network: ${err.reason}`);
  }
}
console.log('models called:', fake.requests.map((r) => decodeURIComponent(r.path.split('/')[2])).join(', '));
console.log(
  'log:',
  log
    .entries()
    .map((e) => (e.decision.entryType === 'outcome' ? 'settled' : e.decision.action))
    .join(', '),
);
console.log('verify:', JSON.stringify(verifyChain(log.entries(), keys.publicKey)));
await fake.close();
