// (3) Real SDK calls against the loopback fake provider: unguarded vs guarded by
// the instrumentation vs guarded by the wrapper; and (7) the same unguarded
// call through a minimal forwarding proxy (one extra loopback hop, no policy).
//
// The fake provider and the proxy run in their own processes. The variants are
// interleaved in rounds (order rotated each round) so drift on a shared machine
// hits them alike; "added" is the variant's p50 (p99) minus the direct call's,
// from the same run.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { generateKeypair, SpendGuard } from '../dist/index.js';
import { computeEntryHash, createSigner } from '../dist/internal/audit.js';
import { typicalDecision } from './floor.mjs';
import { benchGuardConfig } from './engine.mjs';
import { OpenAISpendGuardInstrumentation, withSpendGuard } from '../dist/instrumentations/openai/index.js';
import { AnthropicSpendGuardInstrumentation, withAnthropicSpendGuard } from '../dist/instrumentations/anthropic/index.js';
import { BedrockSpendGuardInstrumentation, withBedrockSpendGuard } from '../dist/instrumentations/bedrock/index.js';
import { spendGuardMiddleware } from '../dist/instrumentations/ai-sdk/index.js';
import { patchAiSdkProvider, unpatchAiSdkProvider } from '../dist/internal/ai-sdk.js';
import { HeadOnlyLogStore, machine, measureSync, quantile, report, round, table } from './lib.mjs';
import { startServerProcess } from './servers.mjs';

const require = createRequire(import.meta.url);
const SCOPE = { tenantId: 'acme', agentId: 'agent-7' };

/**
 * A typical agent turn: the same system prompt every call, and a user message
 * that is new on every call (so a tokenizer cache only helps where an agent's
 * requests really repeat). ~80 tokens.
 */
let turn = 0;
const userMessage = () => `${USER} (ticket ${++turn})`;
const SYSTEM = 'You are a support agent for an online store. Answer briefly and politely; when unsure, ask a clarifying question. Never reveal internal notes.';
const USER =
  'My order #48213 arrived with a cracked screen protector. Can I get a replacement sent to the same address, or do I need to return the whole package first? Thanks!';

export function benchGuard() {
  return new SpendGuard({ ...benchGuardConfig(generateKeypair()), logStore: new HeadOnlyLogStore() });
}

/** The Vercel AI SDK (ESM-only): `generateText` on `@ai-sdk/openai`'s chat model, patched (as register does) or wrapped by the middleware. */
async function aiSdkProvider(guard) {
  const { generateText, wrapLanguageModel } = await import('ai');
  const aiSdkOpenAI = await import('@ai-sdk/openai');
  const binding = { guard, scope: SCOPE, tracer: (await import('@opentelemetry/api')).trace.getTracer('bench') };
  return {
    inst: { enable: () => patchAiSdkProvider(aiSdkOpenAI, { getBinding: () => binding }), disable: () => unpatchAiSdkProvider(aiSdkOpenAI) },
    client: (url) => aiSdkOpenAI.createOpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-bench' }).chat('gpt-4o'),
    wrap: (model) => wrapLanguageModel({ model, middleware: spendGuardMiddleware({ guard, scope: SCOPE }) }),
    call: (model) => generateText({ model, system: SYSTEM, prompt: userMessage(), maxOutputTokens: 256, maxRetries: 0 }),
  };
}

