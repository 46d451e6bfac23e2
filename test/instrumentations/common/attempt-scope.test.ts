/**
 * Attempts are counted without an async scope where the request carries the
 * call's attempt log to the transport (Stainless `fetchOptions`, a Bedrock
 * command's own input): entering an AsyncLocalStorage makes Node run a hook on
 * every promise of the process from then on. The scope stays the fallback
 * (a client with a fetch middleware: test/instrumentations/anthropic/billed-attempts.test.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import Anthropic from '@anthropic-ai/sdk';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { anthropicRoutes } from '../../../fake-provider/anthropic.js';
import { createBedrockRoutes } from '../../../fake-provider/bedrock.js';
import { openaiRoutes } from '../../../fake-provider/openai.js';
import { FakeProvider } from '../../../fake-provider/server.js';
import { withAnthropicSpendGuard } from '../../../instrumentations/anthropic/index.js';
import { withBedrockSpendGuard } from '../../../instrumentations/bedrock/index.js';
import { withSpendGuard } from '../../../instrumentations/openai/index.js';
import { clientConfig, converseInput, SONNET } from '../../helpers/bedrock.js';
import { makeGuard, policy } from '../../helpers/openai.js';

let fake: FakeProvider;
beforeAll(async () => {
  fake = new FakeProvider([...openaiRoutes, ...anthropicRoutes, ...createBedrockRoutes({})]);
  await fake.listen();
});
afterAll(() => fake.close());
afterEach(() => vi.restoreAllMocks());

/** Attempt logs entered as an AsyncLocalStorage store while `fn` runs. */
async function scopesEntered(fn: () => Promise<unknown>): Promise<number> {
  const run = vi.spyOn(AsyncLocalStorage.prototype, 'run');
  await fn();
  return run.mock.calls.filter(([store]) => store !== null && typeof store === 'object' && 'unanswered' in store).length;
}

const scope = { tenantId: 'acme' };

describe('attempt counting without an async scope', () => {
  it('openai and anthropic (attempt log in fetchOptions) and bedrock (keyed by the command input) enter none; each call is settled', async () => {
    const t = makeGuard([policy([])]);
    const openai = withSpendGuard(new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'k', maxRetries: 0 }), { guard: t.guard, scope });
    const anthropic = withAnthropicSpendGuard(
      new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, openTelemetry: false } as ConstructorParameters<typeof Anthropic>[0]),
      {
        guard: t.guard,
        scope,
      },
    );
    const bedrock = withBedrockSpendGuard(new BedrockRuntimeClient(clientConfig(fake)), { guard: t.guard, scope });
    const entered = await scopesEntered(async () => {
      await openai.chat.completions.create({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Say hello.' }] });
      await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'Say hello.' }] });
      await bedrock.send(new ConverseCommand(converseInput(SONNET)));
    });
    expect(entered).toBe(0);
    expect(fake.requests).toHaveLength(3);
    expect(t.outcomes().map((o) => o.outcome)).toEqual(['settled', 'settled', 'settled']);
  });
});
