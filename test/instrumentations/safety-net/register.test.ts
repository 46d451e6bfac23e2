import { describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../../fake-provider/index.js';
import { expectSignedLog, logOf, runAiSdkApp, runSafetyNetApp, type RawCall } from '../../helpers/ai-sdk.js';
import { agentguardEnv, allText, callResults, MODELS, PROMPT, runApp, threeCalls, useFakeProvider, type Workspace } from '../../helpers/register.js';

// The safety net under register: raw `fetch` and `node:http` requests (no
// provider SDK) to the fake provider, whose host is watched through
// AGENTGUARD_PROVIDER_HOSTS (the real provider hosts are watched by default).

const { fake, workspace } = useFakeProvider();
let ws: Workspace;
const hosts = () => new URL(fake().url).host;

/** The safety-net app (raw fetch and node:http requests) under register, the fake's host watched. */
const runNetApp = (format: 'cjs' | 'esm', calls: RawCall[], env?: Record<string, string>) => runSafetyNetApp(format, calls, { fakeUrl: fake().url, ws, env });

const model = (r: RecordedRequest) => (r.body as { model: string }).model;
const bound = (r: RecordedRequest) => (r.body as { max_tokens: number }).max_tokens;
const { expensive: GPT, cheap: GPT_MINI } = MODELS.openai;
const { expensive: CLAUDE, cheap: HAIKU } = MODELS.anthropic;

describe.each(['cjs', 'esm'] as const)('safety net, decide mode (the default), %s app', (format) => {
  it('decides raw fetch and node:http provider requests: downgrade rewritten in the body, block before anything is sent, streams settled; verify ok', async () => {
    ws = workspace();
    const calls: RawCall[] = [
      { client: 'fetch', api: 'openai-chat', model: GPT, maxTokens: 200 },
      { client: 'fetch', api: 'openai-chat', model: GPT, maxTokens: 20_000 },
      { client: 'fetch', api: 'openai-chat', model: GPT, maxTokens: 200_000 },
      { client: 'fetch', api: 'anthropic', model: CLAUDE, maxTokens: 20_000, stream: true },
      { client: 'http', api: 'openai-chat', model: GPT, maxTokens: 20_000 },
      { client: 'http', api: 'anthropic', model: CLAUDE, maxTokens: 200_000 },
      { client: 'http', api: 'openai-chat', model: GPT, maxTokens: 200, stream: true },
    ];
    const run = await runNetApp(format, calls);
    expect(run.code).toBe(0);
    expect(run.results.map((r) => [r.ok, r.ok ? r.model : r.name])).toEqual([
      [true, GPT],
      [true, GPT_MINI],
      [false, 'AgentGuardBlockedError'],
      [true, HAIKU],
      [true, GPT_MINI],
      [false, 'AgentGuardBlockedError'],
      [true, GPT],
    ]);
    // What the provider received: the downgrades in the body, nothing of the blocked calls.
    expect(fake().requests.map((r) => [r.path, model(r), bound(r)])).toEqual([
      ['/v1/chat/completions', GPT, 200],
      ['/v1/chat/completions', GPT_MINI, 20_000],
      ['/v1/messages', HAIKU, 20_000],
      ['/v1/chat/completions', GPT_MINI, 20_000],
      ['/v1/chat/completions', GPT, 200],
    ]);
    // node:http's Content-Length was rewritten with the body.
    expect(fake().requests[3]!.headers['content-length']).toBe(String(Buffer.byteLength(JSON.stringify(fake().requests[3]!.body))));

    await expectSignedLog(ws, {
      decisions: [
        ['openai', 'allow', GPT],
        ['openai', 'downgrade', GPT_MINI],
        ['openai', 'block', GPT],
        ['anthropic', 'downgrade', HAIKU],
        ['openai', 'downgrade', GPT_MINI],
        ['anthropic', 'block', CLAUDE],
        ['openai', 'allow', GPT],
      ],
      // Settled from what the provider reported: JSON bodies and event streams alike.
      settled: [
        [25, 10],
        [25, 10],
        [20, 12],
        [25, 10],
        [25, 10],
      ],
    });
    const text = allText(ws.logDir);
    expect(text).not.toContain(PROMPT);
    expect(text).not.toContain('sk-test-app');
  });
});

describe('safety net modes', () => {
  it('block: an unguarded provider request fails closed, naming the setting; nothing is sent', async () => {
    ws = workspace();
    const calls: RawCall[] = [
      { client: 'fetch', api: 'openai-chat', model: GPT, maxTokens: 200 },
      { client: 'http', api: 'anthropic', model: CLAUDE, maxTokens: 200 },
    ];
    const run = await runNetApp('cjs', calls, { AGENTGUARD_UNGUARDED: 'block' });
    expect(run.results.map((r) => [r.ok, r.name])).toEqual([
      [false, 'UnguardedCallError'],
      [false, 'UnguardedCallError'],
    ]);
    expect(run.results[0]!.message).toContain('AGENTGUARD_UNGUARDED');
    expect(fake().requests).toHaveLength(0);
  });

  it('warn: requests pass unchanged, one stderr line each, a signed shadow entry each (on the unguarded chain), settled; verify ok', async () => {
    ws = workspace();
    const calls: RawCall[] = [
      { client: 'fetch', api: 'openai-chat', model: GPT, maxTokens: 200_000 },
      { client: 'http', api: 'anthropic', model: CLAUDE, maxTokens: 200 },
    ];
    const run = await runNetApp('esm', calls, { AGENTGUARD_UNGUARDED: 'warn' });
    expect(run.results.map((r) => r.ok)).toEqual([true, true]);
    expect(fake().requests.map((r) => [model(r), bound(r)])).toEqual([
      [GPT, 200_000],
      [CLAUDE, 200],
    ]);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/unguarded openai request to .* sent without enforcement \(AGENTGUARD_UNGUARDED=warn\)/);
    const log = await logOf(ws);
    expect(log.chains.map((c) => c.chainId)).toEqual([expect.stringMatching(/^unguarded-/)]);
    expect(log.decisions.map((d) => [d.enforcementMode, d.action, d.modelRequested])).toEqual([
      ['shadow', 'block', GPT],
      ['shadow', 'allow', CLAUDE],
    ]);
    expect([...log.outcomes.values()].map((o) => o.outcome)).toEqual(['settled', 'settled']);
    expect(log.verified).toBe(true);
  });

  it('decide: a body the net cannot read is refused, never passed silently', async () => {
    ws = workspace();
    const run = await runNetApp('cjs', [
      { client: 'fetch', api: 'raw', body: 'model=gpt-4o&max_tokens=10' },
      { client: 'http', api: 'raw', body: 'not json' },
    ]);
    expect(run.results.map((r) => [r.ok, r.name])).toEqual([
      [false, 'UnguardedCallError'],
      [false, 'UnguardedCallError'],
    ]);
    expect(run.results[0]!.message).toContain('cannot read the JSON body');
    expect(fake().requests).toHaveLength(0);
  });

  it('a bad AGENTGUARD_UNGUARDED or AGENTGUARD_PROVIDER_HOSTS stops the app before it runs, naming the variable', async () => {
    ws = workspace();
    for (const [env, variable] of [
      [{ AGENTGUARD_UNGUARDED: 'maybe' }, 'AGENTGUARD_UNGUARDED'],
      [{ AGENTGUARD_PROVIDER_HOSTS: 'proxy.internal=gemini' }, 'AGENTGUARD_PROVIDER_HOSTS'],
    ] as const) {
      const run = await runAiSdkApp({ app: 'safety-net', format: 'cjs', provider: 'openai', calls: [], fakeUrl: fake().url, ws, env });
      expect(run.code).toBe(78);
      expect(run.stderr).toContain(variable);
    }
  });
});

