/**
 * The frame guard in process, against the fake provider's Responses websocket
 * on 127.0.0.1: a `ws` socket's frames keep their order behind a pending
 * decision, a clamp lowers the bound in the frame, a block is never sent and
 * reaches the OpenAI Agents SDK's run as a catchable block (decided once, not
 * retried), and `response.completed` settles each call.
 */
import { createRequire } from 'node:module';
import { trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeResponsesWebSocket } from '../../../fake-provider/openai-websocket.js';
import { installWebSocketGuard, type InstalledWebSocketGuard } from '../../../instrumentations/websocket/index.js';
import { createFrameGuard } from '../../../instrumentations/websocket/frames.js';
import { responseFrameAdapter } from '../../../src/register/websocket-engine.js';
import type { SpendCap } from '../../../src/engine/policy.js';
import { isAgentGuardBlock } from '../../../src/index.js';
import { makeGuard, policy, setupTracing, until, type TestGuard } from '../../helpers/openai.js';

const require = createRequire(import.meta.url);
const ws = require('ws') as typeof import('ws');
const tracer = () => (setupTracing(), trace.getTracer('frames-test'));

let fake: FakeResponsesWebSocket;
let installed: InstalledWebSocketGuard | undefined;
beforeAll(async () => {
  fake = new FakeResponsesWebSocket();
  await fake.listen();
});
afterAll(() => fake.close());
afterEach(() => {
  installed?.uninstall();
  installed = undefined;
  fake.reset();
});

const DOWNGRADE_BLOCK: Partial<SpendCap>[] = [
  { amountCents: 10, window: 'per_call', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'over 10c' },
  { amountCents: 100, window: 'per_call', action: 'block', reason: 'over $1' },
];

function install(caps: Partial<SpendCap>[]): TestGuard {
  const t = makeGuard([policy(caps)]);
  const binding = { guard: t.guard, scope: { tenantId: 't1' }, tracer: tracer() };
  installed = installWebSocketGuard({
    enforce: true,
    hosts: [new URL(fake.url).host],
    frames: () => createFrameGuard({ binding: () => binding, adapter: responseFrameAdapter }),
  });
  installed.patchWs(ws);
  return t;
}

const create = (model: string, max: number) => JSON.stringify({ type: 'response.create', model, max_output_tokens: max, input: 'hi', stream: true });

/** Opens a `ws` socket, sends `frames` back to back, resolves when `completions` responses completed. */
function overWs(frames: string[], completions: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = new ws.WebSocket(`${fake.url}/v1/responses`);
    const done: string[] = [];
    socket.on('open', () => {
      for (const f of frames) socket.send(f);
    });
    socket.on('message', (data) => {
      const event = JSON.parse(data.toString()) as { type: string; response?: { model: string } };
      if (event.type === 'response.completed') done.push(event.response!.model);
      if (done.length === completions) {
        socket.close();
        resolve(done);
      }
    });
    socket.on('error', reject);
  });
}

