'use strict';
// Test-only: builds the engine from the BUILT package and runs a fixed scenario
// against the fake provider whose URL is in AGENTGUARD_FAKE_URL.
const { SpendGuard, generateKeypair, InMemoryDecisionLogStore, parsePolicy, verifyChain } = require('agentguard-spend');

function makeGuard() {
  const keys = generateKeypair();
  const log = new InMemoryDecisionLogStore();
  const policy = parsePolicy({
    id: 'child', name: 'child', scope: { tenantId: 'acme' }, mode: 'enforce', version: 1, effectiveFrom: '2025-01-01T00:00:00Z',
    caps: [{ amountCents: 0, window: 'per_call', action: 'block', reason: 'no calls for agent blocked', selector: ['tenantId'] }],
  });
  const open = parsePolicy({
    id: 'open', name: 'open', scope: { tenantId: 'open' }, mode: 'enforce', version: 1, effectiveFrom: '2025-01-01T00:00:00Z',
    caps: [{ amountCents: 100000, window: 'per_day', action: 'block', reason: 'budget' }],
  });
  const guard = new SpendGuard({ signingKeys: keys, logStore: log, policies: [policy, open] });
  return { guard, log, keys, verify: () => verifyChain(log.entries(), keys.publicKey) };
}

async function scenario(sdk, NodeHttpHandler, state) {
  const client = new sdk.BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: process.env.AGENTGUARD_FAKE_URL,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
  });
  const input = { modelId: 'anthropic.claude-3-haiku-20240307-v1:0', messages: [{ role: 'user', content: [{ text: 'hi' }] }], inferenceConfig: { maxTokens: 50 } };
  const result = { ownSend: Object.prototype.hasOwnProperty.call(sdk.BedrockRuntimeClient.prototype, 'send') };
  // Tenant "open": allowed; plain and streaming.
  // (Per-call option: no OpenTelemetry context manager is registered in this app, so
  // withSpendScope would not propagate here.)
  const open = { agentguard: { scope: { tenantId: 'open' } } };
  const out = await client.send(new sdk.ConverseCommand(input), open);
  result.allowStop = out.stopReason;
  const s = await client.send(new sdk.ConverseStreamCommand(input), open);
  let n = 0;
  for await (const _ of s.stream) n++;
  result.streamEvents = n;
  // Default tenant "acme": blocked before sending.
  try {
    await client.send(new sdk.ConverseCommand(input));
    result.blocked = 'not blocked';
  } catch (e) {
    result.blocked = e.name;
  }
  const entries = state.log.entries();
  result.actions = entries.map((e) => (e.decision.entryType === 'outcome' ? `outcome:${e.decision.outcome}` : e.decision.action));
  result.pending = state.guard.pendingCount;
  result.chain = state.verify();
  return result;
}

module.exports = { makeGuard, scenario };