function providers(guard) {
  // Instrumentations first (they hook require), then the SDKs.
  const inst = {
    openai: new OpenAISpendGuardInstrumentation({ guard, scope: SCOPE }),
    anthropic: new AnthropicSpendGuardInstrumentation({ guard, scope: SCOPE }),
    bedrock: new BedrockSpendGuardInstrumentation({ guard, scope: SCOPE }),
  };
  const OpenAI = require('openai');
  const Anthropic = require('@anthropic-ai/sdk');
  const { BedrockRuntimeClient, ConverseCommand } = require('@aws-sdk/client-bedrock-runtime');
  const { NodeHttpHandler } = require('@smithy/node-http-handler');
  return {
    openai: {
      inst: inst.openai,
      client: (url) => new (OpenAI.default ?? OpenAI)({ baseURL: `${url}/v1`, apiKey: 'sk-bench', maxRetries: 0 }),
      wrap: (c) => withSpendGuard(c, { guard, scope: SCOPE }),
      call: (c) =>
        c.chat.completions.create({
          model: 'gpt-4o',
          max_tokens: 256,
          messages: [
            { role: 'system', content: SYSTEM },
            { role: 'user', content: userMessage() },
          ],
        }),
    },
    anthropic: {
      inst: inst.anthropic,
      client: (url) => new (Anthropic.default ?? Anthropic)({ baseURL: url, apiKey: 'sk-bench', maxRetries: 0 }),
      wrap: (c) => withAnthropicSpendGuard(c, { guard, scope: SCOPE }),
      call: (c) => c.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 256, system: SYSTEM, messages: [{ role: 'user', content: userMessage() }] }),
    },
    bedrock: {
      inst: inst.bedrock,
      client: (url) =>
        new BedrockRuntimeClient({
          region: 'us-east-1',
          endpoint: url,
          credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' },
          requestHandler: new NodeHttpHandler(),
          maxAttempts: 1,
        }),
      wrap: (c) => withBedrockSpendGuard(c, { guard, scope: SCOPE }),
      call: (c) =>
        c.send(
          new ConverseCommand({
            modelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
            system: [{ text: SYSTEM }],
            messages: [{ role: 'user', content: [{ text: userMessage() }] }],
            inferenceConfig: { maxTokens: 256 },
          }),
        ),
    },
  };
}

