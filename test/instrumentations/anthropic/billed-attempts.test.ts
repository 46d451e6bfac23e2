/**
 * Through the real `@anthropic-ai/sdk` against the fake server: each attempt
 * the SDK retried after a timeout is charged the projection, and a 200 whose
 * body is not JSON is charged its projection instead of being released at 0.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { anthropicRoutes } from '../../../fake-provider/anthropic.js';
import { FakeProvider, sleep, type FakeRoute } from '../../../fake-provider/server.js';
import { withAnthropicSpendGuard } from '../../../instrumentations/anthropic/index.js';
import { lastDecision, lastOutcome, makeGuard, MODEL, setupOtel } from '../../helpers/anthropic.js';

/** Client `middleware` came with the SDK's core/middleware module; older SDKs (the matrix's oldest) have neither. */
const sdkHasMiddleware = existsSync(join(dirname(createRequire(import.meta.url).resolve('@anthropic-ai/sdk')), 'core', 'middleware.js'));

setupOtel();
const knobs = { hangFirst: 0, notJson: false };
const misbehave: FakeRoute = async (req, res) => {
  if (req.path !== '/v1/messages') return false;
  if (knobs.hangFirst > 0) {
    knobs.hangFirst--;
    await sleep(1_000);
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
  fake = new FakeProvider([misbehave, ...anthropicRoutes]);
  await fake.listen();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  knobs.hangFirst = 0;
  knobs.notJson = false;
});

const params = { model: MODEL, max_tokens: 1_000, messages: [{ role: 'user' as const, content: 'Say hello.' }] };
const settled = async (log: Parameters<typeof lastOutcome>[0]) => {
  for (let i = 0; i < 400 && !lastOutcome(log); i++) await sleep(5);
  return lastOutcome(log)!;
};

describe('anthropic: billed attempts and unreadable bodies', () => {
  it('a timed-out attempt before a success is charged the projection', async () => {
    const { guard, log } = makeGuard();
    knobs.hangFirst = 1;
    const client = withAnthropicSpendGuard(
      new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 1, timeout: 150, openTelemetry: false } as ConstructorParameters<typeof Anthropic>[0]),
      { guard, scope: { tenantId: 'acme' } },
    );
    const res = await client.messages.create(params);
    expect(fake.requests).toHaveLength(2);
    const o = await settled(log);
    const est = lastDecision(log)!.estimatedInputTokens!;
    expect(o).toMatchObject({
      outcome: 'settled',
      unansweredAttempts: 1,
      actualInputTokens: res.usage.input_tokens + est,
      actualOutputTokens: res.usage.output_tokens + 1_000,
    });
  });

  it('a wrapped client used for many calls counts each attempt once (its transport is wrapped once)', async () => {
    const { guard, log } = makeGuard();
    const client = withAnthropicSpendGuard(
      new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 1, timeout: 150, openTelemetry: false } as ConstructorParameters<typeof Anthropic>[0]),
      { guard, scope: { tenantId: 'acme' } },
    );
    for (let i = 0; i < 5; i++) await client.messages.create(params);
    knobs.hangFirst = 1;
    const res = await client.messages.create(params);
    expect(fake.requests).toHaveLength(7);
    const o = await settled(log);
    expect(o).toMatchObject({
      outcome: 'settled',
      unansweredAttempts: 1,
      actualInputTokens: res.usage.input_tokens + lastDecision(log)!.estimatedInputTokens!,
    });
  });

  it.runIf(sdkHasMiddleware)(
    'a client middleware that rebuilds the request (dropping the attempt log it carries): retried attempts are still charged',
    async () => {
      const { guard, log } = makeGuard();
      knobs.hangFirst = 1;
      let rebuilt = 0;
      // Passes on only the standard fields: whatever else the SDK put in the request is gone.
      const rebuild = (request: Record<string, unknown>, next: (r: unknown) => Promise<unknown>) => {
        rebuilt++;
        const { url, method, headers, body, signal } = request;
        return next({ url, method, headers, body, signal });
      };
      const client = withAnthropicSpendGuard(
        // `middleware` exists in the locked SDK only: typed loosely so the test compiles against older ones too.
        new Anthropic({
          baseURL: fake.url,
          apiKey: 'k',
          maxRetries: 1,
          timeout: 150,
          openTelemetry: false,
          middleware: [rebuild],
        } as unknown as ConstructorParameters<typeof Anthropic>[0]),
        { guard, scope: { tenantId: 'acme' } },
      );
      const res = await client.messages.create(params);
      expect(fake.requests).toHaveLength(2);
      expect(rebuilt).toBe(2);
      const o = await settled(log);
      expect(o).toMatchObject({
        outcome: 'settled',
        unansweredAttempts: 1,
        actualInputTokens: res.usage.input_tokens + lastDecision(log)!.estimatedInputTokens!,
      });
    },
  );

  it('a 200 with a non-JSON body is charged its projection (UsageNotReported)', async () => {
    const { guard, log } = makeGuard();
    knobs.notJson = true;
    const client = withAnthropicSpendGuard(
      new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, openTelemetry: false } as ConstructorParameters<typeof Anthropic>[0]),
      { guard, scope: { tenantId: 'acme' } },
    );
    await expect(client.messages.create(params)).rejects.toThrow();
    const o = await settled(log);
    const d = lastDecision(log)!;
    expect(o).toMatchObject({ outcome: 'released', reasons: ['released: UsageNotReported'], actualCents: d.projectedCents, actualOutputTokens: 1_000 });
    expect(o.actualCents).toBeGreaterThan(0);
  });
});