describe('a call is never decided twice', () => {
  it.each(['openai', 'anthropic', 'bedrock'] as const)(
    '%s SDK calls its instrumentation decided pass the net (the fake host watched): one decision per call',
    async (provider) => {
      ws = workspace();
      const run = await runApp({
        format: 'cjs',
        provider,
        calls: threeCalls(provider),
        fakeUrl: fake().url,
        env: { ...agentguardEnv(ws), AGENTGUARD_PROVIDER_HOSTS: hosts() },
      });
      expect(callResults(run).map((r) => r.ok)).toEqual([true, true, false]);
      const log = await logOf(ws);
      expect(log.decisions.map((d) => [d.provider, d.action])).toEqual([
        [provider, 'allow'],
        [provider, 'downgrade'],
        [provider, 'block'],
      ]);
      expect(fake().requests.map(MODELS[provider].requested)).toEqual([MODELS[provider].expensive, MODELS[provider].cheap]);
    },
  );

  it('an explicit wrapper over the register-instrumented openai client (the fake host watched): decided by the wrapper only', async () => {
    ws = workspace();
    const { execFile } = await import('node:child_process');
    const { root } = await import('../../helpers/register.js');
    const script = [
      "const OpenAI = require('openai');",
      "const { generateKeypair, InMemoryDecisionLogStore, parsePolicy, SpendGuard } = require('agentguard-spend');",
      "const { withSpendGuard } = require('agentguard-spend/instrumentations/openai');",
      "const policy = parsePolicy({ id: 'explicit', name: 'explicit', scope: { tenantId: 'acme' }, mode: 'enforce', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', caps: [{ amountCents: 500, window: 'per_day', action: 'block', reason: 'daily' }] });",
      'const log = new InMemoryDecisionLogStore();',
      'const guard = new SpendGuard({ policy, signingKeys: generateKeypair(), logStore: log });',
      "const client = withSpendGuard(new OpenAI({ baseURL: process.env.FAKE_URL + '/v1', apiKey: 'sk-test-app', maxRetries: 0 }), { guard, scope: { tenantId: 'acme' } });",
      "client.chat.completions.create({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })",
      '  .then((r) => console.log(JSON.stringify({ model: r.model, wrapperEntries: log.entries().length })));',
    ].join('\n');
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGUARD_'))),
      ...agentguardEnv(ws),
      FAKE_URL: fake().url,
      AGENTGUARD_PROVIDER_HOSTS: hosts(),
    };
    const run = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(process.execPath, ['--require', 'agentguard-spend/register', '-e', script], { cwd: root, env, encoding: 'utf8' }, (err, stdout, stderr) =>
        err ? reject(err) : resolve({ stdout, stderr }),
      ),
    );
    expect(run.stderr).toBe('');
    // The wrapper's engine: its decision and outcome.
    expect(JSON.parse(run.stdout)).toEqual({ model: GPT, wrapperEntries: 2 });
    expect(fake().requests.map(model)).toEqual([GPT]);
    // register's engine (its instrumentation passed the call through; the net saw the mark): nothing decided.
    const log = await logOf(ws);
    expect(log.decisions).toEqual([]);
  });

  it('AI SDK calls are decided once by the AI SDK integration, or — with it disabled — once by the net', async () => {
    const calls = [
      { kind: 'generateText', model: GPT, maxTokens: 200 },
      { kind: 'generateText', model: GPT, maxTokens: 20_000 },
      { kind: 'streamText', model: GPT, maxTokens: 200 },
    ] as const;
    for (const disabled of [undefined, 'ai-sdk']) {
      ws = workspace();
      fake().reset();
      const run = await runAiSdkApp({
        format: 'esm',
        provider: 'openai-chat',
        calls: [...calls],
        fakeUrl: fake().url,
        ws,
        env: { AGENTGUARD_PROVIDER_HOSTS: hosts(), AGENTGUARD_DISABLED_INSTRUMENTATIONS: disabled },
      });
      expect(run.results.map((r) => r.ok)).toEqual([true, true, true]);
      const log = await logOf(ws);
      expect(log.decisions.map((d) => [d.action, d.modelResolved])).toEqual([
        ['allow', GPT],
        ['downgrade', GPT_MINI],
        ['allow', GPT],
      ]);
      expect(fake().requests.map(model)).toEqual([GPT, GPT_MINI, GPT]);
      expect([...log.outcomes.values()].map((o) => [o.outcome, o.actualInputTokens])).toEqual([
        ['settled', 25],
        ['settled', 25],
        ['settled', 25],
      ]);
      ws.cleanup();
    }
  });
});

