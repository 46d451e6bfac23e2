/**
 * Money the provider may have billed without reporting it, through the real
 * `openai` SDK against the fake server: SDK retries after timeouts and 5xx
 * (each attempt the fake received is charged), and a 200 whose body is not JSON
 * (charged its projection, not released at 0).
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type OpenAIDefault from 'openai';
import { FakeProvider, sleep, type FakeRoute } from '../../../fake-provider/server.js';
import { openaiRoutes } from '../../../fake-provider/openai.js';
import { withSpendGuard } from '../../../instrumentations/openai/index.js';
import { expectedCents, makeGuard, policy, setupTracing, until, type TestGuard } from '../../helpers/openai.js';

const require = createRequire(import.meta.url);
const sdk = require('openai') as typeof import('openai');
const OpenAI = sdk.OpenAI as typeof OpenAIDefault;

setupTracing();

/** Knobs of the misbehaving route, ahead of the normal ones. */
const knobs = { hangFirst: 0, notJson: false };
const misbehave: FakeRoute = async (req, res) => {
  if (req.path !== '/v1/chat/completions') return false;
  if (knobs.hangFirst > 0) {
    knobs.hangFirst--;
    await sleep(1_000); // past the client's timeout: the SDK aborts and retries
    if (!res.destroyed) res.destroy();
    return true;
  }
  if (knobs.notJson) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('<html>upstream proxy error</html>');
    return true;
  }
  return false;
};

let fake: FakeProvider;
beforeAll(async () => {
  fake = new FakeProvider([misbehave, ...openaiRoutes]);
  await fake.listen();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  knobs.hangFirst = 0;
  knobs.notJson = false;
});

function client(t: TestGuard, options: { maxRetries: number; timeout?: number; baseURL?: string }) {
  const raw = new OpenAI({
    apiKey: 'sk-test-not-a-key',
    baseURL: options.baseURL ?? `${fake.url}/v1`,
    maxRetries: options.maxRetries,
    timeout: options.timeout ?? 10_000,
  });
  return withSpendGuard(raw, { guard: t.guard, scope: { tenantId: 't1' } });
}

const body = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'Say hello.' }], max_tokens: 1_000 };

describe('openai: every attempt that may have been billed is charged', () => {
  it('two timeouts then a success: the reported usage plus the projection for each timed-out attempt', async () => {
    const t = makeGuard([policy([])]);
    knobs.hangFirst = 2;
    const res = await client(t, { maxRetries: 2, timeout: 150 }).chat.completions.create(body);
    expect(res.usage?.prompt_tokens).toBe(25);
    expect(fake.requests).toHaveLength(3);
    await until(() => t.outcomes().length === 1);
    const [d] = t.decisions();
    const [o] = t.outcomes();
    const est = d!.estimatedInputTokens!;
    expect(o).toMatchObject({ outcome: 'settled', unansweredAttempts: 2, actualInputTokens: 25 + 2 * est, actualOutputTokens: 10 + 2 * 1_000 });
    expect(o!.actualCents).toBe(expectedCents('gpt-4o', { input: 25 + 2 * est, output: 10 + 2_000 }));
  });

  it('a 5xx on every attempt: each attempt the fake received is charged the projection', async () => {
    const t = makeGuard([policy([])]);
    fake.behaviour.failWithStatus = 500;
    await expect(client(t, { maxRetries: 1 }).chat.completions.create(body)).rejects.toThrow();
    expect(fake.requests).toHaveLength(2);
    await until(() => t.outcomes().length === 1);
    const [d] = t.decisions();
    const [o] = t.outcomes();
    expect(o).toMatchObject({ outcome: 'released', unansweredAttempts: 2, actualInputTokens: 2 * d!.estimatedInputTokens!, actualOutputTokens: 2_000 });
    expect(o!.actualCents).toBe(expectedCents('gpt-4o', { input: 2 * d!.estimatedInputTokens!, output: 2_000 }));
  });

  it('refused attempts (4xx) and a provider never reached are not charged', async () => {
    const t = makeGuard([policy([])]);
    fake.behaviour.failWithStatus = 400;
    await expect(client(t, { maxRetries: 2 }).chat.completions.create(body)).rejects.toThrow();
    await until(() => t.outcomes().length === 1);
    expect(t.outcomes()[0]).toMatchObject({ outcome: 'released', actualCents: 0 });
    expect(t.outcomes()[0]).not.toHaveProperty('unansweredAttempts');

    const closed = new FakeProvider();
    const url = await closed.listen();
    await closed.close(); // nothing listens there now: connection refused
    const t2 = makeGuard([policy([])]);
    await expect(client(t2, { maxRetries: 0, baseURL: `${url}/v1` }).chat.completions.create(body)).rejects.toThrow();
    await until(() => t2.outcomes().length === 1);
    expect(t2.outcomes()[0]).toMatchObject({ outcome: 'released', actualCents: 0 });
  });
});

describe('openai: a 200 whose body cannot be read', () => {
  it('is charged its projection (UsageNotReported), and the caller still gets the SDK’s error', async () => {
    const t = makeGuard([policy([])]);
    knobs.notJson = true;
    await expect(client(t, { maxRetries: 0 }).chat.completions.create(body)).rejects.toThrow();
    expect(fake.requests).toHaveLength(1);
    await until(() => t.outcomes().length === 1);
    const [d] = t.decisions();
    const [o] = t.outcomes();
    expect(o).toMatchObject({ outcome: 'released', actualCents: d!.projectedCents, actualInputTokens: d!.estimatedInputTokens, actualOutputTokens: 1_000 });
    expect(o!.actualCents).toBeGreaterThan(0);
    expect(o!.reasons).toEqual(['released: UsageNotReported']);
  });
});
