/**
 * A block through every way `@anthropic-ai/sdk` lets an app call: one logical
 * call → one signed block, nothing sent, the SDK's own retries (`maxRetries`)
 * never see it, and the app can catch it: as `AgentGuardBlockedError`, or
 * through `messages.stream()` (which insists on `AnthropicError`) with
 * `isAgentGuardBlock` on the error's cause chain.
 */
import * as sdk from '@anthropic-ai/sdk';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { AnthropicSpendGuardInstrumentation, withAnthropicSpendGuard } from '../../../instrumentations/anthropic/index.js';
import { agentGuardBlockOf, isAgentGuardBlock } from '../../../src/index.js';
import { AgentGuardBlockedError } from '../../../src/index.js';
import { decisions, makeGuard, MODEL, policy, setupOtel, startFake, userMessage } from '../../helpers/anthropic.js';

setupOtel();
const instrumentation = new AnthropicSpendGuardInstrumentation({ enabled: false });
instrumentation.patchExports(sdk);

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFake();
});
afterAll(async () => {
  instrumentation.unpatchExports(sdk);
  await fake.close();
});

/** 5000 output tokens of Sonnet are 7.5 cents: over the 1-cent per-call cap. */
const params = () => ({ model: MODEL, max_tokens: 5000, messages: userMessage() });

async function drain(iterable: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterable);
}

type Styles = [name: string, direct: boolean, call: (c: Anthropic) => Promise<unknown>][];
const STYLES: Styles = [
  ['messages.create', true, (c) => c.messages.create(params())],
  ['messages.create stream: true', true, (c) => c.messages.create({ ...params(), stream: true })],
  ['beta.messages.create', true, (c) => c.beta.messages.create(params())],
  ['withResponse()', true, (c) => c.messages.create(params()).withResponse()],
  ['asResponse()', true, (c) => c.messages.create(params()).asResponse()],
  ['messages.stream() iterated', false, (c) => drain(c.messages.stream(params()))],
  ['messages.stream().finalMessage()', false, (c) => c.messages.stream(params()).finalMessage()],
];
// `messages.parse()` exists from 0.6x on (the version matrix also runs 0.50.1).
if (typeof (Anthropic.Messages.prototype as { parse?: unknown }).parse === 'function') {
  STYLES.push(['messages.parse()', true, (c) => (c.messages as unknown as { parse(p: object): Promise<unknown> }).parse(params())]);
}

describe.each(['instrumentation', 'wrapper'] as const)('anthropic blocks via %s', (mode) => {
  let t: ReturnType<typeof makeGuard>;
  let client: Anthropic;
  beforeEach(() => {
    fake.reset();
    t = makeGuard(policy({ caps: [{ amountCents: 1, window: 'per_call', action: 'block', reason: 'per-call cap' }] }));
    // The SDK's own retries on: a block must not be retried.
    const raw = new Anthropic({ baseURL: fake.url, apiKey: 'sk-ant-test', maxRetries: 5, openTelemetry: false } as ConstructorParameters<typeof Anthropic>[0]);
    if (mode === 'instrumentation') {
      instrumentation.setConfig({ guard: t.guard, scope: { tenantId: 'acme' } });
      instrumentation.enable();
      client = raw;
    } else {
      instrumentation.disable();
      client = withAnthropicSpendGuard(raw, { guard: t.guard, scope: { tenantId: 'acme' } });
    }
  });

  it.each(STYLES)('%s: one signed block, nothing sent, caught as a block', async (_name, direct, call) => {
    const err = await call(client).then(
      () => undefined,
      (e: unknown) => e,
    );
    const signed = decisions(t.log).filter((d) => d.entryType === 'decision');
    expect(signed.map((d) => d.action)).toEqual(['block']);
    expect(fake.requests).toHaveLength(0);
    expect(isAgentGuardBlock(err)).toBe(true);
    const block = agentGuardBlockOf(err)!;
    expect(block).toBeInstanceOf(AgentGuardBlockedError);
    expect(block.decision.decisionId).toBe(signed[0]!.decisionId);
    if (direct) expect(err).toBe(block);
    else expect(err).toBeInstanceOf(Anthropic.AnthropicError);
  });
});
