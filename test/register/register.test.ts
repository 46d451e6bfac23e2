import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../fake-provider/index.js';
import { PACKAGE_VERSION } from '../../instrumentations/common/version.js';
import { INSTRUMENTATION_NAMES } from '../../src/register/env-config.js';
import {
  agentguardEnv,
  allText,
  AVAILABLE,
  callResults,
  chainsOnDisk,
  cli,
  decisionsOf,
  MODELS,
  PROMPT,
  runApp,
  threeCalls,
  workspace,
  type ProviderName,
  type Workspace,
} from '../helpers/register.js';

// Real child processes: the unmodified apps in ./apps run under
// `node --require agentguard-spend/register` (CommonJS) and
// `node --import agentguard-spend/register` (ESM) against the fake provider.

let fake: FakeProvider;
let ws: Workspace;
beforeAll(async () => {
  const { startFake } = await import('../helpers/register.js');
  fake = await startFake();
});
afterAll(() => fake.close());
afterEach(() => {
  fake.reset();
  ws?.cleanup();
});

describe('register: every instrumentation in the build is tested here', () => {
  it('has a model table for each provider register can enable', () => {
    expect(AVAILABLE.length).toBeGreaterThan(0);
    for (const p of AVAILABLE) {
      expect(INSTRUMENTATION_NAMES).toContain(p);
      expect(MODELS[p]).toBeDefined();
    }
  });
});

const matrix = AVAILABLE.flatMap((p) => (['cjs', 'esm'] as const).map((format) => [format, p] as ['cjs' | 'esm', ProviderName]));

