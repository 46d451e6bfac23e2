/**
 * The Responses API's websocket transport under register, in real child
 * processes: the unmodified OpenAI Agents SDK app (`useResponsesWebSocket`)
 * against the fake provider's websocket endpoint on 127.0.0.1. Every
 * `response.create` is decided once; a downgrade is in the frame the fake
 * received, a block is never sent and fails the run with a catchable block;
 * usage from `response.completed` settles each call; the log verifies.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeResponsesWebSocket } from '../../../fake-provider/openai-websocket.js';
import { expectSignedLog, logOf } from '../../helpers/ai-sdk.js';
import { agentguardEnv, allText, MODELS, PROMPT, root, runNode, workspace, type NodeRun, type Workspace } from '../../helpers/register.js';

const apps = join(root, 'test', 'fixtures', 'websocket');
const { expensive: GPT, cheap: GPT_MINI } = MODELS.openai;
const THREE = [
  { model: GPT, maxTokens: 200 },
  { model: GPT, maxTokens: 20_000 },
  { model: GPT, maxTokens: 200_000 },
];

let fake: FakeResponsesWebSocket;
let ws: Workspace;
beforeAll(async () => {
  fake = new FakeResponsesWebSocket();
  await fake.listen();
});
afterAll(() => fake.close());
afterEach(() => {
  fake.reset();
  ws?.cleanup();
});

function run(args: string[], calls: unknown[], env: Record<string, string> = {}): Promise<NodeRun> {
  return runNode(args, {
    ...agentguardEnv(ws),
    AGENTGUARD_PROVIDER_HOSTS: `${new URL(fake.url).host}=openai`,
    FAKE_WS_URL: fake.url,
    FAKE_HTTP_URL: fake.url.replace('ws:', 'http:'),
    APP_CALLS: JSON.stringify(calls),
    ...env,
  });
}

const agentsApp = (format: 'cjs' | 'esm') =>
  format === 'cjs'
    ? ['--require', 'agentguard-spend/register', join(apps, 'agents-ws-app.cjs')]
    : ['--import', 'agentguard-spend/register', join(apps, 'agents-ws-app.mjs')];

describe.each(['cjs', 'esm'] as const)('OpenAI Agents SDK, Responses websocket transport, under register (%s)', (format) => {
  it('each response.create decided once: downgrade in the frame sent, block never sent and catchable, usage settled, verify ok', async () => {
    ws = workspace();
    const r = await run(agentsApp(format), [...THREE, { model: GPT, maxTokens: 20_000, stream: true }]);
    expect(r.stderr).not.toMatch(/unguarded|refused|startup failed/);
    expect(r.code).toBe(0);
    expect(r.lines.map((l) => [l.call, l.ok, l.ok ? typeof l.output : l.block])).toEqual([
      [0, true, 'string'],
      [1, true, 'string'],
      [2, false, true],
      [3, true, 'string'],
    ]);
    // What the provider received: one frame per allowed run, the downgrade in it, nothing of the block.
    expect(fake.creates.map((f) => [f.model, f.max_output_tokens])).toEqual([
      [GPT, 200],
      [GPT_MINI, 20_000],
      [GPT_MINI, 20_000],
    ]);

    await expectSignedLog(ws, {
      decisions: [
        ['openai', 'allow', GPT],
        ['openai', 'downgrade', GPT_MINI],
        ['openai', 'block', GPT],
        ['openai', 'downgrade', GPT_MINI],
      ],
      settled: [
        [25, 10],
        [25, 10],
        [25, 10],
      ],
    });
    expect(allText(ws.logDir)).not.toContain(PROMPT);
  });
});

describe('Responses websocket under register: cut short and before the engine', () => {
  it('a socket closed mid-response releases the call with what was seen', async () => {
    ws = workspace();
    fake.behaviour = { closeAfterEvents: 5, streamChunks: 4 };
    const r = await run(agentsApp('cjs'), [{ model: GPT, maxTokens: 200 }]);
    expect(r.code).toBe(0);
    expect(r.lines).toEqual([expect.objectContaining({ call: 0, ok: false, block: false })]);
    expect(fake.creates).toHaveLength(1);
    const log = await logOf(ws);
    expect(log.verified).toBe(true);
    const [decision] = log.decisions;
    const outcome = log.outcomes.get(decision!.decisionId);
    // Released, not settled: input charged at the estimate, output from the deltas seen.
    expect(outcome?.outcome).toBe('released');
    expect(outcome?.actualInputTokens).toBeGreaterThan(0);
    expect(outcome?.actualOutputTokens).toBeGreaterThan(0);
  });

  it.each(['--require', '--import'])("a global WebSocket opened at start-up, before the engine's timer, is decided frame by frame (%s)", async (preload) => {
    ws = workspace();
    const r = await run([preload, 'agentguard-spend/register', join(apps, 'early-socket-app.cjs')], THREE);
    expect(r.code).toBe(0);
    expect(r.lines).toEqual([
      { call: 0, ok: true, model: GPT },
      { call: 1, ok: true, model: GPT_MINI },
      { call: 2, ok: false, name: 'AgentGuardBlockedError', code: 'agentguard_blocked' },
    ]);
    expect(fake.creates.map((f) => f.model)).toEqual([GPT, GPT_MINI]);
    const log = await logOf(ws);
    expect(log.verified).toBe(true);
    expect(log.decisions.map((d) => d.action)).toEqual(['allow', 'downgrade', 'block']);
  });
});