describe('what no SDK-level guard knows is caught below', () => {
  it('Mastra agents on its own model router (bundled provider copies) are decided once, by the net (ESM)', async () => {
    ws = workspace();
    const calls = [
      { kind: 'mastraRouter', model: GPT, maxTokens: 200 },
      { kind: 'mastraRouter', model: GPT, maxTokens: 20_000 },
      { kind: 'mastraRouter', model: GPT, maxTokens: 200_000 },
    ] as const;
    const run = await runAiSdkApp({
      format: 'esm',
      provider: 'openai',
      calls: [...calls],
      fakeUrl: fake().url,
      ws,
      needs: ['mastra'],
      env: { AGENTGUARD_PROVIDER_HOSTS: hosts() },
    });
    expect(run.results.map((r) => [r.ok, r.name])).toEqual([
      [true, undefined],
      [true, undefined],
      [false, 'AgentGuardBlockedError'],
    ]);
    expect(fake().requests.map(model)).toEqual([GPT, GPT_MINI]);
    const log = await logOf(ws);
    expect(log.decisions.map((d) => [d.action, d.modelResolved])).toEqual([
      ['allow', GPT],
      ['downgrade', GPT_MINI],
      ['block', GPT],
    ]);
    expect([...log.outcomes.values()].map((o) => [o.outcome, o.actualInputTokens])).toEqual([
      ['settled', 25],
      ['settled', 25],
    ]);
    expect(log.verified).toBe(true);

    // The same app with the fake's host not watched: nothing above the net knows these calls.
    ws.cleanup();
    ws = workspace();
    fake().reset();
    const unwatched = await runAiSdkApp({ format: 'esm', provider: 'openai', calls: [calls[2]], fakeUrl: fake().url, ws, needs: ['mastra'] });
    expect(unwatched.results.map((r) => r.ok)).toEqual([true]);
    expect((await logOf(ws)).decisions).toHaveLength(0);
  });
});

