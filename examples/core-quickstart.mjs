// policy → decide → settle → verifyChain, offline (no provider is called).
import { generateKeypair, InMemoryDecisionLogStore, parsePolicy, SpendGuard } from 'agentguard-spend';
import { verifyChain } from 'agentguard-spend/audit';

const policy = parsePolicy({
  id: 'acme-daily', name: 'Acme daily budget', scope: { tenantId: 'acme' }, mode: 'enforce', version: 1,
  effectiveFrom: '2026-01-01T00:00:00Z',
  caps: [{ amountCents: 500, window: 'per_day', action: 'block', reason: 'Acme spends at most $5 a day' }],
});
const keys = generateKeypair();
const log = new InMemoryDecisionLogStore();
const guard = new SpendGuard({ policy, signingKeys: keys, logStore: log });

const call = { provider: 'openai', model: 'gpt-4o', scope: { tenantId: 'acme' }, estimatedInputTokens: 1200, maxOutputTokens: 800 };
const result = await guard.decide(call);
console.log(result.action, result.modelResolved, `${result.decision.projectedCents}c reserved`);
// ...call the provider with result.modelResolved, then report its usage:
const outcome = await guard.settle(result, { inputTokens: 1180, outputTokens: 312, cachedInputTokens: 1024 });
console.log(`actual ${outcome.decision.actualCents}c`);

console.log(verifyChain(log.entries(), keys.publicKey)); // { ok: true, count: 2 }
