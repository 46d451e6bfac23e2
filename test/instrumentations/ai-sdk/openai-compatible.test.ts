import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logOf, runAiSdkApp, type AiSdkCall } from '../../helpers/ai-sdk.js';
import { useFakeProvider, type Workspace } from '../../helpers/register.js';

// Unmodified `@ai-sdk/openai-compatible` apps under `node --require|--import agentguard-spend/register`,
// against the fake's OpenAI routes on 127.0.0.1. The provider name and the model id come from the
// model; `acme-llm` is priced by AGENTGUARD_PRICES, `groq` by the built-in price table. The fake's
// host is not a provider host the safety net knows: the model classes' patch is the only guard
// (and when the host is watched, the net leaves the decided calls alone).

const { fake, workspace } = useFakeProvider();
let ws: Workspace;

const policy = (provider: string, caps: object[]) => ({
  id: `${provider}-per-call`,
  name: `${provider} per call`,
  scope: { tenantId: 'acme', provider },
  mode: 'enforce',
  version: 1,
  effectiveFrom: '2025-01-01T00:00:00Z',
  caps,
});

/** acme-llm: over 10c per call → small-model, over $1 → blocked (prices from AGENTGUARD_PRICES); groq: over $1 → blocked. */
function compatibleWorkspace(): { ws: Workspace; env: Record<string, string> } {
  const w = workspace();
  writeFileSync(
    w.policyFile,
    JSON.stringify([
      policy('acme-llm', [
        { amountCents: 10, window: 'per_call', action: 'downgrade', downgradeTo: 'small-model', reason: 'calls over 10c go to small-model' },
        { amountCents: 100, window: 'per_call', action: 'block', reason: 'no call may cost more than $1' },
      ]),
      policy('groq', [{ amountCents: 100, window: 'per_call', action: 'block', reason: 'no call may cost more than $1' }]),
    ]),
  );
  const prices = join(w.dir, 'prices.json');
  writeFileSync(
    prices,
    JSON.stringify({
      'acme-llm': { 'big-model': { inputPerMTok: 10, outputPerMTok: 30 }, 'small-model': { inputPerMTok: 0.1, outputPerMTok: 0.4 } },
    }),
  );
  return { ws: w, env: { AGENTGUARD_PRICES: prices } };
}

describe.each(['cjs', 'esm'] as const)('@ai-sdk/openai-compatible under register, unmodified %s app', (format) => {
  it('decides every call once from the model: priced by overrides, downgrade in the request sent, block before the provider, unknown model blocked, stream settled; verify ok', async () => {
    const setup = compatibleWorkspace();
    ws = setup.ws;
    const calls: AiSdkCall[] = [
      { kind: 'generateText', model: 'big-model', maxTokens: 200 },
      { kind: 'generateText', model: 'big-model', maxTokens: 20_000 },
      { kind: 'generateText', model: 'big-model', maxTokens: 200_000 },
      { kind: 'streamText', model: 'big-model', maxTokens: 200 },
      { kind: 'generateText', model: 'mystery-model', maxTokens: 200 },
    ];
    // The fake's host watched by the net as an OpenAI host: a call decided again there (its model has no
    // OpenAI price) would be blocked, so every call below is decided by the class patch alone.
    const env = { ...setup.env, AGENTGUARD_PROVIDER_HOSTS: `${new URL(fake().url).host}=openai` };
    const run = await runAiSdkApp({ format, provider: 'compatible', calls, fakeUrl: fake().url, ws, needs: ['compatible'], env });
    expect(run.code).toBe(0);
    expect(run.results.map((r) => [r.ok, r.name])).toEqual([
      [true, undefined],
      [true, undefined],
      [false, 'AgentGuardBlockedError'],
      [true, undefined],
      [false, 'AgentGuardBlockedError'],
    ]);
    // The blocked calls never left the process; the downgrade is in the body the fake received.
    expect(fake().requests.map((r) => [r.path, (r.body as { model: string }).model])).toEqual([
      ['/v1/chat/completions', 'big-model'],
      ['/v1/chat/completions', 'small-model'],
      ['/v1/chat/completions', 'big-model'],
    ]);
    const log = await logOf(ws);
    expect(log.verified).toBe(true);
    expect(log.decisions.map((d) => [d.action, d.provider, d.modelRequested, d.modelResolved])).toEqual([
      ['allow', 'acme-llm', 'big-model', 'big-model'],
      ['downgrade', 'acme-llm', 'big-model', 'small-model'],
      ['block', 'acme-llm', 'big-model', 'big-model'],
      ['allow', 'acme-llm', 'big-model', 'big-model'],
      ['block', 'acme-llm', 'mystery-model', 'mystery-model'],
    ]);
    expect(log.decisions[4]!.reasons.join(' ')).toMatch(/unknown model/);
    // 200 output tokens at $30/M plus the input estimate: 1c (rounded up).
    expect(log.decisions[0]!.projectedCents).toBe(1);
    expect([...log.outcomes.values()].map((o) => [o.outcome, o.actualInputTokens, o.actualOutputTokens])).toEqual([
      ['settled', 25, 10],
      ['settled', 25, 10],
      ['settled', 25, 10],
    ]);
  });
});

describe('@ai-sdk/openai-compatible: a provider the price table knows, and no other guard', () => {
  it('a provider named like one the price table has (groq) is priced from the table (ESM)', async () => {
    const setup = compatibleWorkspace();
    ws = setup.ws;
    const run = await runAiSdkApp({
      format: 'esm',
      provider: 'compatible',
      calls: [{ kind: 'generateText', model: 'llama-3.3-70b-versatile', maxTokens: 500 }],
      fakeUrl: fake().url,
      ws,
      needs: ['compatible'],
      env: { ...setup.env, APP_COMPATIBLE_NAME: 'groq' },
    });
    expect(run.results).toEqual([expect.objectContaining({ ok: true })]);
    const log = await logOf(ws);
    expect(log.decisions.map((d) => [d.action, d.provider, d.modelRequested])).toEqual([['allow', 'groq', 'llama-3.3-70b-versatile']]);
    expect(log.decisions[0]!.costBasis).toMatch(/genai-prices/);
    expect(log.decisions[0]!.projectedCents).toBeGreaterThan(0);
    expect([...log.outcomes.values()].map((o) => o.outcome)).toEqual(['settled']);
  });

  it('with the AI SDK integration disabled the same call reaches the provider undecided: the safety net does not watch its host (CJS)', async () => {
    const setup = compatibleWorkspace();
    ws = setup.ws;
    const run = await runAiSdkApp({
      format: 'cjs',
      provider: 'compatible',
      calls: [{ kind: 'generateText', model: 'big-model', maxTokens: 200_000 }],
      fakeUrl: fake().url,
      ws,
      needs: ['compatible'],
      env: { ...setup.env, AGENTGUARD_DISABLED_INSTRUMENTATIONS: 'ai-sdk' },
    });
    expect(run.results).toEqual([expect.objectContaining({ ok: true })]);
    expect(fake().requests).toHaveLength(1);
    const log = await logOf(ws);
    expect(log.decisions).toHaveLength(0);
  });
});
