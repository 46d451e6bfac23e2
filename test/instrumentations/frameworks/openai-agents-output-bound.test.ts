/**
 * An unmodified OpenAI Agents SDK (`@openai/agents`) app sends no output bound.
 * With a policy's `defaultMaxOutputTokens` the guard writes that bound into the
 * call (the provider then enforces it), so a per-call cap is checked against
 * the bound instead of the model's maximum output: the call is allowed, the
 * fake receives the bound, the decision records it was set by the guard.
 * Without it the call is projected at the model's maximum and blocked, and the
 * block's reason says why and how to fix it.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { isAgentGuardBlock } from '../../../instrumentations/common/blocked.js';
import { OpenAISpendGuardInstrumentation } from '../../../instrumentations/openai/index.js';
import { parsePolicy, type SpendPolicy } from '../../../src/index.js';
import { frameworkGuard, rejectionOf, sdkOf, startFrameworkFake, type FrameworkGuard } from '../../helpers/frameworks.js';

const require = createRequire(import.meta.url);
const agents = require('@openai/agents') as typeof import('@openai/agents');
const { Agent, OpenAIChatCompletionsModel, OpenAIResponsesModel, run, setTracingDisabled } = agents;
const openaiSdk = sdkOf<typeof import('openai')>('@openai/agents', 'openai');

setTracingDisabled(true);
const instrumentation = new OpenAISpendGuardInstrumentation({ enabled: false });
instrumentation.patchExports(openaiSdk);

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFrameworkFake();
});
afterAll(async () => {
  instrumentation.unpatchExports(openaiSdk);
  await fake.close();
});
beforeEach(() => fake.reset());

const BOUND = 300;

/** 16c per call on gpt-4o: gpt-4o's maximum output (16 384 tokens) projects above it; 300 tokens are ~0.3c. */
function sixteenCentCap(extra: Partial<SpendPolicy> = {}): SpendPolicy {
  return parsePolicy({
    id: 'p-agents-bound',
    name: 'agents output bound',
    scope: { tenantId: 't1' },
    mode: 'enforce',
    version: 1,
    effectiveFrom: '2026-01-01T00:00:00Z',
    caps: [{ amountCents: 16, window: 'per_call', action: 'block', models: ['gpt-4o'], reason: '16c per gpt-4o call' }],
    ...extra,
  });
}

function guarded(policy: SpendPolicy): FrameworkGuard {
  const t = frameworkGuard([policy]);
  instrumentation.setConfig({ guard: t.guard, scope: { tenantId: 't1' } });
  instrumentation.enable();
  return t;
}

const MODES = ['responses', 'chat_completions'] as const;

/** An agent as the SDK's docs write one: no modelSettings, so no max tokens. */
function agentFor(mode: (typeof MODES)[number]) {
  const client = new openaiSdk.OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: `${fake.url}/v1` });
  const model = mode === 'responses' ? new OpenAIResponsesModel(client, 'gpt-4o') : new OpenAIChatCompletionsModel(client, 'gpt-4o');
  return new Agent({ name: 'assistant', instructions: 'Answer briefly.', model });
}

/** The output bound fields of the body the fake received. */
function sentBounds(): Record<string, unknown> {
  expect(fake.requests).toHaveLength(1);
  const body = fake.requests[0]!.body as Record<string, unknown>;
  return Object.fromEntries(['max_tokens', 'max_completion_tokens', 'max_output_tokens'].filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
}

describe.each(MODES)('@openai/agents run() (%s) without an output bound', (mode) => {
  it('with defaultMaxOutputTokens: allowed, the bound is sent, the decision says the guard set it', async () => {
    const t = guarded(sixteenCentCap({ defaultMaxOutputTokens: BOUND }));
    const result = await run(agentFor(mode), 'hi');
    expect(typeof result.finalOutput).toBe('string');
    if (mode === 'responses') expect(sentBounds()).toEqual({ max_output_tokens: BOUND });
    else expect(Object.values(sentBounds())).toEqual([BOUND]);
    const [d, ...rest] = t.decisions();
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ action: 'allow', modelRequested: 'gpt-4o', modelResolved: 'gpt-4o', estimatedOutputTokens: BOUND, outputBoundSetByGuard: true });
    expect(d!.projectedCents).toBeLessThanOrEqual(16);
    expect(t.verified()).toBe(true);
  });

  it('without it: one signed block, nothing sent, the reason names the missing bound and the fix', async () => {
    const t = guarded(sixteenCentCap());
    const { error } = await rejectionOf(() => run(agentFor(mode), 'hi'));
    expect(isAgentGuardBlock(error)).toBe(true);
    expect(fake.requests).toHaveLength(0);
    const [d, ...rest] = t.decisions();
    expect(rest).toEqual([]);
    expect(d!.action).toBe('block');
    expect(d!.outputBoundSetByGuard).toBeUndefined();
    const reasons = d!.reasons.join('\n');
    expect(reasons).toMatch(/no output bound sent/);
    expect(reasons).toMatch(/set defaultMaxOutputTokens/);
    expect(t.verified()).toBe(true);
  });
});
