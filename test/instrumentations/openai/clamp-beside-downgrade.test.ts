/**
 * Clamp beside downgrade through the real `openai` SDK under the
 * instrumentation, with a policy shaped like the README's (a downgrade cap and
 * a clamping block cap): a call that fires both goes to the downgrade target
 * with its output bound clamped there, instead of being blocked. Prices are
 * output-only so projections are exact: gpt-4-turbo costs 0.003c per output
 * token, gpt-4o 0.001c, so 4000 tokens are 12c at the first and 4c at the
 * second, and a 2c cap clamps gpt-4o to exactly 2000 tokens.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type OpenAIDefault from 'openai';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { OpenAISpendGuardInstrumentation } from '../../../instrumentations/openai/index.js';
import { verifyChain } from '../../../src/audit/verify.js';
import {
  AgentGuardBlockedError,
  generateKeypair,
  InMemoryDecisionLogStore,
  SpendGuard,
  type DecisionLogEntry,
  type SpendCap,
  type SpendDecision,
} from '../../../src/index.js';
import { policy, startFake } from '../../helpers/openai.js';

const require = createRequire(import.meta.url);
const sdk = require('openai') as typeof import('openai');
const OpenAI = sdk.OpenAI as typeof OpenAIDefault;
const instrumentation = new OpenAISpendGuardInstrumentation({ enabled: false });
instrumentation.patchExports(sdk);

const PRICES = { openai: { 'gpt-4-turbo': { inputPerMTok: 0, outputPerMTok: 30 }, 'gpt-4o': { inputPerMTok: 0, outputPerMTok: 10 } } };
const DOWNGRADE: Partial<SpendCap> = { amountCents: 5, window: 'per_call', action: 'downgrade', downgradeTo: 'gpt-4o', reason: 'above 5c a call use gpt-4o' };
const CLAMPING_BLOCK: Partial<SpendCap> = { amountCents: 2, window: 'per_call', action: 'block', clampMaxTokens: true, reason: 'at most 2c a call' };

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFake();
});
afterAll(async () => {
  instrumentation.unpatchExports(sdk);
  await fake.close();
});
beforeEach(() => fake.reset());

function guarded(caps: Partial<SpendCap>[]) {
  const keys = generateKeypair();
  const log = new InMemoryDecisionLogStore();
  const guard = new SpendGuard({ signingKeys: keys, logStore: log, policies: [policy(caps)], pricing: { overrides: PRICES } });
  instrumentation.setConfig({ guard, scope: { tenantId: 't1' } });
  instrumentation.enable();
  const entries = () => log.entries() as DecisionLogEntry<SpendDecision>[];
  return {
    client: new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: `${fake.url}/v1`, maxRetries: 0 }),
    decisions: () =>
      entries()
        .map((e) => e.decision)
        .filter((d) => d.entryType === 'decision'),
    verified: () => verifyChain(entries(), keys.publicKey).ok,
  };
}

const messages = [{ role: 'user' as const, content: 'Say hello.' }];

describe('openai: a clamping block cap beside a downgrade cap', () => {
  it('chat: sent to the downgrade target with max_tokens clamped there; one signed downgrade whose reasons say both', async () => {
    const g = guarded([DOWNGRADE, CLAMPING_BLOCK]);
    await g.client.chat.completions.create({ model: 'gpt-4-turbo', messages, max_tokens: 4000 });
    expect(fake.requests).toHaveLength(1);
    const body = fake.requests[0]!.body as Record<string, unknown>;
    expect(body).toMatchObject({ model: 'gpt-4o', max_tokens: 2000 });
    expect(body).not.toHaveProperty('max_completion_tokens');
    const [d, ...rest] = g.decisions();
    expect(rest).toEqual([]);
    expect(d).toMatchObject({
      action: 'downgrade',
      modelRequested: 'gpt-4-turbo',
      modelResolved: 'gpt-4o',
      requestedMaxOutputTokens: 4000,
      clampedMaxOutputTokens: 2000,
      projectedCents: 2,
    });
    const reasons = d!.reasons.join('\n');
    expect(reasons).toContain('downgrade to gpt-4o: ');
    expect(reasons).toContain('clamped max output tokens 4000 → 2000 at gpt-4o');
    expect(g.verified()).toBe(true);
  });

  it('responses: max_output_tokens clamped at the downgrade target', async () => {
    const g = guarded([DOWNGRADE, CLAMPING_BLOCK]);
    await g.client.responses.create({ model: 'gpt-4-turbo', input: 'Say hello.', max_output_tokens: 4000 });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.body).toMatchObject({ model: 'gpt-4o', max_output_tokens: 2000 });
    expect(g.decisions().map((d) => [d.action, d.modelResolved, d.clampedMaxOutputTokens])).toEqual([['downgrade', 'gpt-4o', 2000]]);
  });

  it('blocked only when not even clampMinTokens fit at the target: nothing sent, the reason says so', async () => {
    const g = guarded([DOWNGRADE, { ...CLAMPING_BLOCK, clampMinTokens: 3000 }]);
    await expect(g.client.chat.completions.create({ model: 'gpt-4-turbo', messages, max_tokens: 4000 })).rejects.toBeInstanceOf(AgentGuardBlockedError);
    expect(fake.requests).toHaveLength(0);
    const [d, ...rest] = g.decisions();
    expect(rest).toEqual([]);
    expect(d!.action).toBe('block');
    expect(d!.reasons.join('\n')).toContain('clampMaxTokens: not even 3000 output tokens fit at gpt-4o');
    expect(g.verified()).toBe(true);
  });

  it('a block cap that does not clamp still wins: nothing sent', async () => {
    const g = guarded([DOWNGRADE, CLAMPING_BLOCK, { amountCents: 3, window: 'per_call', action: 'block', reason: 'hard 3c a call' }]);
    await expect(g.client.chat.completions.create({ model: 'gpt-4-turbo', messages, max_tokens: 4000 })).rejects.toBeInstanceOf(AgentGuardBlockedError);
    expect(fake.requests).toHaveLength(0);
    expect(g.decisions().map((d) => d.action)).toEqual(['block']);
  });
});
