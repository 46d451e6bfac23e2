// Websocket transports under register, in real child processes: to a watched provider host,
// enforce mode refuses them with an error naming the setting; AGENTGUARD_UNGUARDED_WEBSOCKET=allow
// lets them through with one warning; a bad setting stops start-up (exit 78).
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocketServer as WSS } from 'ws';
import { agentguardEnv, root, runNode, workspace, type NodeRun, type Workspace } from '../helpers/register.js';

const ws = createRequire(import.meta.url)('ws') as typeof import('ws');
const app = join(root, 'test', 'fixtures', 'register', 'websocket-app.cjs');

let server: WSS;
let url: string;
let messages: string[] = [];
let ws_: Workspace;
beforeAll(async () => {
  server = new ws.WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.on('connection', (socket) => socket.on('message', (data) => messages.push(data.toString())));
});
afterAll(() => server.close());
afterEach(() => {
  messages = [];
  ws_?.cleanup();
});

function run(env: Record<string, string>): Promise<NodeRun> {
  return runNode(['--require', 'agentguard-spend/register', app], { WS_URL: url, ...env }, { everyLineJson: true });
}

describe('register: websocket transports to provider hosts', () => {
  it('enforce mode: both transports fail closed with an error naming the setting; nothing reaches the server', async () => {
    ws_ = workspace();
    const r = await run({ ...agentguardEnv(ws_), AGENTGUARD_PROVIDER_HOSTS: `127.0.0.1:${new URL(url).port}=openai` });
    expect(r.code).toBe(0);
    expect(r.lines).toEqual([
      expect.objectContaining({
        transport: 'ws',
        ok: false,
        name: 'AgentGuardUnguardedTransportError',
        message: expect.stringContaining('AGENTGUARD_UNGUARDED_WEBSOCKET=allow'),
      }),
      expect.objectContaining({
        transport: 'global',
        ok: false,
        name: 'AgentGuardUnguardedTransportError',
        message: expect.stringContaining('AGENTGUARD_UNGUARDED_WEBSOCKET=allow'),
      }),
    ]);
    expect(messages).toEqual([]);
  });

  it('AGENTGUARD_UNGUARDED_WEBSOCKET=allow: sent, with one warning line', async () => {
    ws_ = workspace();
    const r = await run({ ...agentguardEnv(ws_), AGENTGUARD_PROVIDER_HOSTS: `127.0.0.1:${new URL(url).port}=openai`, AGENTGUARD_UNGUARDED_WEBSOCKET: 'allow' });
    expect(r.lines.map((l) => [l.transport, l.ok])).toEqual([
      ['ws', true],
      ['global', true],
    ]);
    expect(messages).toHaveLength(2);
    expect(r.stderr.match(/AGENTGUARD_UNGUARDED_WEBSOCKET=allow: the .* is not guarded/g)).toHaveLength(1);
  });

  it('a host the guard does not watch is untouched', async () => {
    ws_ = workspace();
    const r = await run(agentguardEnv(ws_));
    expect(r.lines.map((l) => [l.transport, l.ok])).toEqual([
      ['ws', true],
      ['global', true],
    ]);
    expect(r.stderr).toBe('');
  });

  it('a bad AGENTGUARD_UNGUARDED_WEBSOCKET stops start-up with one line naming it (exit 78)', async () => {
    ws_ = workspace();
    const r = await run({ ...agentguardEnv(ws_), AGENTGUARD_UNGUARDED_WEBSOCKET: 'maybe' });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/^agentguard-spend: AGENTGUARD_UNGUARDED_WEBSOCKET: expected one of block, allow/);
    expect(r.lines).toEqual([]);
  });
});
