import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { listChains, readChain } from '../../exporters/file/reader.js';
import { createFakeProvider, type FakeProvider, type RecordedRequest } from '../../fake-provider/index.js';
import { generateKeypair, signingKeysToHex, type DecisionLogEntry, type SpendDecision } from '../../src/index.js';
import { bytesToHex } from '../../src/audit/hex.js';
import { INSTRUMENTATIONS } from '../../src/register/instrumentations.js';

export const root = join(import.meta.dirname, '..', '..');
export const cliPath = join(root, 'dist', 'cli.js');
const apps = join(import.meta.dirname, '..', 'fixtures', 'register');

/** Providers register enables in this build. */
export const AVAILABLE = Object.keys(INSTRUMENTATIONS) as ProviderName[];
export type ProviderName = 'openai' | 'anthropic' | 'bedrock';

/** Per provider: an expensive model, the cheap one a downgrade goes to, and how the fake saw the model. */
export const MODELS: Record<ProviderName, { expensive: string; cheap: string; requested: (r: RecordedRequest) => string }> = {
  openai: { expensive: 'gpt-4o', cheap: 'gpt-4o-mini', requested: (r) => (r.body as { model: string }).model },
  anthropic: { expensive: 'claude-sonnet-4-20250514', cheap: 'claude-3-5-haiku-20241022', requested: (r) => (r.body as { model: string }).model },
  bedrock: {
    expensive: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
    cheap: 'anthropic.claude-3-haiku-20240307-v1:0',
    requested: (r) => decodeURIComponent(r.path.split('/')[2]!),
  },
};

/** The prompt every app sends; it must never reach the log. */
export const PROMPT = 'Say hello in five words.';

/**
 * Per provider: calls over 10c (projected) go to the cheap model, calls over $1 are
 * blocked. 200 output tokens: allowed; 20,000: downgraded; 200,000: blocked.
 */
export function policies(mode: 'enforce' | 'shadow' = 'enforce') {
  return (Object.keys(MODELS) as ProviderName[]).map((p) => ({
    id: `${p}-per-call`,
    name: `${p} per call`,
    scope: { tenantId: 'acme', provider: p },
    mode,
    version: 1,
    effectiveFrom: '2025-01-01T00:00:00Z',
    caps: [
      { amountCents: 10, window: 'per_call', action: 'downgrade', downgradeTo: MODELS[p].cheap, reason: 'calls over 10c go to the cheap model' },
      { amountCents: 100, window: 'per_call', action: 'block', reason: 'no call may cost more than $1' },
    ],
  }));
}

export function threeCalls(p: ProviderName) {
  const m = MODELS[p].expensive;
  return [
    { model: m, maxTokens: 200 },
    { model: m, maxTokens: 20_000 },
    { model: m, maxTokens: 200_000 },
  ];
}

/** A temp directory with a signing key (and .pub) and a policy file. */
export interface Workspace {
  dir: string;
  logDir: string;
  keyFile: string;
  publicKeyHex: string;
  policyFile: string;
  cleanup(): void;
}

export function workspace(mode: 'enforce' | 'shadow' = 'enforce'): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'agentguard-register-'));
  const keys = generateKeypair();
  const keyFile = join(dir, 'signing.key');
  writeFileSync(keyFile, `${signingKeysToHex(keys).privateKeyHex}\n`, { mode: 0o600 });
  const publicKeyHex = bytesToHex(keys.publicKey);
  writeFileSync(`${keyFile}.pub`, `${publicKeyHex}\n`);
  const policyFile = join(dir, 'policy.json');
  writeFileSync(policyFile, JSON.stringify(policies(mode)));
  return { dir, logDir: join(dir, 'logs'), keyFile, publicKeyHex, policyFile, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function agentguardEnv(ws: Workspace): Record<string, string> {
  return {
    AGENTGUARD_POLICY: ws.policyFile,
    AGENTGUARD_SIGNING_KEY_FILE: ws.keyFile,
    AGENTGUARD_LOG_DIR: ws.logDir,
    AGENTGUARD_SCOPE_TENANT_ID: 'acme',
  };
}

export async function startFake(): Promise<FakeProvider> {
  const fake = createFakeProvider();
  await fake.listen();
  return fake;
}

/** What {@link useFakeProvider} gives a test file. */
export interface FakeProviderFixture {
  /** The file's fake provider; started in `beforeAll`, so call it inside a test or hook. */
  fake(): FakeProvider;
  /** A new {@link workspace}, removed after the test that made it. */
  workspace(mode?: 'enforce' | 'shadow'): Workspace;
}

/**
 * Registers the lifecycle every register test file shares: one fake provider started before its
 * tests and closed after them, its recorded requests cleared after each test, and the workspaces
 * a test made removed after it.
 */
export function useFakeProvider(): FakeProviderFixture {
  let fake: FakeProvider | undefined;
  const made: Workspace[] = [];
  beforeAll(async () => {
    fake = await startFake();
  });
  afterAll(() => fake?.close());
  afterEach(() => {
    fake?.reset();
    for (const w of made.splice(0)) w.cleanup();
  });
  return {
    fake() {
      if (!fake) throw new Error('useFakeProvider: the fake provider starts in beforeAll; use fake() inside a test or hook');
      return fake;
    },
    workspace(mode) {
      const w = workspace(mode);
      made.push(w);
      return w;
    },
  };
}

export interface AppRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Parsed JSON lines of stdout. */
  lines: Record<string, unknown>[];
}

