import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../../fake-provider/index.js';
import { logOf, runAiSdkApp, type AiSdkAppProvider, type AiSdkCall } from '../../helpers/ai-sdk.js';
import { allText, MODELS, PROMPT, type ProviderName, useFakeProvider, type Workspace } from '../../helpers/register.js';

// Unmodified AI SDK apps (ESM-only packages: `import`, and `require(esm)` from
// CommonJS) under `node --require|--import agentguard-spend/register`, against
// the fake provider. The policy: over 10c per call → the cheap model, over $1 → blocked.

const { fake, workspace } = useFakeProvider();
let ws: Workspace;

const engineProvider = (p: AiSdkAppProvider) => (p === 'openai-chat' ? 'openai' : p) as ProviderName;
/** The model the fake was asked for: the body's `model`, or Bedrock's URL path. */
const requestedModel = (r: RecordedRequest) => (r.path.startsWith('/model/') ? decodeURIComponent(r.path.split('/')[2]!) : (r.body as { model: string }).model);
/** The output bound the fake was asked for. */
const requestedBound = (r: RecordedRequest) => {
  const b = r.body as { max_tokens?: number; max_output_tokens?: number; inferenceConfig?: { maxTokens?: number } };
  return b.max_tokens ?? b.max_output_tokens ?? b.inferenceConfig?.maxTokens;
};
/** The usage each provider route of the fake reports (input, output). */
const FAKE_USAGE: Record<string, [number, number]> = { openai: [25, 10], anthropic: [20, 12], bedrock: [120, 40] };

const matrix = (['cjs', 'esm'] as const).flatMap((format) => (['openai', 'anthropic', 'bedrock'] as const).map((p) => [format, p] as const));

describe.each(matrix)('AI SDK under register, unmodified %s app, %s provider', (format, provider) => {
  it('decides every call once: allow, downgrade in the request sent, block before any fetch, streams and objects settled; verify ok', async () => {
    ws = workspace();
    const { expensive, cheap } = MODELS[engineProvider(provider)];
    const calls: AiSdkCall[] = [
      { kind: 'generateText', model: expensive, maxTokens: 200 },
      { kind: 'generateText', model: expensive, maxTokens: 20_000 },
      { kind: 'generateText', model: expensive, maxTokens: 200_000 },
      { kind: 'streamText', model: expensive, maxTokens: 200 },
      { kind: 'generateObject', model: expensive, maxTokens: 300 },
    ];
    const run = await runAiSdkApp({ format, provider, calls, fakeUrl: fake().url, ws });
    expect(run.code).toBe(0);
    expect(run.results.map((r) => r.ok)).toEqual([true, true, false, true, true]);
    expect(run.results[2]).toMatchObject({ name: 'AgentGuardBlockedError' });

    // The fake saw 4 requests: the blocked call never left the process; the downgrade is in the request.
    expect(fake().requests.map(requestedModel)).toEqual([expensive, cheap, expensive, expensive]);
    expect(fake().requests.map(requestedBound)).toEqual([200, 20_000, 200, 300]);

    const log = await logOf(ws);
    expect(log.verified).toBe(true);
    expect(log.decisions.map((d) => [d.action, d.modelRequested, d.modelResolved, d.provider])).toEqual([
      ['allow', expensive, expensive, engineProvider(provider)],
      ['downgrade', expensive, cheap, engineProvider(provider)],
      ['block', expensive, expensive, engineProvider(provider)],
      ['allow', expensive, expensive, engineProvider(provider)],
      ['allow', expensive, expensive, engineProvider(provider)],
    ]);
    // Every call that ran is settled from the usage the provider reported (the stream from its `finish` part).
    const [input, output] = FAKE_USAGE[engineProvider(provider)]!;
    for (const d of log.decisions.filter((d) => d.action !== 'block')) {
      expect(log.outcomes.get(d.decisionId)).toMatchObject({ outcome: 'settled', actualInputTokens: input, actualOutputTokens: output });
    }
    expect(log.outcomes.size).toBe(4);
    const text = allText(ws.logDir);
    expect(text).not.toContain(PROMPT);
    expect(text).not.toContain('test-app');
    expect(text).not.toContain(readFileSync(ws.keyFile, 'utf8').trim());
  });
});

