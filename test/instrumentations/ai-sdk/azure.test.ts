import { describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../../fake-provider/index.js';
import { logOf, runAiSdkApp, type AiSdkCall } from '../../helpers/ai-sdk.js';
import { allText, useFakeProvider, type Workspace } from '../../helpers/register.js';

// Unmodified `@ai-sdk/azure` apps under `node --require|--import agentguard-spend/register`,
// against the fake's Azure routes. The model is the deployment: AGENTGUARD_AZURE_DEPLOYMENTS maps
// it to the model priced and decided, and a downgrade goes to the deployment serving the target.
// The fake's host is watched by the safety net as well (AGENTGUARD_PROVIDER_HOSTS), so a call the
// AI SDK integration decided and the net decided again would show as two decisions.

const { fake, workspace } = useFakeProvider();
let ws: Workspace;

const DEPLOYMENTS = 'prod-chat=gpt-4o,prod-mini=gpt-4o-mini';
const netWatchesFake = () => ({ AGENTGUARD_PROVIDER_HOSTS: `${new URL(fake().url).host}=openai` });
/** The deployment a request went to: the URL path (deployment URLs) or the body's `model` (Azure's v1 API). */
const deploymentOf = (r: RecordedRequest) => /^\/openai\/deployments\/([^/]+)\//.exec(r.path)?.[1] ?? (r.body as { model: string }).model;

const matrix = (['cjs', 'esm'] as const).flatMap((format) => (['azure', 'azure-chat'] as const).map((p) => [format, p] as const));

describe.each(matrix)('@ai-sdk/azure under register, unmodified %s app, %s model', (format, provider) => {
  it('prices the deployment at its model; a downgrade goes to the deployment serving the target; block before the provider; stream settled; decided once; verify ok', async () => {
    ws = workspace();
    const calls: AiSdkCall[] = [
      { kind: 'generateText', model: 'prod-chat', maxTokens: 200 },
      { kind: 'generateText', model: 'prod-chat', maxTokens: 20_000 },
      { kind: 'generateText', model: 'prod-chat', maxTokens: 200_000 },
      { kind: 'streamText', model: 'prod-chat', maxTokens: 200 },
    ];
    const run = await runAiSdkApp({
      format,
      provider,
      calls,
      fakeUrl: fake().url,
      ws,
      needs: ['azure'],
      env: { AGENTGUARD_AZURE_DEPLOYMENTS: DEPLOYMENTS, ...netWatchesFake() },
    });
    expect(run.code).toBe(0);
    expect(run.results.map((r) => r.ok)).toEqual([true, true, false, true]);
    expect(run.results[2]).toMatchObject({ name: 'AgentGuardBlockedError' });

    // Three requests: the downgrade went to prod-mini (in the URL path for deployment URLs, in the body on the v1 API).
    expect(fake().requests.map(deploymentOf)).toEqual(['prod-chat', 'prod-mini', 'prod-chat']);
    const paths = fake().requests.map((r) => r.path);
    if (provider === 'azure-chat') {
      expect(paths).toEqual([
        '/openai/deployments/prod-chat/chat/completions',
        '/openai/deployments/prod-mini/chat/completions',
        '/openai/deployments/prod-chat/chat/completions',
      ]);
    } else {
      expect(paths).toEqual(['/openai/v1/responses', '/openai/v1/responses', '/openai/v1/responses']);
    }

    const log = await logOf(ws);
    expect(log.verified).toBe(true);
    // One decision per call (the net saw the marked requests and left them alone); the models are the ones called.
    expect(log.decisions.map((d) => [d.action, d.provider, d.modelRequested, d.modelResolved])).toEqual([
      ['allow', 'openai', 'gpt-4o', 'gpt-4o'],
      ['downgrade', 'openai', 'gpt-4o', 'gpt-4o-mini'],
      ['block', 'openai', 'gpt-4o', 'gpt-4o'],
      ['allow', 'openai', 'gpt-4o', 'gpt-4o'],
    ]);
    expect(log.decisions.every((d) => d.projectedCents > 0)).toBe(true);
    // Settled from the usage the fake reported (the stream from its finish part).
    expect([...log.outcomes.values()].map((o) => [o.outcome, o.actualInputTokens, o.actualOutputTokens])).toEqual([
      ['settled', 25, 10],
      ['settled', 25, 10],
      ['settled', 25, 10],
    ]);
    expect(allText(ws.logDir)).not.toContain('azure-test-app');
  });
});

describe('@ai-sdk/azure under register: no deployment serves the target', () => {
  it('a downgrade no deployment serves is not taken: the call goes to the requested deployment, and the decision says why (CJS)', async () => {
    ws = workspace();
    const run = await runAiSdkApp({
      format: 'cjs',
      provider: 'azure-chat',
      calls: [{ kind: 'generateText', model: 'prod-chat', maxTokens: 20_000 }],
      fakeUrl: fake().url,
      ws,
      needs: ['azure'],
      env: { AGENTGUARD_AZURE_DEPLOYMENTS: 'prod-chat=gpt-4o' },
    });
    expect(run.results).toEqual([expect.objectContaining({ ok: true })]);
    expect(fake().requests.map((r) => r.path)).toEqual(['/openai/deployments/prod-chat/chat/completions']);
    const log = await logOf(ws);
    expect(log.decisions.map((d) => [d.action, d.modelRequested, d.modelResolved])).toEqual([['allow', 'gpt-4o', 'gpt-4o']]);
    expect(log.decisions[0]!.reasons.join(' ')).toMatch(/downgrade to gpt-4o-mini not taken/);
    expect(log.outcomes.get(log.decisions[0]!.decisionId)).toMatchObject({ outcome: 'settled', actualInputTokens: 25, actualOutputTokens: 10 });
    expect(log.verified).toBe(true);
  });
});

describe('@ai-sdk/azure embeddings under register', () => {
  it('embed and embedMany on a deployment are priced at its model, decided once, settled from the reported input (ESM)', async () => {
    ws = workspace();
    const run = await runAiSdkApp({
      format: 'esm',
      provider: 'azure',
      calls: [
        { kind: 'embed', model: 'prod-embed' },
        { kind: 'embedMany', model: 'prod-embed' },
      ],
      fakeUrl: fake().url,
      ws,
      needs: ['azure'],
      env: { AGENTGUARD_AZURE_DEPLOYMENTS: `${DEPLOYMENTS},prod-embed=text-embedding-3-small`, ...netWatchesFake() },
    });
    expect(run.results).toEqual([expect.objectContaining({ ok: true, dims: 3 }), expect.objectContaining({ ok: true, count: 2 })]);
    expect(fake().requests.map((r) => [r.path, deploymentOf(r)])).toEqual([
      ['/openai/v1/embeddings', 'prod-embed'],
      ['/openai/v1/embeddings', 'prod-embed'],
    ]);
    const log = await logOf(ws);
    expect(log.decisions.map((d) => [d.provider, d.action, d.modelRequested, d.estimatedOutputTokens])).toEqual([
      ['openai', 'allow', 'text-embedding-3-small', 0],
      ['openai', 'allow', 'text-embedding-3-small', 0],
    ]);
    expect([...log.outcomes.values()].map((o) => [o.outcome, o.actualInputTokens, o.actualOutputTokens])).toEqual([
      ['settled', 25, 0],
      ['settled', 25, 0],
    ]);
    expect(log.verified).toBe(true);
  });
});
