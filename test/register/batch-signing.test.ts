import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyDecisionLog } from '../../src/audit.js';
import { publicKeyFromHex } from '../../src/audit/keys.js';
import { agentguardEnv, chainsOnDisk, cli, root, useFakeProvider, type Workspace } from '../helpers/register.js';

// Batch durability under `node --require agentguard-spend/register` (the bundled
// engine): entries are signed in the one signing thread, in batches, and reach
// the log files in order after the calls proceed.

const app = join(root, 'test', 'fixtures', 'register', 'signing-app.cjs');

const { fake, workspace } = useFakeProvider();
let ws: Workspace;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  lines: Record<string, unknown>[];
}

/** Runs the app; `killAfterMs` after its first call answered, it is SIGKILLed. */
function runSigningApp(env: Record<string, string>, killAfterMs?: number): Promise<Run> {
  const child = spawn(process.execPath, ['--require', 'agentguard-spend/register', app], {
    cwd: root,
    env: { ...process.env, ...agentguardEnv(ws), AGENTGUARD_DURABILITY: 'batch', FAKE_URL: fake().url, ...env },
  });
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  let stderr = '';
  let calls = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const p of parts) {
      if (!p.trim()) continue;
      const line = JSON.parse(p) as Record<string, unknown>;
      lines.push(line);
      if ('call' in line && ++calls === 1 && killAfterMs !== undefined) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr, lines })));
}

describe('register, batch durability: signing off the caller’s thread', () => {
  it('80 calls, 8 in flight: every decision and outcome on disk after a normal exit, in order; verify (CLI and library) ok; span entry hashes are the logged ones', async () => {
    ws = workspace();
    const run = await runSigningApp({ APP_CALLS_TOTAL: '80', APP_CONCURRENCY: '8', APP_TRACING: '1' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.lines.filter((l) => 'call' in l)).toHaveLength(80);
    // The signing thread ran in the bundled engine (the first entries are signed here while it starts).
    expect(run.lines.find((l) => 'signedOffThread' in l)!.signedOffThread).toBeGreaterThan(0);
    const chains = await chainsOnDisk(ws.logDir);
    expect(chains).toHaveLength(1);
    const { entries, torn } = chains[0]!;
    expect(torn).toBe(0);
    expect(entries.map((e) => e.sequence)).toEqual(Array.from({ length: 160 }, (_, i) => i));
    expect(entries.filter((e) => e.decision.entryType === 'decision')).toHaveLength(80);
    expect(entries.filter((e) => e.decision.entryType === 'outcome')).toHaveLength(80);

    const verify = cli(['verify', ws.logDir, '--public-key', `${ws.keyFile}.pub`]);
    expect(verify.stdout).toContain('1 chain: 1 intact, 0 failed');
    expect(verify.status).toBe(0);
    expect((await verifyDecisionLog(ws.logDir, publicKeyFromHex(ws.publicKeyHex))).ok).toBe(true);

    // Each span carries the hash its decision has in the log, set at decide time.
    const spans = (run.lines.find((l) => 'spans' in l)!.spans as { attributes: Record<string, unknown> }[]).filter(
      (s) => 'agentguard.decision.id' in s.attributes,
    );
    expect(spans).toHaveLength(80);
    const byId = new Map(entries.map((e) => [e.decision.decisionId, e]));
    for (const s of spans) {
      const entry = byId.get(s.attributes['agentguard.decision.id'] as string)!;
      expect(s.attributes['agentguard.decision.entry_hash']).toBe(entry.entryHash);
      expect(s.attributes['agentguard.decision.sequence']).toBe(entry.sequence);
      // The outcome, settled after the caller resumed, is on the span too.
      const outcome = entries.find((e) => e.decision.originalDecisionId === entry.decision.decisionId)!;
      expect(s.attributes['agentguard.outcome.entry_hash']).toBe(outcome.entryHash);
    }
  });

  it.each(['return', 'exit'])('APP_END=%s (the event loop empties / process.exit() at once): nothing is lost', async (end) => {
    ws = workspace();
    const run = await runSigningApp({ APP_CALLS_TOTAL: '30', APP_CONCURRENCY: '6', APP_END: end });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.lines.filter((l) => 'call' in l)).toHaveLength(30);
    const [chain] = await chainsOnDisk(ws.logDir);
    expect(chain!.torn).toBe(0);
    expect(chain!.entries.map((e) => e.sequence)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(chain!.entries.filter((e) => e.decision.entryType === 'outcome')).toHaveLength(30);
    expect((await verifyDecisionLog(ws.logDir, publicKeyFromHex(ws.publicKeyHex))).ok).toBe(true);
  });

  it('kill -9 mid-run: the log left is a valid chain prefix (no gap, nothing reordered) and verifies up to its last intact entry', async () => {
    ws = workspace();
    // Past the batch delay (1 s): some batches are written, the last ones are not.
    const run = await runSigningApp({ APP_LOOP: '1', APP_CONCURRENCY: '8' }, 2500);
    expect(run.signal).toBe('SIGKILL');
    const answered = run.lines.filter((l) => 'call' in l).length;
    const chains = await chainsOnDisk(ws.logDir);
    expect(chains).toHaveLength(1);
    const { entries, torn } = chains[0]!;
    expect(torn).toBeLessThanOrEqual(1);
    expect(entries.map((e) => e.sequence)).toEqual(Array.from({ length: entries.length }, (_, i) => i));
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.previousHash).toBe(entries[i - 1]!.entryHash);
    // What batch mode loses on kill -9: the entries not yet written (at most the batch delay's worth), never a middle one.
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.length).toBeLessThanOrEqual(2 * (answered + 8));
    const verified = await verifyDecisionLog(ws.logDir, publicKeyFromHex(ws.publicKeyHex));
    expect(verified.chains[0]!.entries).toBe(entries.length);
    expect(verified.ok).toBe(true);
  });
});

describe('the signing thread from the built package (no file to find: its code runs by eval)', () => {
  const script = (load: string) => `
    ${load}
    const guard = new SpendGuard({
      signingKeys: generateKeypair(),
      policy: parsePolicy({ id: 'p', name: 'p', scope: { tenantId: 't' }, mode: 'enforce', version: 1, effectiveFrom: '2020-01-01T00:00:00Z', caps: [] }),
    });
    const call = { provider: 'openai', model: 'gpt-4o-mini', scope: { tenantId: 't' }, estimatedInputTokens: 10, maxOutputTokens: 10 };
    (async () => {
      for (let round = 0; round < 20; round++) {
        const results = await Promise.all(Array.from({ length: 50 }, () => guard.decide(call)));
        for (const r of results) void guard.settle(r, { inputTokens: 1, outputTokens: 1 });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await guard.flush();
      console.log(JSON.stringify({ offThread: guard.entriesSignedOffThread, pending: guard.pendingCount }));
    })();`;

  it.each([
    ['CommonJS (require)', ['-e', script("const { SpendGuard, generateKeypair, parsePolicy } = require('agentguard-spend');")]],
    ['ESM (import)', ['--input-type=module', '-e', script("import { SpendGuard, generateKeypair, parsePolicy } from 'agentguard-spend';")]],
  ])('%s: the default store signs 2000 entries, on the signing thread once it is up, and the process exits', (_name, args) => {
    const r = spawnSync(process.execPath, args as string[], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { offThread: number; pending: number };
    expect(out.pending).toBe(0);
    // The thread ran from the built file; how many it signed depends on scheduling
    // (a busy machine can trip the unanswered-batch fallback), so only its use is asserted.
    expect(out.offThread).toBeGreaterThan(0);
  });
});