describe('Responses websocket frames, decided', () => {
  it('ws: frames sent after a response.create wait for its decision and keep their order; usage settles it', async () => {
    const t = install(DOWNGRADE_BLOCK);
    const models = await overWs([create('gpt-4o', 20_000), '{"type":"session.ping"}', create('gpt-4o', 200)], 2);
    expect(models).toEqual(['gpt-4o-mini', 'gpt-4o']);
    expect(fake.frames.map((f) => [(f as { type: string }).type, (f as { model?: string }).model])).toEqual([
      ['response.create', 'gpt-4o-mini'],
      ['session.ping', undefined],
      ['response.create', 'gpt-4o'],
    ]);
    await until(() => t.outcomes().length === 2);
    expect(t.decisions().map((d) => d.action)).toEqual(['downgrade', 'allow']);
    expect(t.outcomes().map((o) => [o.outcome, o.actualInputTokens, o.actualOutputTokens])).toEqual([
      ['settled', 25, 10],
      ['settled', 25, 10],
    ]);
  });

  it('a clamp lowers max_output_tokens in the frame sent', async () => {
    const t = install([{ amountCents: 5, window: 'per_call', action: 'block', reason: 'per-call budget', clampMaxTokens: true }]);
    await overWs([create('gpt-4o', 200_000)], 1);
    const sent = fake.creates[0]!.max_output_tokens as number;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(200_000);
    await until(() => t.outcomes().length === 1);
    expect(t.decisions()[0]!.clampedMaxOutputTokens).toBe(sent);
  });

  it('a block is not sent: the ws socket reports it as its error and closes', async () => {
    const t = install(DOWNGRADE_BLOCK);
    const error = await new Promise<unknown>((resolve) => {
      const socket = new ws.WebSocket(`${fake.url}/v1/responses`);
      socket.on('open', () => socket.send(create('gpt-4o', 200_000)));
      socket.on('error', resolve);
    });
    expect(isAgentGuardBlock(error)).toBe(true);
    expect(fake.creates).toEqual([]);
    expect(t.decisions().map((d) => d.action)).toEqual(['block']);
  });

  it('the OpenAI Agents SDK (global WebSocket): a block fails the run with a catchable block, decided once; the next run works', async () => {
    const t = install(DOWNGRADE_BLOCK);
    const { Agent, Runner, OpenAIProvider, setTracingDisabled } = require('@openai/agents') as typeof import('@openai/agents');
    setTracingDisabled(true);
    const provider = new OpenAIProvider({
      apiKey: 'sk-test-not-a-key',
      baseURL: `${fake.url.replace('ws:', 'http:')}/v1`,
      websocketBaseURL: `${fake.url}/v1`,
      useResponsesWebSocket: true,
    });
    const runner = new Runner({ modelProvider: provider });
    const agent = (max: number) => new Agent({ name: 'a', instructions: 'Be brief.', model: 'gpt-4o', modelSettings: { maxTokens: max } });
    const failed = await runner.run(agent(200_000), 'hi').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isAgentGuardBlock(failed)).toBe(true);
    const ok = await runner.run(agent(200), 'hi');
    expect(typeof ok.finalOutput).toBe('string');
    await provider.close();
    expect(fake.creates.map((f) => f.model)).toEqual(['gpt-4o']);
    expect(t.decisions().map((d) => d.action)).toEqual(['block', 'allow']);
  });
});

describe("the openai SDK's own Responses websocket client (ResponsesWS, over ws)", () => {
  it('decided per response.create: downgrade in the frame sent, a block as its error event with the block as cause', async () => {
    const t = install(DOWNGRADE_BLOCK);
    const { OpenAI } = require('openai') as typeof import('openai');
    const { ResponsesWS } = require('openai/resources/responses/ws') as typeof import('openai/resources/responses/ws');
    const client = new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: `${fake.url.replace('ws:', 'http:')}/v1` });
    const rws = new ResponsesWS(client);
    const errors: unknown[] = [];
    const completed: string[] = [];
    rws.on('error', (err) => errors.push(err));
    rws.on('event', (event) => {
      if (event.type === 'response.completed') completed.push(event.response.model);
    });
    rws.send({ type: 'response.create', model: 'gpt-4o', max_output_tokens: 20_000, input: 'hi' } as never);
    await until(() => completed.length === 1, 5000);
    rws.send({ type: 'response.create', model: 'gpt-4o', max_output_tokens: 200_000, input: 'hi' } as never);
    await until(() => errors.length > 0, 5000);
    rws.close();
    expect(completed).toEqual(['gpt-4o-mini']);
    expect(isAgentGuardBlock(errors[0])).toBe(true);
    expect(fake.creates.map((f) => f.model)).toEqual(['gpt-4o-mini']);
    expect(t.decisions().map((d) => d.action)).toEqual(['downgrade', 'block']);
  });
});
