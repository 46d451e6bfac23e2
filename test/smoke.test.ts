import { describe, expect, it } from 'vitest';
import { generateKeypair, InMemoryDecisionLogStore, parsePolicy, SpendGuard, verifyChain } from '../src/index.js';

describe('smoke', () => {
  it('decides, settles and verifies', async () => {
    const keys = generateKeypair();
    const log = new InMemoryDecisionLogStore();
    const guard = new SpendGuard({
      signingKeys: keys,
      logStore: log,
      policy: parsePolicy({ id: 'p', name: 'p', scope: { tenantId: 't' }, mode: 'enforce', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', caps: [] }),
    });
    const r = await guard.decide({ provider: 'openai', model: 'gpt-4o', scope: { tenantId: 't' }, estimatedInputTokens: 10, maxOutputTokens: 10 });
    expect(r.action).toBe('allow');
    await guard.settle(r, { inputTokens: 10, outputTokens: 5 });
    expect(verifyChain(log.entries(), keys.publicKey)).toEqual({ ok: true, count: 2 });
  });
});
