import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  agentguardEnv,
  AVAILABLE,
  chainsOnDisk,
  cli,
  decisionsOf,
  MODELS,
  type ProviderName,
  root,
  threeCalls,
  useFakeProvider,
  type Workspace,
} from '../helpers/register.js';

// Real child processes under `--require`/`--import agentguard-spend/register`
// (built: run `npm run build` first): how apps load the SDKs (import(),
// require(esm)), what start-up loads, and an app's own OpenTelemetry ESM loader
// registered before or after register.

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'register');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: Record<string, unknown>[];
}

function runNode(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  const full: Record<string, string | undefined> = {
    ...Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGUARD_') && k !== 'ANTHROPIC_OPEN_TELEMETRY' && k !== 'NODE_OPTIONS'),
    ),
    ...env,
  };
  for (const k of Object.keys(full)) if (full[k] === undefined) delete full[k];
  const child = spawn(process.execPath, args, { cwd: root, env: full as NodeJS.ProcessEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      const lines = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, stdout, stderr, lines });
    }),
  );
}

const results = (run: Run) => run.lines.filter((l) => 'call' in l).map((l) => l.ok);

const { fake, workspace } = useFakeProvider();
let ws: Workspace;

/** The three calls of every provider: allowed, downgraded, blocked before the network; the log verifies. */
async function expectEnforced(run: Run, provider: ProviderName): Promise<void> {
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(results(run)).toEqual([true, true, false]);
  // (The OpenTelemetry app's own GET /health aside.)
  const providerRequests = fake().requests.filter((r) => r.path !== '/health');
  expect(providerRequests.map(MODELS[provider].requested)).toEqual([MODELS[provider].expensive, MODELS[provider].cheap]);
  const chains = await chainsOnDisk(ws.logDir);
  expect(decisionsOf(chains[0]!.entries).map((d) => d.action)).toEqual(['allow', 'downgrade', 'block']);
  expect(cli(['verify', ws.logDir, '--public-key', ws.publicKeyHex]).status).toBe(0);
}

describe.each(AVAILABLE)('register hooks, %s', (provider) => {
  const env = () => ({ ...agentguardEnv(ws), FAKE_URL: fake().url, APP_PROVIDER: provider, APP_CALLS: JSON.stringify(threeCalls(provider)) });

  it('a CommonJS app that loads the SDK with import() is guarded', async () => {
    ws = workspace();
    const run = await runNode(['--require', 'agentguard-spend/register', join(fixtures, 'dynamic-import.cjs')], env());
    await expectEnforced(run, provider);
  });

  it('a CommonJS app that require()s an ES module importing the SDK (require(esm)) is guarded', async () => {
    ws = workspace();
    const run = await runNode(['--require', 'agentguard-spend/register', join(fixtures, 'require-esm.cjs')], env());
    await expectEnforced(run, provider);
  });

  it('with module.register only (Node before 22.15: no module.registerHooks), an ESM app is guarded', async () => {
    ws = workspace();
    const noSyncHooks = join(ws.dir, 'no-sync-hooks.cjs');
    writeFileSync(noSyncHooks, "delete require('node:module').registerHooks;\n");
    const run = await runNode(['--require', noSyncHooks, '--import', 'agentguard-spend/register', join(fixtures, 'app.mjs')], env());
    await expectEnforced(run, provider);
  });
});

describe('register start-up', () => {
  it('loads no schema library, no InstrumentationBase, no require/import-in-the-middle, and the engine only at the first guarded call', async () => {
    ws = workspace();
    const run = await runNode(['--require', 'agentguard-spend/register', join(fixtures, 'loaded-modules.cjs')], { ...agentguardEnv(ws), FAKE_URL: fake().url });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const stage = (s: string) => run.lines.find((l) => l.stage === s) as { files: string[]; engineStarted: boolean };
    const ready = stage('ready');
    const after = stage('first-call');
    const never = [/[/\\]zod[/\\]/, /@opentelemetry[/\\]instrumentation[/\\]/, /require-in-the-middle/, /import-in-the-middle/, /@opentelemetry[/\\]api[/\\]/];
    for (const pattern of never) expect(ready.files.filter((f) => pattern.test(f))).toEqual([]);
    expect(ready.engineStarted).toBe(false);
    expect(ready.files.some((f) => f.endsWith('register-engine.cjs'))).toBe(false);
    // The first call started the engine; the OpenTelemetry API came with it (the bundled copy of the
    // installed version: none of the package's own files), nothing else did.
    expect(after.engineStarted).toBe(true);
    expect(after.files.some((f) => f.endsWith('register-engine.cjs'))).toBe(true);
    expect(after.files.some((f) => f.endsWith('register-otel-api.cjs'))).toBe(true);
    for (const pattern of never) expect(after.files.filter((f) => pattern.test(f))).toEqual([]);
    // gpt-4o is priced from the copy of the price data: the price library's bundle is not loaded.
    expect(after.files.filter((f) => /@pydantic[/\\]genai-prices[/\\]dist/.test(f))).toEqual([]);
    // The tokenizer table is not loaded on the first call's path (only the stand-in is in the cache).
    expect(after.files.filter((f) => /gpt-tokenizer/.test(f) && !/o200k_base\.c?js$/.test(f))).toEqual([]);
    expect(fake().requests).toHaveLength(1);
    const [chain] = await chainsOnDisk(ws.logDir);
    expect(chain!.entries.map((e) => e.decision.entryType ?? 'decision')).toHaveLength(2);
  });
});

describe("register with the app's own OpenTelemetry ESM loader (import-in-the-middle) and instrumentation", () => {
  const orders: [string, string[]][] = [
    ['register first', ['--import', 'agentguard-spend/register', '--import', join(fixtures, 'otel-loader.mjs')]],
    ['the app loader first', ['--import', join(fixtures, 'otel-loader.mjs'), '--import', 'agentguard-spend/register']],
    ['register as --require, the app loader with --import', ['--require', 'agentguard-spend/register', '--import', join(fixtures, 'otel-loader.mjs')]],
  ];
  it.each(orders)('%s: no warning, calls guarded, and the app instrumentation still makes its spans', async (_name, preloads) => {
    ws = workspace();
    const provider: ProviderName = 'openai';
    const run = await runNode([...preloads, join(fixtures, 'otel-app.mjs')], {
      ...agentguardEnv(ws),
      FAKE_URL: fake().url,
      APP_PROVIDER: provider,
      APP_CALLS: JSON.stringify(threeCalls(provider)),
    });
    await expectEnforced(run, provider);
    expect(run.stderr).not.toMatch(/already initialized/);
    const spans = run.lines.find((l) => 'spans' in l)!.spans as { name: string; scope: string; attributes: Record<string, unknown> }[];
    // The app's instrumentation (through its import-in-the-middle loader) traced its ESM node:http request.
    const appSpans = spans.filter((s) => s.scope === '@opentelemetry/instrumentation-http');
    expect(appSpans.map((s) => [s.name, s.attributes['http.response.status_code'] ?? s.attributes['http.status_code']])).toEqual([['GET', 404]]);
    // And ours, for all three decisions.
    expect(spans.filter((s) => 'agentguard.decision.action' in s.attributes).map((s) => s.attributes['agentguard.decision.action'])).toEqual([
      'allow',
      'downgrade',
      'block',
    ]);
  });
});
