import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import * as http from 'node:http';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFakeProvider, type FakeProvider } from '../../../fake-provider/index.js';
import {
  installSafetyNet,
  matchEndpoint,
  NetRewriteError,
  parseProviderHosts,
  UnguardedCallError,
  wireUsage,
  type SafetyNet,
  type SafetyNetConfig,
  type UnguardedMode,
} from '../../../instrumentations/safety-net/index.js';
import { AgentGuardBlockedError, type SpendCap } from '../../../src/index.js';
import { decisions, makeGuard, policy, setupOtel } from '../../helpers/anthropic.js';

// The net in-process, over the real global fetch and node:http, against the fake.

describe('which requests are provider calls', () => {
  const at = (method: string, url: string, extra = '') => matchEndpoint(method, new URL(url), parseProviderHosts(extra));
  it('recognises the providers’ hosts and priced paths, and nothing else', () => {
    expect(at('POST', 'https://api.openai.com/v1/chat/completions')).toMatchObject({ provider: 'openai', api: 'openai-chat' });
    expect(at('POST', 'https://api.openai.com/v1/responses')).toMatchObject({ api: 'openai-responses' });
    expect(at('POST', 'https://api.openai.com/v1/embeddings')).toMatchObject({ api: 'openai-embeddings' });
    expect(at('POST', 'https://acme.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21')).toMatchObject({
      provider: 'openai',
      api: 'openai-chat',
      pathModel: 'gpt4o-prod',
    });
    expect(at('POST', 'https://acme.openai.azure.com/openai/v1/responses')).toMatchObject({ api: 'openai-responses' });
    expect(at('POST', 'https://api.anthropic.com/v1/messages')).toMatchObject({ provider: 'anthropic', api: 'anthropic-messages' });
    expect(at('POST', 'https://bedrock-runtime.eu-west-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream')).toMatchObject({
      provider: 'bedrock',
      api: 'bedrock-converse-stream',
      pathModel: 'anthropic.claude-3-haiku-20240307-v1:0',
    });
    expect(at('GET', 'https://api.openai.com/v1/models')).toBeUndefined();
    expect(at('POST', 'https://api.openai.com/v1/files')).toBeUndefined();
    expect(at('POST', 'https://api.anthropic.com/v1/messages/count_tokens')).toBeUndefined();
    expect(at('POST', 'https://example.com/v1/chat/completions')).toBeUndefined();
    expect(at('POST', 'http://127.0.0.1:8080/v1/messages')).toBeUndefined();
    expect(at('POST', 'http://127.0.0.1:8080/v1/messages', '127.0.0.1:8080')).toMatchObject({ provider: 'anthropic' });
    expect(at('POST', 'http://127.0.0.1:8080/v1/messages', '127.0.0.1:8080=openai')).toBeUndefined();
    expect(at('POST', 'http://127.0.0.1:9090/v1/messages', '127.0.0.1:8080')).toBeUndefined();
    expect(at('POST', 'https://llm.gw.internal/v1/chat/completions', '*.gw.internal=openai')).toMatchObject({ provider: 'openai' });
  });

  it('rejects a bad AGENTGUARD_PROVIDER_HOSTS entry, naming it', () => {
    expect(() => parseProviderHosts('proxy.internal=gemini')).toThrow(/"proxy.internal=gemini": unknown provider "gemini"/);
    expect(() => parseProviderHosts('http://proxy.internal')).toThrow(/expected host\[:port\]/);
  });

  it('reads every provider’s usage in the engine’s semantics (cache inside input, reasoning inside output)', () => {
    expect(
      wireUsage({
        prompt_tokens: 100,
        completion_tokens: 20,
        prompt_tokens_details: { cached_tokens: 60 },
        completion_tokens_details: { reasoning_tokens: 5 },
      }),
    ).toEqual({
      inputTokens: 100,
      outputTokens: 20,
      cachedInputTokens: 60,
      reasoningTokens: 5,
    });
    expect(wireUsage({ input_tokens: 10, output_tokens: 7, cache_read_input_tokens: 80, cache_creation_input_tokens: 30 })).toEqual({
      inputTokens: 120,
      outputTokens: 7,
      cachedInputTokens: 80,
      cacheWriteTokens: 30,
    });
    expect(wireUsage({ inputTokens: 10, outputTokens: 3, cacheReadInputTokens: 5 })).toEqual({ inputTokens: 15, outputTokens: 3, cachedInputTokens: 5 });
    expect(
      wireUsage({ input_tokens: 40, output_tokens: 9, input_tokens_details: { cached_tokens: 8 }, output_tokens_details: { reasoning_tokens: 2 } }),
    ).toEqual({ inputTokens: 40, outputTokens: 9, cachedInputTokens: 8, reasoningTokens: 2 });
    expect(wireUsage({ prompt_tokens: 12, total_tokens: 12 })).toEqual({ inputTokens: 12, outputTokens: 0 });
  });
});

