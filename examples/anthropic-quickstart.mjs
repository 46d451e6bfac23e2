// Anthropic quickstart, in code: wrap the client; the same API, every call guarded.
// Runs offline against the built-in fake provider: `node examples/anthropic-quickstart.mjs`.
import Anthropic from '@anthropic-ai/sdk';
import { AgentGuardBlockedError, generateKeypair, InMemoryDecisionLogStore, parsePolicy } from 'agentguard-spend';
import { verifyChain } from 'agentguard-spend/audit';
import { withAnthropicSpendGuard } from 'agentguard-spend/instrumentations/anthropic';
import { createFakeProvider } from './lib/fake-provider.mjs';

const fake = createFakeProvider(['anthropic']);
const url = await fake.listen(); // stands in for https://api.anthropic.com

const keys = generateKeypair();
const log = new InMemoryDecisionLogStore();
const policy = parsePolicy({
  id: 'research-agent',
  name: 'Research agent',
  scope: { tenantId: 'acme' },
  mode: 'enforce',
  version: 1,
  effectiveFrom: '2025-01-01T00:00:00Z',
  caps: [
    { amountCents: 5, window: 'per_call', action: 'downgrade', downgradeTo: 'claude-3-5-haiku-20241022', reason: 'big calls go to Haiku' },
    { amountCents: 50, window: 'per_call', action: 'block', reason: 'no call may cost more than 50c' },
  ],
});

const anthropic = withAnthropicSpendGuard(new Anthropic({ baseURL: url, apiKey: 'sk-ant-fake', maxRetries: 0 }), {
  policy,
  config: { signingKeys: keys, logStore: log },
  scope: { tenantId: 'acme', agentId: 'research-agent' },
});

for (const max_tokens of [200, 10_000, 100_000]) {
  try {
    const r = await anthropic.messages.create({ model: 'claude-sonnet-4-20250514', max_tokens, messages: [{ role: 'user', content: 'Hello' }] });
    console.log(`max_tokens ${max_tokens}: answered by ${r.model}`);
  } catch (err) {
    if (!(err instanceof AgentGuardBlockedError)) throw err;
    console.log(`max_tokens ${max_tokens}: blocked before the network: ${err.reason}`);
  }
}
console.log(
  'log:',
  log
    .entries()
    .map((e) => (e.decision.entryType === 'outcome' ? 'settled' : e.decision.action))
    .join(', '),
);
console.log('verify:', JSON.stringify(verifyChain(log.entries(), keys.publicKey)));
await fake.close();
