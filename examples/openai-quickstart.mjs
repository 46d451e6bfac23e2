// OpenAI quickstart, in code: wrap the client; the same API, every call guarded.
// Runs offline against the built-in fake provider: `node examples/openai-quickstart.mjs`.
import OpenAI from 'openai';
import { AgentGuardBlockedError, generateKeypair, InMemoryDecisionLogStore, parsePolicy } from 'agentguard-spend';
import { verifyChain } from 'agentguard-spend/audit';
import { withSpendGuard } from 'agentguard-spend/instrumentations/openai';
import { createFakeProvider } from './lib/fake-provider.mjs';

const fake = createFakeProvider(['openai']);
const url = await fake.listen(); // stands in for https://api.openai.com

const keys = generateKeypair(); // in production: loadSigningKeysFromFile(...) from `agentguard-spend keygen`
const log = new InMemoryDecisionLogStore(); // in production: FileDecisionLogStore from 'agentguard-spend/stores'
const policy = parsePolicy({
  id: 'support-bot',
  name: 'Support bot',
  scope: { tenantId: 'acme' },
  mode: 'enforce',
  version: 1,
  effectiveFrom: '2025-01-01T00:00:00Z',
  caps: [
    { amountCents: 3, window: 'per_call', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'big calls go to gpt-4o-mini' },
    { amountCents: 50, window: 'per_call', action: 'block', reason: 'no call may cost more than 50c' },
  ],
});

const openai = withSpendGuard(new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-fake', maxRetries: 0 }), {
  policy,
  config: { signingKeys: keys, logStore: log },
  scope: { tenantId: 'acme', agentId: 'support-bot' },
});

for (const max_tokens of [200, 5_000, 100_000]) {
  try {
    const r = await openai.chat.completions.create({ model: 'gpt-4o', max_tokens, messages: [{ role: 'user', content: 'Hello' }] });
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