describe.each(matrix)('register, unmodified %s app, %s', (format, provider) => {
  it('allows, downgrades and blocks before the network; spans carry the signed decision; the log on disk verifies', async () => {
    ws = workspace();
    // ESM runs in batch durability: everything must still be on disk after a normal exit (beforeExit flush).
    const durability = format === 'esm' ? 'batch' : 'write';
    const run = await runApp({
      format,
      provider,
      calls: threeCalls(provider),
      fakeUrl: fake.url,
      env: { ...agentguardEnv(ws), AGENTGUARD_DURABILITY: durability, APP_TRACING: '1' },
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);

    // Enforcement: call 3 never left the process; call 2 went to the cheap model.
    const results = callResults(run);
    expect(results.map((r) => r.ok)).toEqual([true, true, false]);
    expect(results[2]).toMatchObject({ name: 'AgentGuardBlockedError', message: expect.stringContaining('no call may cost more than $1') });
    expect(fake.requests.map(MODELS[provider].requested)).toEqual([MODELS[provider].expensive, MODELS[provider].cheap]);

    // The log on disk: one chain, 3 decisions + 2 settlements, signed and verifiable with the public key alone.
    const chains = await chainsOnDisk(ws.logDir);
    expect(chains).toHaveLength(1);
    const { entries } = chains[0]!;
    expect(decisionsOf(entries).map((d) => [d.action, d.modelResolved])).toEqual([
      ['allow', MODELS[provider].expensive],
      ['downgrade', MODELS[provider].cheap],
      ['block', MODELS[provider].expensive],
    ]);
    expect(entries.filter((e) => e.decision.entryType === 'outcome')).toHaveLength(2);
    const verify = cli(['verify', ws.logDir, '--public-key', `${ws.keyFile}.pub`]);
    expect(verify.stdout).toContain('1 chain: 1 intact, 0 failed');
    expect(verify.status).toBe(0);
    const text = allText(ws.logDir);
    expect(text).not.toContain(PROMPT);
    expect(text).not.toContain('sk-test-app');
    expect(text).not.toContain(readFileSync(ws.keyFile, 'utf8').trim());

    // Spans: the app's own SDK, registered after register, receives them.
    const spans = (
      run.lines.find((l) => 'spans' in l)!.spans as { traceId: string; attributes: Record<string, unknown>; status: { code: number }; scope: unknown }[]
    ).filter((s) => 'agentguard.decision.id' in s.attributes);
    expect(spans.map((s) => s.attributes['agentguard.decision.action'])).toEqual(['allow', 'downgrade', 'block']);
    // The scope the provider's instrumentation class and wrapper use.
    for (const s of spans) expect(s.scope).toEqual({ name: `agentguard-spend/instrumentation-${provider}`, version: PACKAGE_VERSION });
    const decisionEntries = entries.filter((e) => e.decision.entryType !== 'outcome');
    spans.forEach((s, i) => {
      expect(s.attributes['agentguard.decision.entry_hash']).toBe(decisionEntries[i]!.entryHash);
      // The model each request was sent with (the cheap one after the downgrade); the requested one beside it.
      expect(s.attributes['gen_ai.request.model']).toBe(i === 1 ? MODELS[provider].cheap : MODELS[provider].expensive);
      expect(s.attributes['agentguard.decision.model_requested']).toBe(MODELS[provider].expensive);
      expect(decisionEntries[i]!.decision.traceId).toBe(s.traceId);
    });
    expect(spans[2]!.status.code).toBe(2); // ERROR: blocked
    expect(JSON.stringify(spans)).not.toContain(PROMPT);
  });
});

describe('register: shadow mode and report', () => {
  it('AGENTGUARD_MODE=shadow passes every call unchanged; report says what enforcement would have done', async () => {
    ws = workspace();
    const provider = AVAILABLE[0]!;
    const run = await runApp({
      format: 'cjs',
      provider,
      calls: threeCalls(provider),
      fakeUrl: fake.url,
      env: { ...agentguardEnv(ws), AGENTGUARD_MODE: 'shadow' },
    });
    expect(run.code).toBe(0);
    expect(callResults(run).map((r) => r.ok)).toEqual([true, true, true]);
    expect(fake.requests.map(MODELS[provider].requested)).toEqual([MODELS[provider].expensive, MODELS[provider].expensive, MODELS[provider].expensive]);
    const report = cli(['report', ws.logDir, '--json']);
    expect(report.status).toBe(0);
    const r = JSON.parse(report.stdout) as { total: Record<string, number> };
    expect(r.total).toMatchObject({ decisions: 3, blocked: 0, downgraded: 0, shadowed: 2, wouldBlock: 1, wouldDowngrade: 1 });
    expect(r.total.wouldSaveCents).toBeGreaterThan(100);
    expect(cli(['verify', ws.logDir, '--public-key', `${ws.keyFile}.pub`]).status).toBe(0);
  });
});

describe('register: engine settings from the environment', () => {
  it('AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS: a call that sent no output bound is sent with that bound', async () => {
    ws = workspace();
    const run = await runApp({
      format: 'cjs',
      provider: 'openai',
      calls: [{ model: 'gpt-4o' } as { model: string; maxTokens: number }],
      fakeUrl: fake.url,
      env: { ...agentguardEnv(ws), AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS: '123' },
    });
    expect(run.stderr).toBe('');
    expect(callResults(run).map((r) => r.ok)).toEqual([true]);
    expect(fake.requests.map((r) => (r.body as Record<string, unknown>).max_completion_tokens)).toEqual([123]);
  });
});

describe('register: bad configuration', () => {
  const provider = () => AVAILABLE[0]!;
  const cases: [string, 'cjs' | 'esm', (ws: Workspace) => Record<string, string | undefined>, string][] = [
    ['no policy', 'cjs', () => ({ AGENTGUARD_POLICY: undefined }), 'AGENTGUARD_POLICY'],
    ['no policy (ESM)', 'esm', () => ({ AGENTGUARD_POLICY: undefined }), 'AGENTGUARD_POLICY'],
    ['invalid policy file', 'cjs', (w) => (writeFileSync(w.policyFile, '{"id": 1}'), {}), 'AGENTGUARD_POLICY'],
    ['no signing key', 'cjs', () => ({ AGENTGUARD_SIGNING_KEY_FILE: undefined }), 'AGENTGUARD_SIGNING_KEY_FILE'],
    // review: the seed itself put in the _FILE variable must not be echoed as a path.
    [
      'key hex in AGENTGUARD_SIGNING_KEY_FILE',
      'cjs',
      (w) => ({ AGENTGUARD_SIGNING_KEY_FILE: readFileSync(w.keyFile, 'utf8').trim() }),
      'AGENTGUARD_SIGNING_KEY_FILE',
    ],
    ['no tenant', 'esm', () => ({ AGENTGUARD_SCOPE_TENANT_ID: undefined }), 'AGENTGUARD_SCOPE_TENANT_ID'],
    ['log dir is a file', 'cjs', (w) => ({ AGENTGUARD_LOG_DIR: w.policyFile }), 'AGENTGUARD_LOG_DIR'],
    ['unknown spend store', 'cjs', () => ({ AGENTGUARD_SPEND_STORE: 'ftp://spend' }), 'AGENTGUARD_SPEND_STORE'],
    ['bad durability', 'cjs', () => ({ AGENTGUARD_DURABILITY: 'sometimes' }), 'AGENTGUARD_DURABILITY'],
    ['unknown log export', 'esm', () => ({ AGENTGUARD_LOG_EXPORT: 'otlp' }), 'AGENTGUARD_LOG_EXPORT'],
    ['a chain id to resume with no files written', 'cjs', () => ({ AGENTGUARD_LOG_EXPORT: 'otel', AGENTGUARD_CHAIN_ID: 'web-1' }), 'AGENTGUARD_CHAIN_ID'],
    ['log dir is a file, files written to it too', 'cjs', (w) => ({ AGENTGUARD_LOG_EXPORT: 'both', AGENTGUARD_LOG_DIR: w.policyFile }), 'AGENTGUARD_LOG_DIR'],
    ['bad default output bound', 'esm', () => ({ AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS: '0' }), 'AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS'],
    ['bad reservation lifetime', 'cjs', () => ({ AGENTGUARD_RESERVATION_TTL_MS: '15m' }), 'AGENTGUARD_RESERVATION_TTL_MS'],
    [
      'downgrade to a model without a price',
      'cjs',
      (w) => (
        writeFileSync(
          w.policyFile,
          JSON.stringify({
            id: 'p',
            name: 'p',
            scope: { tenantId: 'acme' },
            mode: 'enforce',
            version: 1,
            effectiveFrom: '2026-01-01T00:00:00Z',
            caps: [{ amountCents: 5, window: 'per_day', action: 'downgrade', downgradeTo: 'gpt-nonexistent' }],
          }),
        ),
        {}
      ),
      'AGENTGUARD_POLICY',
    ],
  ];

  it.each(cases)('%s: one line naming the variable, exit 78, the app never runs', async (_name, format, override, variable) => {
    ws = workspace();
    const run = await runApp({
      format,
      provider: provider(),
      calls: threeCalls(provider()),
      fakeUrl: fake.url,
      env: { ...agentguardEnv(ws), ...override(ws) },
    });
    expect(run.code).toBe(78);
    expect(run.stdout).toBe('');
    expect(fake.requests).toHaveLength(0);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^agentguard-spend: ${variable}: .+exit 78`));
    expect(run.stderr).not.toContain(readFileSync(ws.keyFile, 'utf8').trim());
  });

  it.each([
    ['AGENTGUARD_FAIL_OPEN=true', { AGENTGUARD_FAIL_OPEN: 'true' }, 'AGENTGUARD_FAIL_OPEN=true: running unguarded'],
    ['AGENTGUARD_MODE=shadow', { AGENTGUARD_MODE: 'shadow' }, 'AGENTGUARD_MODE=shadow: running unguarded'],
  ])('%s: one warning line, and the app runs unguarded', async (_name, extra, warning) => {
    ws = workspace();
    const p = provider();
    const run = await runApp({
      format: 'cjs',
      provider: p,
      calls: threeCalls(p),
      fakeUrl: fake.url,
      env: { ...agentguardEnv(ws), AGENTGUARD_POLICY: undefined, ...extra },
    });
    expect(run.code).toBe(0);
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(new RegExp(`^agentguard-spend: AGENTGUARD_POLICY: .*${warning}`))]);
    // Unguarded: even the $3 call reached the provider, and nothing was logged.
    expect(callResults(run).map((r) => r.ok)).toEqual([true, true, true]);
    expect(fake.requests).toHaveLength(3);
    expect(existsSync(ws.logDir)).toBe(false);
  });

  it('AGENTGUARD_LOG_EXPORT=otel writes no files, so the log directory is not checked: the app runs guarded', async () => {
    ws = workspace();
    const p = provider();
    const run = await runApp({
      format: 'cjs',
      provider: p,
      calls: threeCalls(p),
      fakeUrl: fake.url,
      env: { ...agentguardEnv(ws), AGENTGUARD_LOG_EXPORT: 'otel', AGENTGUARD_LOG_DIR: ws.policyFile },
    });
    expect(run.code).toBe(0);
    // The app registered no LoggerProvider: the records had nowhere to go, which register says on exit.
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^agentguard-spend: AGENTGUARD_LOG_EXPORT: .*were never emitted: no OpenTelemetry LoggerProvider/),
    ]);
    expect(callResults(run).map((r) => r.ok)).toEqual([true, true, false]);
    expect(fake.requests).toHaveLength(2);
  });

  it('a bad AGENTGUARD_FAIL_OPEN is not an opt-out', async () => {
    ws = workspace();
    const p = provider();
    const run = await runApp({
      format: 'cjs',
      provider: p,
      calls: threeCalls(p),
      fakeUrl: fake.url,
      env: { ...agentguardEnv(ws), AGENTGUARD_POLICY: undefined, AGENTGUARD_FAIL_OPEN: 'perhaps' },
    });
    expect(run.code).toBe(78);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('register: crashes, restarts and signals', () => {
  const provider = () => AVAILABLE[0]!;
  const allowed = () => [{ model: MODELS[provider()].expensive, maxTokens: 200 }];

  it('kill -9 mid-run: every call the app saw complete is on disk; a restart starts a new chain; both verify', async () => {
    ws = workspace();
    const first = await runApp({
      format: 'cjs',
      provider: provider(),
      calls: allowed(),
      fakeUrl: fake.url,
      env: { ...agentguardEnv(ws), APP_LOOP: '1' },
      onLine: (_l, child, lines) => {
        if (lines.length === 20) child.kill('SIGKILL');
      },
    });
    expect(first.signal).toBe('SIGKILL');
    const completed = callResults(first).length;
    const [crashed] = await chainsOnDisk(ws.logDir);
    // write durability: each decision was on disk before its call went out, each settlement before the app saw the result.
    expect(crashed!.entries.filter((e) => e.decision.entryType === 'outcome').length).toBeGreaterThanOrEqual(completed);

    const second = await runApp({ format: 'cjs', provider: provider(), calls: allowed(), fakeUrl: fake.url, env: agentguardEnv(ws) });
    expect(second.code).toBe(0);
    const chains = await chainsOnDisk(ws.logDir);
    expect(chains).toHaveLength(2);
    expect(chains.find((c) => c.chainId !== crashed!.chainId)!.entries.map((e) => e.sequence)).toEqual([0, 1]);
    const verify = cli(['verify', ws.logDir, '--public-key', ws.publicKeyHex]);
    expect(verify.stdout).toContain('2 chains: 2 intact, 0 failed');
    expect(verify.status).toBe(0);
  });

  it('a log write cut short mid-line (file size limit), then kill -9: the failed entry is cut back out, with AGENTGUARD_CHAIN_ID the chain resumes, verify passes', async () => {
    ws = workspace();
    const env = { ...agentguardEnv(ws), AGENTGUARD_CHAIN_ID: 'pod-7' };
    // 8 blocks of 512 bytes: the 4th or so ~1.1 kB entry is cut short (EFBIG); the guard then fails calls closed.
    const first = await runApp({
      format: 'cjs',
      provider: provider(),
      calls: allowed(),
      fakeUrl: fake.url,
      env: { ...env, APP_LOOP: '1' },
      fileSizeLimitBlocks: 8,
      onLine: (l, child) => {
        if (l.ok === false) child.kill('SIGKILL');
      },
    });
    expect(first.signal).toBe('SIGKILL');
    const failed = callResults(first).at(-1)!;
    expect(failed.ok).toBe(false);
    const before = await chainsOnDisk(ws.logDir);
    // The failed call's entry was cut back out of the file when its write failed: no torn line.
    expect(before[0]!.torn).toBe(0);
    const intact = before[0]!.entries.length;
    expect(intact).toBeGreaterThan(0);
    const preVerify = cli(['verify', ws.logDir, '--public-key', ws.publicKeyHex]);
    expect(preVerify.status).toBe(0);
    expect(preVerify.stdout).not.toContain('torn');

    const second = await runApp({ format: 'cjs', provider: provider(), calls: allowed(), fakeUrl: fake.url, env });
    expect(second.code).toBe(0);
    expect(second.stderr).not.toContain('AGENTGUARD_TORN_TAIL');
    const files = readdirSync(ws.logDir);
    expect(files.filter((f) => f.endsWith('.torn'))).toHaveLength(0);
    const after = await chainsOnDisk(ws.logDir);
    expect(after).toHaveLength(1);
    expect(after[0]!.entries.map((e) => e.sequence)).toEqual(Array.from({ length: intact + 2 }, (_, i) => i));
    const verify = cli(['verify', ws.logDir, '--public-key', ws.publicKeyHex]);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toContain(`pod-7: ok, ${intact + 2} entries in 2 files`);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s in batch durability: the queued entries are flushed, then the app exits by the signal', async (signal) => {
    ws = workspace();
    let onDiskBefore = -1;
    const run = await runApp({
      format: 'cjs',
      provider: provider(),
      calls: [...allowed(), ...allowed()],
      fakeUrl: fake.url,
      env: { ...agentguardEnv(ws), AGENTGUARD_DURABILITY: 'batch', APP_WAIT: '1' },
      onLine: (l, child) => {
        if (!l.done) return;
        // Within the 1 s batch delay: nothing written yet.
        onDiskBefore = existsSync(ws.logDir)
          ? readdirSync(ws.logDir)
              .filter((f) => f.endsWith('.jsonl'))
              .reduce((n, f) => n + readFileSync(join(ws.logDir, f), 'utf8').split('\n').length - 1, 0)
          : 0;
        child.kill(signal);
      },
    });
    expect(run.signal).toBe(signal);
    expect(onDiskBefore).toBe(0);
    const chains = await chainsOnDisk(ws.logDir);
    expect(chains[0]!.entries).toHaveLength(4);
    expect(readdirSync(ws.logDir).filter((f) => f.endsWith('.lock'))).toEqual([]); // closed cleanly
    expect(cli(['verify', ws.logDir, '--public-key', ws.publicKeyHex]).status).toBe(0);
  });

  it('SIGTERM when the app handles it itself: the log is flushed and the app decides when to exit', async () => {
    ws = workspace();
    const run = await runApp({
      format: 'cjs',
      provider: provider(),
      calls: [...allowed(), ...allowed()],
      fakeUrl: fake.url,
      env: { ...agentguardEnv(ws), AGENTGUARD_DURABILITY: 'batch', APP_WAIT: '1', APP_OWN_SIGTERM: '1' },
      onLine: (l, child) => {
        if (l.done) setTimeout(() => child.kill('SIGTERM'), 20);
      },
    });
    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
    expect(run.lines.some((l) => l.appHandledSigterm)).toBe(true);
    expect((await chainsOnDisk(ws.logDir))[0]!.entries).toHaveLength(4);
  });

  it('a decision log that cannot be opened at run time (chain held by a live process) fails the guarded calls closed', async () => {
    ws = workspace();
    mkdirSync(ws.logDir);
    // The chain's lock is held by a live process on this host (this test runner).
    writeFileSync(join(ws.logDir, 'held.lock'), `${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() })}\n`);
    const run = await runApp({
      format: 'cjs',
      provider: provider(),
      calls: allowed(),
      fakeUrl: fake.url,
      env: { ...agentguardEnv(ws), AGENTGUARD_CHAIN_ID: 'held' },
    });
    expect(run.stderr).toMatch(/^agentguard-spend: AGENTGUARD_LOG_DIR: cannot open the decision log .*in use by pid/m);
    expect(callResults(run).map((r) => r.ok)).toEqual([false]);
    expect(fake.requests).toHaveLength(0);
  });
});
