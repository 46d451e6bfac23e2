import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { DecisionLogEntry, SpendDecision } from '../../src/index.js';
import { agentguardEnv, chainsOnDisk, cli, root, type Workspace } from './register.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures');

/**
 * The AI SDK provider an app uses: `openai` (Responses API), `openai-chat`, `anthropic`, `bedrock`,
 * `azure` (`@ai-sdk/azure` Responses on Azure's v1 API), `azure-chat` (its chat model on deployment
 * URLs), `compatible` (`@ai-sdk/openai-compatible`; these three need `needs: ['azure' | 'compatible']`).
 */
export type AiSdkAppProvider = 'openai' | 'openai-chat' | 'anthropic' | 'bedrock' | 'azure' | 'azure-chat' | 'compatible';

/** One call of the AI SDK test app (see test/fixtures/ai-sdk/calls.cjs). */
export interface AiSdkCall {
  kind: 'generateText' | 'streamText' | 'generateObject' | 'toolLoop' | 'mastra' | 'mastraRouter' | 'embed' | 'embedMany';
  model: string;
  maxTokens?: number;
  stream?: boolean;
  abortAfterParts?: number;
  /** Mastra calls: the model-call retries asked for (`modelSettings.maxRetries`); unset, Mastra's default. */
  retries?: number;
}

/** One raw provider request of the safety-net test app (see test/fixtures/safety-net/calls.cjs). */
export interface RawCall {
  client: 'fetch' | 'http' | 'undici-request' | 'undici-fetch' | 'undici-pool' | 'undici-global-fetch';
  api: 'openai-chat' | 'openai-responses' | 'anthropic' | 'raw';
  model?: string;
  maxTokens?: number;
  stream?: boolean;
  body?: string;
}

export interface AiSdkRun {
  code: number | null;
  stderr: string;
  results: { call: number; ok: boolean; name?: string; message?: string; [k: string]: unknown }[];
}

/**
 * Runs the unmodified AI SDK app as users would: `node --require agentguard-spend/register app.cjs`
 * or `node --import agentguard-spend/register app.mjs`, from the package root (`preload: false`: no register).
 */
export function runAiSdkApp(o: {
  format: 'cjs' | 'esm';
  provider: AiSdkAppProvider;
  calls: AiSdkCall[] | RawCall[];
  fakeUrl: string;
  ws?: Workspace;
  env?: Record<string, string | undefined>;
  needs?: string[];
  preload?: boolean;
  /** The fixture folder of the app: `ai-sdk` (default), or `safety-net` (raw fetch / node:http requests). */
  app?: 'ai-sdk' | 'safety-net';
}): Promise<AiSdkRun> {
  const app = join(fixtures, o.app ?? 'ai-sdk', o.format === 'cjs' ? 'app.cjs' : 'app.mjs');
  const preload = o.preload === false ? [] : [o.format === 'cjs' ? '--require' : '--import', 'agentguard-spend/register'];
  const env: Record<string, string | undefined> = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGUARD_'))),
    FAKE_URL: o.fakeUrl,
    APP_PROVIDER: o.provider,
    APP_CALLS: JSON.stringify(o.calls),
    APP_NEEDS: (o.needs ?? []).join(','),
    AI_SDK_LOG_WARNINGS: 'false',
    NODE_NO_WARNINGS: '1',
    ...(o.ws ? agentguardEnv(o.ws) : {}),
    ...o.env,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const child = spawn(process.execPath, [...preload, app], { cwd: root, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      const results = stdout
        .split('\n')
        .filter((l) => l.startsWith('{"call"'))
        .map((l) => JSON.parse(l) as AiSdkRun['results'][number]);
      resolve({ code, stderr, results });
    }),
  );
}

/** Runs the safety-net app (raw provider requests) under register, the fake's host watched by the net through AGENTGUARD_PROVIDER_HOSTS. */
export function runSafetyNetApp(
  format: 'cjs' | 'esm',
  calls: RawCall[],
  o: { fakeUrl: string; ws: Workspace; env?: Record<string, string> },
): Promise<AiSdkRun> {
  return runAiSdkApp({
    app: 'safety-net',
    format,
    provider: 'openai',
    calls,
    fakeUrl: o.fakeUrl,
    ws: o.ws,
    env: { AGENTGUARD_PROVIDER_HOSTS: new URL(o.fakeUrl).host, ...o.env },
  });
}

/** The one chain of a run's log: decisions, outcomes (keyed by decision id), and whether `verify` passes. */
export async function logOf(ws: Workspace) {
  const chains = await chainsOnDisk(ws.logDir);
  const entries: DecisionLogEntry<SpendDecision>[] = chains.flatMap((c) => c.entries);
  const decisions = entries.map((e) => e.decision).filter((d) => d.entryType !== 'outcome');
  const outcomes = new Map(
    entries
      .map((e) => e.decision)
      .filter((d) => d.entryType === 'outcome')
      .map((d) => [d.originalDecisionId!, d]),
  );
  const verify = cli(['verify', ws.logDir, '--public-key', `${ws.keyFile}.pub`]);
  return { chains, decisions, outcomes, verified: verify.status === 0 && /intact, 0 failed/.test(verify.stdout) };
}

/** What a run's signed log must hold, for {@link expectSignedLog}. */
export interface ExpectedLog {
  /** Every decision in order, as `[provider, action, modelResolved]`. */
  decisions: [string, string, string | undefined][];
  /** The `[input, output]` tokens each call not blocked settled with, in order. */
  settled: [number, number][];
}

/** Asserts that the run's log verifies, holds exactly these decisions, and settled every call not blocked as expected; returns the log. */
export async function expectSignedLog(ws: Workspace, expected: ExpectedLog) {
  const log = await logOf(ws);
  expect(log.verified).toBe(true);
  expect(log.decisions.map((d) => [d.provider, d.action, d.modelResolved])).toEqual(expected.decisions);
  expect(
    log.decisions
      .filter((d) => d.action !== 'block')
      .map((d) => log.outcomes.get(d.decisionId))
      .map((o) => [o?.outcome, o?.actualInputTokens, o?.actualOutputTokens]),
  ).toEqual(expected.settled.map(([input, output]) => ['settled', input, output]));
  return log;
}