let fake: FakeProvider;
let h2fake: FakeProvider;
let net: SafetyNet;
let mode: UnguardedMode = 'decide';
const warnings: string[] = [];
const CAPS: Partial<SpendCap>[] = [
  { amountCents: 10, window: 'per_call', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'cheap' },
  { amountCents: 100, window: 'per_call', action: 'block', reason: 'over $1' },
];
const bedrockCaps: Partial<SpendCap>[] = [
  { amountCents: 10, window: 'per_call', action: 'downgrade', downgradeTo: 'anthropic.claude-3-haiku-20240307-v1:0', reason: 'cheap' },
];
const { guard, log } = makeGuard([
  policy({ id: 'openai', caps: CAPS as SpendCap[], scope: { tenantId: 'acme', provider: 'openai' } }),
  policy({ id: 'bedrock', caps: bedrockCaps as SpendCap[], scope: { tenantId: 'acme', provider: 'bedrock' } }),
]);

beforeAll(async () => {
  const { provider } = setupOtel();
  fake = createFakeProvider();
  await fake.listen();
  h2fake = createFakeProvider(['bedrock']);
  await h2fake.listenHttp2();
  const binding = { guard, scope: { tenantId: 'acme' }, tracer: provider.getTracer('net-test') };
  const config: SafetyNetConfig = {
    mode,
    hosts: parseProviderHosts(`${new URL(fake.url).host},${new URL(h2fake.url).host}=bedrock`),
    binding: () => binding,
    warnBinding: () => binding,
    warn: (l) => warnings.push(l),
  };
  net = installSafetyNet(() => ({ ...config, mode }));
});
afterAll(async () => {
  net.uninstall();
  await fake.close();
  await h2fake.close();
});
afterEach(() => {
  fake.reset();
  h2fake.reset();
  mode = 'decide';
  warnings.length = 0;
});

const outcomes = () => decisions(log).filter((d) => d.entryType === 'outcome');
const calls = () => decisions(log).filter((d) => d.entryType !== 'outcome');
const chat = (body: Record<string, unknown>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], ...body }),
});