function summarize(samplesMs) {
  const s = Float64Array.from(samplesMs).sort();
  const us = (x) => round(x * 1000, 1);
  return {
    calls: s.length,
    p50Us: us(quantile(s, 0.5)),
    p90Us: us(quantile(s, 0.9)),
    p99Us: us(quantile(s, 0.99)),
    meanUs: us(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

/**
 * Runs the SDK comparison. `rounds` × `perRound` calls per variant and provider.
 * Returns per provider: each variant's latency and its added µs over `direct`.
 */
export async function sdkResults({ rounds = 30, perRound = 40, warmupRounds = 6, only } = {}) {
  const guard = benchGuard();
  const fake = await startServerProcess('fake');
  const proxy = await startServerProcess('proxy', fake.url);
  const all = { ...providers(guard), 'ai-sdk': await aiSdkProvider(guard) };
  const out = {};
  try {
    for (const [name, p] of Object.entries(all)) {
      if (only && !only.includes(name)) continue;
      const raw = p.client(fake.url);
      const viaProxy = p.client(proxy.url);
      const wrapped = p.wrap(p.client(fake.url));
      const variants = {
        direct: { client: raw, instrumented: false },
        proxy: { client: viaProxy, instrumented: false },
        instrumentation: { client: raw, instrumented: true },
        wrapper: { client: wrapped, instrumented: false },
      };
      const names = Object.keys(variants);
      const samples = Object.fromEntries(names.map((n) => [n, []]));
      const cpuUs = Object.fromEntries(names.map((n) => [n, 0]));
      const before = guard.pendingCount;
      for (let r = 0; r < warmupRounds + rounds; r++) {
        for (let k = 0; k < names.length; k++) {
          const v = names[(k + r) % names.length];
          const { client, instrumented } = variants[v];
          if (instrumented) p.inst.enable();
          else p.inst.disable();
          const cpu0 = process.cpuUsage();
          for (let i = 0; i < perRound; i++) {
            const t0 = performance.now();
            await p.call(client);
            const ms = performance.now() - t0;
            if (r >= warmupRounds) samples[v].push(ms);
          }
          const cpu = process.cpuUsage(cpu0);
          if (r >= warmupRounds) cpuUs[v] += cpu.user + cpu.system;
        }
      }
      p.inst.disable();
      if (guard.pendingCount !== before) throw new Error(`${name}: ${guard.pendingCount - before} calls left unsettled`);
      const stats = Object.fromEntries(names.map((n) => [n, { ...summarize(samples[n]), cpuUs: round(cpuUs[n] / samples[n].length, 1) }]));
      const added = (n) => ({
        addedP50Us: round(stats[n].p50Us - stats.direct.p50Us, 1),
        addedP99Us: round(stats[n].p99Us - stats.direct.p99Us, 1),
        addedMeanUs: round(stats[n].meanUs - stats.direct.meanUs, 1),
        // CPU of this (the client) process per call: steadier than latency on a busy machine.
        addedCpuUs: round(stats[n].cpuUs - stats.direct.cpuUs, 1),
      });
      out[name] = { variants: stats, added: { proxy: added('proxy'), instrumentation: added('instrumentation'), wrapper: added('wrapper') } };
    }
  } finally {
    await proxy.close();
    await fake.close();
  }
  // The floor of a guarded call, in this run: two signed entries (decision and outcome).
  const signer = createSigner(generateKeypair(), 'node');
  const body = { sequence: 42, decision: typicalDecision, previousHash: '0'.repeat(64), signerFingerprint: signer.fingerprint };
  const entry = measureSync('entry', () => signer.sign(Buffer.from(computeEntryHash(body), 'hex')), { iterations: 5000, warmup: 500 });
  return {
    rounds,
    perRound,
    floorTwoEntriesUs: round(2 * entry.meanUs, 1),
    floorTwoEntriesCpuUs: round(2 * entry.cpuUs, 1),
    providers: out,
    target: { addedP50Us: 120 },
  };
}

/** For profiling: `calls` sequential calls of one provider, guarded by the wrapper (or `<provider>-direct`). */
export async function sdkWorkload(kind, calls) {
  const [name, mode = 'wrapper'] = kind.split('-');
  const guard = benchGuard();
  const fake = await startServerProcess('fake');
  try {
    const p = providers(guard)[name];
    p.inst.disable();
    const client = mode === 'direct' ? p.client(fake.url) : p.wrap(p.client(fake.url));
    for (let i = 0; i < 500; i++) await p.call(client);
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await p.call(client);
    return performance.now() - t0;
  } finally {
    await fake.close();
  }
}

/** For ad-hoc A/B: the fake provider, a guard (given, or one logging in memory) and a provider's clients (direct and wrapped). */
export async function sdkClients(name, guard = benchGuard()) {
  const fake = await startServerProcess('fake');
  const p = name === 'ai-sdk' ? await aiSdkProvider(guard) : providers(guard)[name];
  p.inst.disable();
  return { guard, fake, call: p.call, direct: p.client(fake.url), wrapped: p.wrap(p.client(fake.url)) };
}

export function sdkRows(res) {
  const rows = [];
  for (const [prov, r] of Object.entries(res.providers)) {
    for (const [v, s] of Object.entries(r.variants)) {
      const a = v === 'direct' ? { addedP50Us: 0, addedP99Us: 0, addedCpuUs: 0 } : r.added[v];
      rows.push({
        provider: prov,
        variant: v,
        p50Us: s.p50Us,
        p99Us: s.p99Us,
        cpuUs: s.cpuUs,
        addedP50Us: a.addedP50Us,
        addedP99Us: a.addedP99Us,
        addedCpuUs: a.addedCpuUs,
      });
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const res = await sdkResults(quick ? { rounds: 8, perRound: 25 } : {});
  report('sdk-call', [], { machine: await machine(), ...res });
  table(
    `(3)+(7) SDK call against the loopback fake provider (µs; floor of 2 signed entries here: ${res.floorTwoEntriesUs} µs wall, ${res.floorTwoEntriesCpuUs} µs CPU)`,
    sdkRows(res),
  );
}