export interface AppOptions {
  format: 'cjs' | 'esm';
  provider: ProviderName;
  calls: { model: string; maxTokens: number; stream?: boolean; embed?: number }[];
  env: Record<string, string | undefined>;
  fakeUrl: string;
  /** Called on each parsed stdout line; may signal the child. */
  onLine?: (line: Record<string, unknown>, child: ChildProcess, lines: Record<string, unknown>[]) => void;
  /** `ulimit -f` (512-byte blocks) for the child, to cut a log write short. */
  fileSizeLimitBlocks?: number;
}

/**
 * Runs the unmodified test app as users would: `node --require agentguard-spend/register app.cjs`
 * or `node --import agentguard-spend/register app.mjs`, from the package root.
 */
export function runApp(o: AppOptions): Promise<AppRun> {
  const nodeArgs =
    o.format === 'cjs' ? ['--require', 'agentguard-spend/register', join(apps, 'app.cjs')] : ['--import', 'agentguard-spend/register', join(apps, 'app.mjs')];
  const env: Record<string, string | undefined> = {
    ...process.env,
    ANTHROPIC_OPEN_TELEMETRY: undefined,
    ...Object.fromEntries(
      Object.keys(process.env)
        .filter((k) => k.startsWith('AGENTGUARD_'))
        .map((k) => [k, undefined]),
    ),
    FAKE_URL: o.fakeUrl,
    APP_PROVIDER: o.provider,
    APP_CALLS: JSON.stringify(o.calls),
    ...o.env,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const child = o.fileSizeLimitBlocks
    ? spawn('/bin/sh', ['-c', `ulimit -f ${o.fileSizeLimitBlocks}; exec "$0" "$@"`, process.execPath, ...nodeArgs], { cwd: root, env })
    : spawn(process.execPath, nodeArgs, { cwd: root, env });
  let stdout = '';
  let stderr = '';
  let buffered = '';
  const lines: Record<string, unknown>[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const part of parts) {
      if (!part.trim()) continue;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(part) as Record<string, unknown>;
      } catch {
        continue;
      }
      lines.push(line);
      o.onLine?.(line, child, lines);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, lines })));
}

/** What {@link runNode} saw of a child process. */
export interface NodeRun {
  code: number | null;
  stderr: string;
  /** The JSON lines of stdout. */
  lines: Record<string, unknown>[];
}

/**
 * Runs `node ...args` from the package root with this process's environment, minus every
 * `AGENTGUARD_` variable, plus `env`. Stdout lines that start with `{` are parsed; with
 * `everyLineJson`, every non-empty line must be JSON (the run fails otherwise).
 */
export function runNode(args: string[], env: Record<string, string>, o: { everyLineJson?: boolean } = {}): Promise<NodeRun> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGUARD_')));
  const child = spawn(process.execPath, args, { cwd: root, env: { ...clean, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      try {
        const lines = stdout
          .split('\n')
          .filter((l) => (o.everyLineJson ? l !== '' : l.startsWith('{')))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        resolve({ code, stderr, lines });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    }),
  );
}

/** The call result lines of a run. */
export function callResults(run: AppRun) {
  return run.lines.filter((l) => 'call' in l) as { call: number; ok: boolean; model?: string | null; name?: string; message?: string }[];
}

/** Runs the built CLI. */
export function cli(args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every chain in a log directory, its entries in order. */
export async function chainsOnDisk(logDir: string): Promise<{ chainId: string; entries: DecisionLogEntry<SpendDecision>[]; torn: number }[]> {
  const out = [];
  for (const chain of await listChains(logDir)) {
    const entries: DecisionLogEntry<SpendDecision>[] = [];
    let torn = 0;
    for await (const r of readChain(chain)) {
      if (r.kind === 'entry') entries.push(r.entry as DecisionLogEntry<SpendDecision>);
      else if (r.kind === 'torn') torn++;
    }
    out.push({ chainId: chain.chainId, entries, torn });
  }
  return out;
}

export function decisionsOf(entries: DecisionLogEntry<SpendDecision>[]) {
  return entries.map((e) => e.decision).filter((d) => d.entryType !== 'outcome');
}

/** Raw text of every file in a directory (for the no-leak check). */
export function allText(dir: string): string {
  return readdirSync(dir)
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}
