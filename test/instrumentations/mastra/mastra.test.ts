import { describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../../fake-provider/index.js';
import { logOf, runAiSdkApp, type AiSdkCall } from '../../helpers/ai-sdk.js';
import { MODELS, useFakeProvider, type Workspace } from '../../helpers/register.js';

// Unmodified Mastra apps (`@mastra/core` agents) under `node --require|--import agentguard-spend/register`,
// against the fake provider: on AI SDK models (the model classes' patch decides each call), and on
// Mastra's own model router (its bundled provider copies: the safety net decides). The policy: over
// 10c per call → the cheap model, over $1 → blocked. Runs against the oldest supported major in
// `npm run test:matrix` (matrix.json).

const { fake, workspace } = useFakeProvider();
let ws: Workspace;

const requestedModel = (r: RecordedRequest) => (r.body as { model: string }).model;

describe.each(['cjs', 'esm'] as const)('Mastra agents on AI SDK models under register (%s)', (format) => {
  it('Agent.generate and Agent.stream are decided once each: allow, downgrade, block before the provider, stream settled', async () => {
    ws = workspace();
    const { expensive, cheap } = MODELS.openai;
    const calls: AiSdkCall[] = [
      { kind: 'mastra', model: expensive, maxTokens: 200 },
      { kind: 'mastra', model: expensive, maxTokens: 20_000 },
      { kind: 'mastra', model: expensive, maxTokens: 200_000 },
      { kind: 'mastra', model: expensive, maxTokens: 200, stream: true },
    ];
    const run = await runAiSdkApp({ format, provider: 'openai', calls, fakeUrl: fake().url, ws, needs: ['mastra'] });
    expect(run.code).toBe(0);
    expect(run.results.map((r) => r.ok)).toEqual([true, true, false, true]);
    expect(run.results[2]!.name).toBe('AgentGuardBlockedError');
    expect(fake().requests.map(requestedModel)).toEqual([expensive, cheap, expensive]);
    const log = await logOf(ws);
    expect(log.decisions.map((d) => [d.action, d.modelResolved])).toEqual([
      ['allow', expensive],
      ['downgrade', cheap],
      ['block', expensive],
      ['allow', expensive],
    ]);
    expect([...log.outcomes.values()].map((o) => [o.outcome, o.actualInputTokens, o.actualOutputTokens])).toEqual([
      ['settled', 25, 10],
      ['settled', 25, 10],
      ['settled', 25, 10],
    ]);
    expect(log.verified).toBe(true);
  });
});

describe("a block is final for Mastra's model-call retries", () => {
  // Mastra retries a failed model call (p-retry) unless the error is the AI SDK's APICallError with
  // isRetryable false; its default is 2 retries in 1.0.x and 0 in later 1.x, so both the default and
  // 2 retries asked for are tried. One logical call → one signed block, nothing sent.
  const { expensive } = MODELS.openai;

  it.each(['cjs', 'esm'] as const)('on AI SDK models: one signed block per blocked call, with the default retries and with 2 (%s)', async (format) => {
    ws = workspace();
    const calls: AiSdkCall[] = [
      { kind: 'mastra', model: expensive, maxTokens: 200_000 },
      { kind: 'mastra', model: expensive, maxTokens: 200_000, retries: 2 },
      { kind: 'mastra', model: expensive, maxTokens: 200_000, retries: 2, stream: true },
    ];
    const run = await runAiSdkApp({ format, provider: 'openai', calls, fakeUrl: fake().url, ws, needs: ['mastra'] });
    expect(run.code).toBe(0);
    expect(run.results.slice(0, 2).map((r) => [r.ok, r.name])).toEqual([
      [false, 'AgentGuardBlockedError'],
      [false, 'AgentGuardBlockedError'],
    ]);
    expect(fake().requests).toHaveLength(0);
    const log = await logOf(ws);
    expect(log.decisions.map((d) => d.action)).toEqual(['block', 'block', 'block']);
    expect(log.outcomes.size).toBe(0);
    expect(log.verified).toBe(true);
  });

  it("on Mastra's model router: the net's block is final too, with 2 retries asked for (ESM)", async () => {
    ws = workspace();
    const run = await runAiSdkApp({
      format: 'esm',
      provider: 'openai',
      calls: [{ kind: 'mastraRouter', model: expensive, maxTokens: 200_000, retries: 2 }],
      fakeUrl: fake().url,
      ws,
      needs: ['mastra'],
      env: { AGENTGUARD_PROVIDER_HOSTS: `${new URL(fake().url).host}=openai` },
    });
    expect(run.results.map((r) => [r.ok, r.name])).toEqual([[false, 'AgentGuardBlockedError']]);
    expect(fake().requests).toHaveLength(0);
    const log = await logOf(ws);
    expect(log.decisions.map((d) => d.action)).toEqual(['block']);
    expect(log.verified).toBe(true);
  });
});
