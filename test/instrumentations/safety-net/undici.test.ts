import { describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../../fake-provider/index.js';
import { expectSignedLog, logOf, runSafetyNetApp, type RawCall } from '../../helpers/ai-sdk.js';
import { MODELS, useFakeProvider, type Workspace } from '../../helpers/register.js';

// The safety net under register over the npm `undici` package used directly (`undici.request`,
// `undici.fetch`, a `Pool`), and over the global fetch when the app made an npm `Agent` the
// global dispatcher: each provider request decided once, downgrade in the body the fake received,
// block before anything is sent, settled from the response; `block` mode refuses.

const { fake, workspace } = useFakeProvider();
let ws: Workspace;

/** The safety-net app making these calls under register, the fake's host watched. */
const runUndiciApp = (format: 'cjs' | 'esm', calls: RawCall[], env?: Record<string, string>) =>
  runSafetyNetApp(format, calls, { fakeUrl: fake().url, ws, env });

const model = (r: RecordedRequest) => (r.body as { model: string }).model;
const { expensive: GPT, cheap: GPT_MINI } = MODELS.openai;
const { expensive: CLAUDE, cheap: HAIKU } = MODELS.anthropic;

describe.each(['cjs', 'esm'] as const)('safety net over the npm undici package, decide mode, %s app', (format) => {
  it('undici.request, undici.fetch, a Pool, and the global fetch over an undici Agent: decided once each; verify ok', async () => {
    ws = workspace();
    const calls: RawCall[] = [
      { client: 'undici-request', api: 'openai-chat', model: GPT, maxTokens: 200 },
      { client: 'undici-fetch', api: 'openai-chat', model: GPT, maxTokens: 20_000 },
      { client: 'undici-pool', api: 'openai-chat', model: GPT, maxTokens: 200_000 },
      { client: 'undici-request', api: 'anthropic', model: CLAUDE, maxTokens: 20_000, stream: true },
      { client: 'undici-pool', api: 'openai-responses', model: GPT, maxTokens: 20_000 },
      { client: 'undici-global-fetch', api: 'openai-chat', model: GPT, maxTokens: 20_000 },
    ];
    const run = await runUndiciApp(format, calls);
    expect(run.stderr).not.toMatch(/NOT caught/);
    expect(run.code).toBe(0);
    expect(run.results.map((r) => [r.ok, r.ok ? r.model : r.name])).toEqual([
      [true, GPT],
      [true, GPT_MINI],
      [false, 'AgentGuardBlockedError'],
      [true, HAIKU],
      [true, GPT_MINI],
      [true, GPT_MINI],
    ]);
    expect(fake().requests.map((r) => [r.path, model(r)])).toEqual([
      ['/v1/chat/completions', GPT],
      ['/v1/chat/completions', GPT_MINI],
      ['/v1/messages', HAIKU],
      ['/v1/responses', GPT_MINI],
      ['/v1/chat/completions', GPT_MINI],
    ]);
    // The rewritten body went with its own length.
    expect(fake().requests[1]!.headers['content-length']).toBe(String(Buffer.byteLength(JSON.stringify(fake().requests[1]!.body))));

    await expectSignedLog(ws, {
      decisions: [
        ['openai', 'allow', GPT],
        ['openai', 'downgrade', GPT_MINI],
        ['openai', 'block', GPT],
        ['anthropic', 'downgrade', HAIKU],
        ['openai', 'downgrade', GPT_MINI],
        ['openai', 'downgrade', GPT_MINI],
      ],
      settled: [
        [25, 10],
        [25, 10],
        [20, 12],
        [25, 10],
        [25, 10],
      ],
    });
  });
});

describe('safety net over the npm undici package, other modes', () => {
  it('block: undici.request and a Pool fail closed with the error naming the setting; nothing is sent', async () => {
    ws = workspace();
    const calls: RawCall[] = [
      { client: 'undici-request', api: 'openai-chat', model: GPT, maxTokens: 200 },
      { client: 'undici-pool', api: 'anthropic', model: CLAUDE, maxTokens: 200 },
    ];
    const run = await runUndiciApp('cjs', calls, { AGENTGUARD_UNGUARDED: 'block' });
    expect(run.code).toBe(0);
    expect(run.results.map((r) => [r.ok, r.name])).toEqual([
      [false, 'UnguardedCallError'],
      [false, 'UnguardedCallError'],
    ]);
    expect(run.results[0]!.message).toContain('AGENTGUARD_UNGUARDED=warn');
    expect(fake().requests).toEqual([]);
  });

  it("decide: a block through undici.fetch rejects as undici's fetch reports a failed request, with the block as its cause", async () => {
    ws = workspace();
    const calls: RawCall[] = [{ client: 'undici-fetch', api: 'openai-responses', model: GPT, maxTokens: 200_000, stream: true }];
    const run = await runUndiciApp('esm', calls);
    expect(run.results).toEqual([expect.objectContaining({ ok: false, name: 'TypeError', cause: 'AgentGuardBlockedError' })]);
    expect(fake().requests).toEqual([]);
    const log = await logOf(ws);
    expect(log.decisions.map((d) => d.action)).toEqual(['block']);
  });

  it('warn: sent unchanged, one warning line, recorded in shadow', async () => {
    ws = workspace();
    const calls: RawCall[] = [{ client: 'undici-request', api: 'openai-chat', model: GPT, maxTokens: 200_000 }];
    const run = await runUndiciApp('cjs', calls, { AGENTGUARD_UNGUARDED: 'warn' });
    expect(run.results.map((r) => [r.ok, r.model])).toEqual([[true, GPT]]);
    expect(run.stderr.match(/AGENTGUARD_UNGUARDED=warn/g)).toHaveLength(1);
    expect(fake().requests.map(model)).toEqual([GPT]);
    const log = await logOf(ws);
    expect(log.verified).toBe(true);
    expect(log.decisions.map((d) => [d.action, d.enforcementMode])).toEqual([['block', 'shadow']]);
  });
});
