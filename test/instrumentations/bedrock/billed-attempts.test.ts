/**
 * Through the real Bedrock Runtime SDK against the fake server: each attempt
 * the SDK's retry strategy made that may have run (a 5xx, a timeout) is
 * charged the projection; the count matches the requests the fake received.
 */
import { createRequire } from 'node:module';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBedrockRoutes } from '../../../fake-provider/bedrock.js';
import { FakeProvider, sleep, type FakeRoute } from '../../../fake-provider/server.js';
import { withBedrockSpendGuard } from '../../../instrumentations/bedrock/index.js';
import { generateKeypair, InMemoryDecisionLogStore, SpendGuard, type DecisionLogEntry, type SpendDecision } from '../../../src/index.js';
import { basePolicy, clientConfig, converseInput, setupTracing, SONNET } from '../../helpers/bedrock.js';

const require = createRequire(import.meta.url);
const sdk = require('@aws-sdk/client-bedrock-runtime') as typeof import('@aws-sdk/client-bedrock-runtime');

setupTracing();
const knobs = { hangFirst: 0, notJson: false };
const hang: FakeRoute = async (_req, res) => {
  if (knobs.notJson) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('<html>upstream proxy error</html>');
    return true;
  }
  if (knobs.hangFirst <= 0) return false;
  knobs.hangFirst--;
  await sleep(1_000);
  if (!res.destroyed) res.destroy();
  return true;
};

let fake: FakeProvider;
beforeAll(async () => {
  fake = new FakeProvider([hang, ...createBedrockRoutes({})]);
  await fake.listen();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  knobs.hangFirst = 0;
  knobs.notJson = false;
});

function setup(extra: Record<string, unknown>) {
  const log = new InMemoryDecisionLogStore();
  const guard = new SpendGuard({ signingKeys: generateKeypair(), logStore: log, policies: [basePolicy()] });
  const client = withBedrockSpendGuard(new sdk.BedrockRuntimeClient(clientConfig(fake, extra)), { guard, scope: { tenantId: 'acme' } });
  const entries = () => (log.entries() as DecisionLogEntry<SpendDecision>[]).map((e) => e.decision);
  return { client, decision: () => entries().find((d) => d.entryType === 'decision')!, outcome: () => entries().find((d) => d.entryType === 'outcome') };
}

describe('bedrock: every attempt that may have been billed is charged', () => {
  it('a 503 on each of 2 attempts: both charged the projection', async () => {
    const t = setup({ maxAttempts: 2 });
    fake.behaviour.failWithStatus = 503;
    await expect(t.client.send(new sdk.ConverseCommand(converseInput(SONNET, { inferenceConfig: { maxTokens: 1_000 } })))).rejects.toThrow();
    expect(fake.requests).toHaveLength(2);
    const d = t.decision();
    expect(t.outcome()).toMatchObject({
      outcome: 'released',
      unansweredAttempts: 2,
      actualInputTokens: 2 * d.estimatedInputTokens!,
      actualOutputTokens: 2_000,
    });
  });

  it('a timed-out attempt, then a success: the usage plus one projection', async () => {
    const t = setup({ maxAttempts: 2, requestHandler: new NodeHttpHandler({ requestTimeout: 150 }) });
    knobs.hangFirst = 1;
    fake.behaviour.usage = { inputTokens: 40, outputTokens: 20 };
    await t.client.send(new sdk.ConverseCommand(converseInput(SONNET, { inferenceConfig: { maxTokens: 1_000 } })));
    expect(fake.requests).toHaveLength(2);
    const d = t.decision();
    expect(t.outcome()).toMatchObject({
      outcome: 'settled',
      unansweredAttempts: 1,
      actualInputTokens: 40 + d.estimatedInputTokens!,
      actualOutputTokens: 20 + 1_000,
    });
  });

  it('a 400 (refused) is not charged', async () => {
    const t = setup({ maxAttempts: 2 });
    fake.behaviour.failWithStatus = 400;
    await expect(t.client.send(new sdk.ConverseCommand(converseInput(SONNET)))).rejects.toThrow();
    expect(t.outcome()).toMatchObject({ outcome: 'released', actualCents: 0 });
    expect(t.outcome()).not.toHaveProperty('unansweredAttempts');
  });

  it('a 200 whose body is not JSON is charged its projection (UsageNotReported)', async () => {
    const t = setup({ maxAttempts: 1 });
    knobs.notJson = true;
    await expect(t.client.send(new sdk.ConverseCommand(converseInput(SONNET, { inferenceConfig: { maxTokens: 1_000 } })))).rejects.toThrow();
    const d = t.decision();
    expect(t.outcome()).toMatchObject({
      outcome: 'released',
      reasons: ['released: UsageNotReported'],
      actualCents: d.projectedCents,
      actualOutputTokens: 1_000,
    });
    expect(d.projectedCents).toBeGreaterThan(0);
  });
});