describe('AI SDK under register: tool loops, abandoned streams, no policy surprises', () => {
  it('a tool loop is two calls, each decided once (ESM, OpenAI chat)', async () => {
    ws = workspace();
    fake().behaviour.toolCall = true;
    const run = await runAiSdkApp({
      format: 'esm',
      provider: 'openai-chat',
      calls: [{ kind: 'toolLoop', model: 'gpt-4o', maxTokens: 300 }],
      fakeUrl: fake().url,
      ws,
    });
    expect(run.results).toEqual([expect.objectContaining({ ok: true, steps: 2, toolRuns: 1 })]);
    expect(fake().requestsTo('/v1/chat/completions')).toHaveLength(2);
    const log = await logOf(ws);
    expect(log.decisions.map((d) => d.action)).toEqual(['allow', 'allow']);
    expect([...log.outcomes.values()].map((o) => o.outcome)).toEqual(['settled', 'settled']);
    expect(log.verified).toBe(true);
  });

  it('a stream the app aborts mid-way is charged what was streamed, not left open (CJS, Anthropic)', async () => {
    ws = workspace();
    fake().behaviour.chunkDelayMs = 30;
    fake().behaviour.streamChunks = 20;
    const run = await runAiSdkApp({
      format: 'cjs',
      provider: 'anthropic',
      calls: [{ kind: 'streamText', model: MODELS.anthropic.expensive, maxTokens: 200, abortAfterParts: 1 }],
      fakeUrl: fake().url,
      ws,
    });
    expect(run.results).toEqual([expect.objectContaining({ ok: true, aborted: true })]);
    const log = await logOf(ws);
    expect(log.decisions).toHaveLength(1);
    const outcome = log.outcomes.get(log.decisions[0]!.decisionId)!;
    expect(outcome.outcome).toBe('released');
    expect(outcome.reasons.join(' ')).toMatch(/StreamAbandoned|AbortError/);
    // Charged: the input estimate and the output seen (at least one token), never 0.
    expect(outcome.actualInputTokens).toBeGreaterThan(0);
    expect(outcome.actualOutputTokens).toBeGreaterThan(0);
    expect(log.verified).toBe(true);
  });

  it('without register the same app is not guarded (the guard, not the app, decides)', async () => {
    ws = workspace();
    const run = await runAiSdkApp({
      format: 'esm',
      provider: 'openai',
      calls: [{ kind: 'generateText', model: 'gpt-4o', maxTokens: 200_000 }],
      fakeUrl: fake().url,
      preload: false,
    });
    expect(run.results).toEqual([expect.objectContaining({ ok: true })]);
    expect(fake().requests).toHaveLength(1);
  });
});

describe('AI SDK embeddings under register', () => {
  // The price table has embedding models with an input price only, which the engine does not
  // price yet: they are unknown models (fail-closed in enforce) unless allowed.
  it('embed and embedMany are decided once each, output bound 0, settled from the reported input tokens (ESM)', async () => {
    ws = workspace();
    const model = 'text-embedding-3-small';
    const run = await runAiSdkApp({
      format: 'esm',
      provider: 'openai',
      calls: [
        { kind: 'embed', model },
        { kind: 'embedMany', model },
      ],
      fakeUrl: fake().url,
      ws,
    });
    expect(run.results).toEqual([expect.objectContaining({ ok: true, dims: 3 }), expect.objectContaining({ ok: true, count: 2 })]);
    expect(fake().requestsTo('/v1/embeddings')).toHaveLength(2);
    const log = await logOf(ws);
    expect(log.decisions.map((d) => [d.provider, d.action, d.modelRequested, d.estimatedOutputTokens])).toEqual([
      ['openai', 'allow', model, 0],
      ['openai', 'allow', model, 0],
    ]);
    expect([...log.outcomes.values()].map((o) => [o.outcome, o.actualInputTokens, o.actualOutputTokens])).toEqual([
      // The fake reports 25 input tokens per request.
      ['settled', 25, 0],
      ['settled', 25, 0],
    ]);
    expect(log.verified).toBe(true);
  });

  it('an embedding call the engine blocks (a model without a price) never reaches the provider (CJS)', async () => {
    ws = workspace();
    const run = await runAiSdkApp({
      format: 'cjs',
      provider: 'openai',
      calls: [{ kind: 'embed', model: 'text-embedding-none-such' }],
      fakeUrl: fake().url,
      ws,
    });
    expect(run.results).toEqual([expect.objectContaining({ ok: false, name: 'AgentGuardBlockedError' })]);
    expect(fake().requests).toHaveLength(0);
    const log = await logOf(ws);
    expect(log.decisions.map((d) => [d.action, d.modelRequested])).toEqual([['block', 'text-embedding-none-such']]);
  });
});
