/**
 * A block through every way the `openai` SDK lets an app call: one logical
 * call → one signed block, nothing sent, the SDK's own retries (`maxRetries`)
 * never see it, and the app can catch it: as `AgentGuardBlockedError`, or
 * through the stream helpers (which insist on `OpenAIError`) with
 * `isAgentGuardBlock` on the error's cause chain.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type OpenAIDefault from 'openai';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { OpenAISpendGuardInstrumentation, withSpendGuard } from '../../../instrumentations/openai/index.js';
import { agentGuardBlockOf, isAgentGuardBlock } from '../../../src/index.js';
import { AgentGuardBlockedError } from '../../../src/index.js';
import { makeGuard, policy, setupTracing, startFake, type TestGuard } from '../../helpers/openai.js';

const require = createRequire(import.meta.url);
const sdk = require('openai') as typeof import('openai');
const OpenAI = sdk.OpenAI as typeof OpenAIDefault;
type Client = InstanceType<typeof OpenAI>;

setupTracing();
const instrumentation = new OpenAISpendGuardInstrumentation();
instrumentation.patchExports(sdk);

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFake();
});
afterAll(async () => {
  instrumentation.disable();
  await fake.close();
});

const messages = [{ role: 'user' as const, content: 'hi' }];
/** 5000 output tokens of gpt-4o are 5 cents: over the 1-cent per-call cap. */
const chat = { model: 'gpt-4o', messages, max_tokens: 5000 };
const input = { model: 'gpt-4o', input: 'hi', max_output_tokens: 5000 };

async function drain(iterable: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterable);
}

/** Each call style, and whether the SDK lets our error through as is (`direct`) or wraps it in its own. */
const STYLES: [name: string, direct: boolean, call: (c: Client) => Promise<unknown>][] = [
  ['chat.completions.create', true, (c) => c.chat.completions.create(chat)],
  ['chat.completions.create stream: true', true, (c) => c.chat.completions.create({ ...chat, stream: true })],
  ['responses.create', true, (c) => c.responses.create(input)],
  ['responses.create stream: true', true, (c) => c.responses.create({ ...input, stream: true })],
  ['withResponse()', true, (c) => c.chat.completions.create(chat).withResponse()],
  ['asResponse()', true, (c) => c.responses.create(input).asResponse()],
  ['chat.completions.parse()', true, (c) => c.chat.completions.parse(chat)],
  ['chat.completions.stream() iterated', false, (c) => drain(c.chat.completions.stream(chat))],
  ['chat.completions.stream().finalChatCompletion()', false, (c) => c.chat.completions.stream(chat).finalChatCompletion()],
  ['responses.stream() iterated', false, (c) => drain(c.responses.stream(input))],
  ['responses.stream().finalResponse()', false, (c) => c.responses.stream(input).finalResponse()],
  ['chat.completions.runTools().finalChatCompletion()', false, (c) => c.chat.completions.runTools({ ...chat, tools: [] }).finalChatCompletion()],
];

describe.each(['instrumentation', 'wrapper'] as const)('openai blocks via %s', (mode) => {
  let t: TestGuard;
  let client: Client;
  beforeEach(() => {
    fake.reset();
    t = makeGuard([policy([{ amountCents: 1, window: 'per_call', action: 'block' }])]);
    // The SDK's own retries on: a block must not be retried.
    const raw = new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: `${fake.url}/v1`, maxRetries: 5 });
    if (mode === 'instrumentation') {
      instrumentation.setConfig({ guard: t.guard, scope: { tenantId: 't1' } });
      instrumentation.enable();
      client = raw;
    } else {
      instrumentation.disable();
      client = withSpendGuard(raw, { guard: t.guard, scope: { tenantId: 't1' } });
    }
  });

  it.each(STYLES)('%s: one signed block, nothing sent, caught as a block', async (_name, direct, call) => {
    const err = await call(client).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(t.decisions().map((d) => d.action)).toEqual(['block']);
    expect(fake.requests).toHaveLength(0);
    expect(isAgentGuardBlock(err)).toBe(true);
    const block = agentGuardBlockOf(err)!;
    expect(block).toBeInstanceOf(AgentGuardBlockedError);
    expect(block.decision.decisionId).toBe(t.decisions()[0]!.decisionId);
    // What retry handlers read as final (see test/instrumentations/frameworks/).
    expect(block).toMatchObject({ name: 'AgentGuardBlockedError', status: 403, code: 'agentguard_blocked', headers: { 'x-should-retry': 'false' } });
    expect(Object.getOwnPropertyDescriptor(block, Symbol.for('langchain.errors.retryable'))?.value).toBe(false);
    if (direct) expect(err).toBe(block);
    else expect(err).toBeInstanceOf(sdk.OpenAIError);
  });
});

describe('isAgentGuardBlock', () => {
  it('is false for other errors and for cause chains without a block (cycles included)', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(isAgentGuardBlock(b)).toBe(false);
    expect(isAgentGuardBlock(new sdk.APIError(500, undefined, 'x', undefined))).toBe(false);
    expect(isAgentGuardBlock(undefined)).toBe(false);
    expect(isAgentGuardBlock('AgentGuardBlockedError')).toBe(false);
  });

  it('recognises a block from another copy of the package by its name and signed decision', () => {
    const foreign = Object.assign(new Error('agentguard: call blocked'), { name: 'AgentGuardBlockedError', decision: { decisionId: 'd-1', action: 'block' } });
    expect(agentGuardBlockOf(new Error('wrapped', { cause: foreign }))).toBe(foreign);
    expect(isAgentGuardBlock(Object.assign(new Error('x'), { name: 'AgentGuardBlockedError' }))).toBe(false);
    // A framework may rename an error it rethrows: the code still says what it is.
    const renamed = Object.assign(new Error('x'), { name: 'SomeFrameworkError', code: 'agentguard_blocked', decision: { decisionId: 'd-2', action: 'block' } });
    expect(agentGuardBlockOf(renamed)).toBe(renamed);
    expect(isAgentGuardBlock(Object.assign(new Error('x'), { code: 'agentguard_blocked' }))).toBe(false);
  });
});
