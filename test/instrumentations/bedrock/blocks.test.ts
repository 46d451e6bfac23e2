/**
 * A block through every way `@aws-sdk/client-bedrock-runtime` lets an app
 * call: one logical call → one signed block, nothing sent, the SDK's own
 * retries (`maxAttempts`) never see it, and the app catches it as
 * `AgentGuardBlockedError` (promise and callback forms, the client and the
 * aggregated `BedrockRuntime`).
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BedrockSpendGuardInstrumentation, withBedrockSpendGuard } from '../../../instrumentations/bedrock/index.js';
import { agentGuardBlockOf, isAgentGuardBlock } from '../../../src/index.js';
import { AgentGuardBlockedError } from '../../../src/index.js';
import { clientConfig, converseInput, decisions, policy, resetHarness, SONNET, startHarness, type Harness } from '../../helpers/bedrock.js';

const require = createRequire(import.meta.url);
type Sdk = typeof import('@aws-sdk/client-bedrock-runtime');
const SCOPE = { tenantId: 'acme' };

let h: Harness;
let instrumentation: BedrockSpendGuardInstrumentation;
let sdk: Sdk;
beforeAll(async () => {
  h = await startHarness();
  instrumentation = new BedrockSpendGuardInstrumentation({ guard: h.guard, scope: SCOPE });
  sdk = require('@aws-sdk/client-bedrock-runtime') as Sdk;
});
afterAll(async () => {
  instrumentation.disable();
  await h.fake.close();
});

/** 5000 output tokens of Claude 3.5 Sonnet are 7.5 cents: over the 1-cent per-call cap. */
const converse = () => converseInput(SONNET, { inferenceConfig: { maxTokens: 5000 } });
const invoke = () => ({
  modelId: SONNET,
  contentType: 'application/json',
  body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 5000, messages: [{ role: 'user', content: 'hi' }] }),
});

type Client = InstanceType<Sdk['BedrockRuntime']>;
const STYLES: [name: string, call: (c: Client) => Promise<unknown>][] = [
  ['send(ConverseCommand)', (c) => c.send(new sdk.ConverseCommand(converse()))],
  ['send(ConverseStreamCommand)', (c) => c.send(new sdk.ConverseStreamCommand(converse()))],
  ['send(InvokeModelCommand)', (c) => c.send(new sdk.InvokeModelCommand(invoke()))],
  ['send(InvokeModelWithResponseStreamCommand)', (c) => c.send(new sdk.InvokeModelWithResponseStreamCommand(invoke()))],
  ['converse() of BedrockRuntime', (c) => c.converse(converse())],
  [
    'send(command, callback)',
    (c) => new Promise((resolve, reject) => c.send(new sdk.ConverseCommand(converse()), (err: unknown, out: unknown) => (err ? reject(err) : resolve(out)))),
  ],
];

describe.each(['instrumentation', 'wrapper'] as const)('bedrock blocks via %s', (mode) => {
  let client: Client;
  beforeEach(() => {
    resetHarness(h, [policy({ caps: [{ amountCents: 1, window: 'per_call', action: 'block', reason: 'per-call cap' }] })]);
    // The SDK's own retries on: a block must not be retried.
    const raw = new sdk.BedrockRuntime(clientConfig(h.fake, { maxAttempts: 5 }));
    if (mode === 'instrumentation') {
      instrumentation.setConfig({ guard: h.guard, scope: SCOPE });
      instrumentation.enable();
      client = raw;
    } else {
      instrumentation.disable();
      client = withBedrockSpendGuard(raw, { guard: h.guard, scope: SCOPE });
    }
  });

  it.each(STYLES)('%s: one signed block, nothing sent, an AgentGuardBlockedError', async (_name, call) => {
    const err = await call(client).then(
      () => undefined,
      (e: unknown) => e,
    );
    const signed = decisions(h.log);
    expect(signed.map((d) => d.action)).toEqual(['block']);
    expect(h.fake.requests).toHaveLength(0);
    expect(err).toBeInstanceOf(AgentGuardBlockedError);
    expect(isAgentGuardBlock(err)).toBe(true);
    expect(agentGuardBlockOf(err)!.decision.decisionId).toBe(signed[0]!.decisionId);
  });
});