describe('start-up', () => {
  it('register loads none of node:http, https, http2 for the net: each is patched when the app first loads it', async () => {
    ws = workspace();
    const { spawnSync } = await import('node:child_process');
    const { root } = await import('../../helpers/register.js');
    const script = 'console.log(JSON.stringify(process.moduleLoadList.filter((m) => /^NativeModule (http|https|http2)$/.test(m))))';
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGUARD_'))), ...agentguardEnv(ws) };
    const r = spawnSync(process.execPath, ['--require', 'agentguard-spend/register', '-e', script], { cwd: root, env, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it('a provider request made before the engine started is caught: the net starts the engine then, and it is decided', async () => {
    ws = workspace();
    const { execFile } = await import('node:child_process');
    const { root } = await import('../../helpers/register.js');
    const script = [
      "const { registration } = require('agentguard-spend/register');",
      'const before = registration.engineStarted;',
      "fetch(process.env.FAKE_URL + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', max_tokens: 20000, messages: [{ role: 'user', content: 'hi' }] }) })",
      '  .then((r) => r.json())',
      '  .then((b) => console.log(JSON.stringify({ before, model: b.model })));',
    ].join('\n');
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGUARD_'))),
      ...agentguardEnv(ws),
      FAKE_URL: fake().url,
      AGENTGUARD_PROVIDER_HOSTS: hosts(),
    };
    // Asynchronous: the fake answers from this process.
    const run = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(process.execPath, ['--require', 'agentguard-spend/register', '-e', script], { cwd: root, env, encoding: 'utf8' }, (err, stdout, stderr) =>
        err ? reject(err) : resolve({ stdout, stderr }),
      ),
    );
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ before: false, model: GPT_MINI });
    expect(fake().requests.map(model)).toEqual([GPT_MINI]);
    const log = await logOf(ws);
    expect(log.decisions.map((d) => [d.action, d.modelResolved])).toEqual([['downgrade', GPT_MINI]]);
  });
});