describe('the net over fetch and node:http', () => {
  it('a Request object is decided and rewritten like init', async () => {
    const res = await fetch(new Request(`${fake.url}/v1/chat/completions`, chat({ model: 'gpt-4o', max_tokens: 20_000 })));
    expect(((await res.json()) as { model: string }).model).toBe('gpt-4o-mini');
    expect(fake.requests[0]!.body).toMatchObject({ model: 'gpt-4o-mini', max_tokens: 20_000 });
    expect(outcomes().at(-1)).toMatchObject({ outcome: 'settled', actualInputTokens: 25 });
    // The span conventions: the server the request went to, the response id and finish reasons.
    const span = setupOtel().exporter.getFinishedSpans().at(-1)!;
    expect(span.attributes).toMatchObject({
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(fake.url).port),
      'gen_ai.response.finish_reasons': ['stop'],
    });
    expect(typeof span.attributes['gen_ai.response.id']).toBe('string');
  });

  it('a call without an output bound is sent without one; a policy’s defaultMaxOutputTokens is written into it', async () => {
    await (await fetch(`${fake.url}/v1/chat/completions`, chat({ model: 'gpt-4o-mini' }))).text();
    expect(fake.requests[0]!.body).not.toHaveProperty('max_completion_tokens');
    expect(fake.requests[0]!.body).not.toHaveProperty('max_tokens');
    const before = [...guard.policies];
    guard.setPolicies(before.map((p) => (p.id === 'openai' ? { ...p, defaultMaxOutputTokens: 321 } : p)));
    try {
      await (await fetch(`${fake.url}/v1/chat/completions`, chat({ model: 'gpt-4o-mini' }))).text();
    } finally {
      guard.setPolicies(before);
    }
    expect(fake.requests[1]!.body).toMatchObject({ model: 'gpt-4o-mini', max_completion_tokens: 321 });
  });

  it('openai.embeddings.create (no SDK-level guard) is decided from its body and allowed within the caps', async () => {
    const client = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const res = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a short text to embed'] });
    expect(res.data).toHaveLength(1);
    expect(fake.requests.map((r) => r.path)).toEqual(['/v1/embeddings']);
    expect(calls().at(-1)).toMatchObject({ action: 'allow', provider: 'openai', modelRequested: 'text-embedding-3-small' });
    expect(outcomes().at(-1)).toMatchObject({ outcome: 'settled', actualOutputTokens: 0 });
  });

  it('an event stream the caller cancels is charged what it saw; an HTTP error is released at 0', async () => {
    fake.behaviour.streamChunks = 40;
    fake.behaviour.chunkDelayMs = 5;
    const res = await fetch(
      `${fake.url}/v1/chat/completions`,
      chat({ model: 'gpt-4o-mini', max_tokens: 100, stream: true, stream_options: { include_usage: true } }),
    );
    const reader = res.body!.getReader();
    for (let i = 0; i < 4; i++) await reader.read();
    await reader.cancel();
    const cut = outcomes().at(-1)!;
    expect(cut.outcome).toBe('released');
    expect(cut.reasons.join(' ')).toContain('StreamAbandoned');
    expect(cut.actualOutputTokens).toBeGreaterThan(0);

    fake.behaviour = { failWithStatus: 500 };
    const failed = await fetch(`${fake.url}/v1/chat/completions`, chat({ model: 'gpt-4o-mini', max_tokens: 100 }));
    expect(failed.status).toBe(500);
    await failed.text();
    expect(outcomes().at(-1)).toMatchObject({ outcome: 'released', actualCents: 0 });
  });

  it('a signed Bedrock request is decided, but a downgrade it cannot carry fails closed before anything is sent', async () => {
    const sonnet = encodeURIComponent('anthropic.claude-3-5-sonnet-20240620-v1:0');
    const converse = (maxTokens: number) => ({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }], inferenceConfig: { maxTokens } }),
    });
    const ok = await fetch(`${fake.url}/model/${sonnet}/converse`, converse(200));
    expect(ok.status).toBe(200);
    await ok.json();
    expect(outcomes().at(-1)).toMatchObject({ outcome: 'settled', provider: 'bedrock' });
    await expect(fetch(`${fake.url}/model/${sonnet}/converse`, converse(20_000))).rejects.toBeInstanceOf(NetRewriteError);
    expect(fake.requests).toHaveLength(1);
    expect(outcomes().at(-1)).toMatchObject({ outcome: 'released', actualCents: 0 });
  });

  it('node:http: a block destroys the request before its body is written; GET requests pass untouched', async () => {
    const error = await new Promise<Error>((resolve) => {
      const req = http.request(`${fake.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, () =>
        resolve(new Error('unexpected response')),
      );
      req.on('error', resolve);
      req.end(JSON.stringify({ model: 'gpt-4o', max_tokens: 200_000, messages: [] }));
    });
    expect(error).toBeInstanceOf(AgentGuardBlockedError);
    const status = await new Promise<number>((resolve, reject) =>
      http.get(`${fake.url}/v1/models`, (res) => (res.resume(), resolve(res.statusCode!))).on('error', reject),
    );
    expect(status).toBe(404);
    expect(fake.requests.map((r) => r.method)).toEqual(['GET']);
  });

  it('warn: an unreadable body is sent, and says so on stderr; block: refused', async () => {
    mode = 'warn';
    const res = await fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', body: 'not json' });
    expect(res.status).toBe(200);
    await res.text();
    expect(warnings).toEqual([expect.stringContaining('its body could not be read')]);
    mode = 'block';
    await expect(fetch(`${fake.url}/v1/messages`, { method: 'POST', body: '{}' })).rejects.toBeInstanceOf(UnguardedCallError);
    expect(fake.requests).toHaveLength(1);
  });

  it('node:http2 (the AWS SDK’s default handler): decided, settled from the response; a downgrade a signed request cannot carry is refused before its body', async () => {
    const client = new BedrockRuntimeClient({
      region: 'us-east-1',
      endpoint: h2fake.url,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const converse = (maxTokens: number) =>
      new ConverseCommand({
        modelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
        messages: [{ role: 'user', content: [{ text: 'hi' }] }],
        inferenceConfig: { maxTokens },
      });
    try {
      const ok = await client.send(converse(200));
      expect(ok.usage?.outputTokens).toBeGreaterThan(0);
      expect(outcomes().at(-1)).toMatchObject({ outcome: 'settled', provider: 'bedrock', actualOutputTokens: ok.usage!.outputTokens });
      await expect(client.send(converse(20_000))).rejects.toMatchObject({ name: 'NetRewriteError' });
      expect(h2fake.requests).toHaveLength(1);
      expect(calls().at(-1)).toMatchObject({ action: 'downgrade', provider: 'bedrock' });
    } finally {
      client.destroy();
    }
  });
});
