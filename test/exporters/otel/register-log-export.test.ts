import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../../fake-provider/index.js';
import { LOG_EVENT, LOG_RECORD_ATTR } from '../../../exporters/otel/log-records.js';
import { agentguardEnv, cli, root, startFake, threeCalls, workspace, type Workspace } from '../../helpers/register.js';
import { attr, readStored, startOtlpFileReceiver, storedRecords } from '../../helpers/otlp.js';

// Real child processes: `node --import agentguard-spend/register` with
// AGENTGUARD_LOG_EXPORT, an app whose own SDK ships logs over OTLP/HTTP JSON
// to a loopback receiver storing them as the Collector's file exporter does.
let fake: FakeProvider;
const workspaces: Workspace[] = [];
beforeAll(async () => {
  fake = await startFake();
});
afterAll(async () => {
  await fake.close();
  for (const ws of workspaces) ws.cleanup();
});

async function runWithExport(mode: 'otel' | 'both') {
  const ws = workspace();
  workspaces.push(ws);
  const stored = join(ws.dir, 'collector.json');
  const receiver = await startOtlpFileReceiver(stored);
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...agentguardEnv(ws),
    AGENTGUARD_LOG_EXPORT: mode,
    FAKE_URL: fake.url,
    APP_CALLS: JSON.stringify(threeCalls('openai')),
    OTLP_LOGS_URL: receiver.logsUrl,
  };
  delete env.AGENTGUARD_CHAIN_ID;
  const child = spawn(process.execPath, ['--import', 'agentguard-spend/register', join(root, 'test', 'fixtures', 'exporters', 'otel-logs-app.mjs')], {
    cwd: root,
    env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  await receiver.close();
  const spans = (JSON.parse(stdout.split('\n').find((l) => l.startsWith('{"spans"'))!) as { spans: { traceId: string; spanId: string; entryHash: string }[] })
    .spans;
  return { ws, stored, code, stderr, spans, records: storedRecords(readStored(stored)).map((r) => r.record) };
}

describe('register with AGENTGUARD_LOG_EXPORT', () => {
  it('otel: every signed entry reaches the collector through the app pipeline registered after the preload, with the guarded span context; no log files; verify ok', async () => {
    const r = await runWithExport('otel');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(r.ws.logDir)).toBe(false);
    const entries = r.records.filter((x) => x.eventName === LOG_EVENT.ENTRY);
    // allow + outcome, downgrade + outcome, block
    expect(entries.map((x) => attr(x, LOG_RECORD_ATTR.SEQUENCE))).toEqual(['0', '1', '2', '3', '4']);
    expect(r.records.filter((x) => x.eventName === LOG_EVENT.CHECKPOINT)).toHaveLength(1);
    for (const s of r.spans) {
      const rec = entries.find((x) => attr(x, LOG_RECORD_ATTR.ENTRY_HASH) === s.entryHash)!;
      expect({ traceId: rec.traceId, spanId: rec.spanId }).toEqual({ traceId: s.traceId, spanId: s.spanId });
    }
    expect(r.spans).toHaveLength(3);
    const v = cli(['verify', r.stored, '-k', r.ws.publicKeyHex]);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/: ok, 5 entries in 1 file, 1 checkpoint matched/);
  });

  it('both: the files and the records hold the same lines, and both verify', async () => {
    const r = await runWithExport('both');
    expect(r.code).toBe(0);
    const files = readdirSync(r.ws.logDir).filter((f) => f.endsWith('.jsonl') && !f.includes('checkpoints'));
    expect(files).toHaveLength(1);
    const lines = readFileSync(join(r.ws.logDir, files[0]!), 'utf8').split('\n').filter(Boolean);
    expect(r.records.filter((x) => x.eventName === LOG_EVENT.ENTRY).map((x) => x.body?.stringValue)).toEqual(lines);
    expect(new Set(r.records.map((x) => attr(x, LOG_RECORD_ATTR.CHAIN_ID)))).toEqual(new Set([files[0]!.split('.')[0]]));
    expect(cli(['verify', r.stored, '-k', r.ws.publicKeyHex]).status).toBe(0);
    expect(cli(['verify', r.ws.logDir, '-k', r.ws.publicKeyHex]).status).toBe(0);
  });
});
