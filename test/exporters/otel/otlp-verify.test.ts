import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { logs, SeverityNumber } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileDecisionLogStore } from '../../../exporters/file/file-store.js';
import type { LogVerification } from '../../../exporters/file/verify-log.js';
import { LOG_EVENT, LOG_RECORD_ATTR, OtelLogRecordStore } from '../../../exporters/otel/log-records.js';
import { generateKeypair } from '../../../src/index.js';
import { bytesToHex } from '../../../src/audit/hex.js';
import { run } from '../../helpers/cli.js';
import { guardWith, oneCall, openPolicy, tempDir } from '../../helpers/log.js';
import { attr, readStored, startOtlpFileReceiver, storedRecords, writeStored, type StoredRecord } from '../../helpers/otlp.js';

// The real pipeline: OtelLogRecordStore → the app's global SDK LoggerProvider →
// BatchLogRecordProcessor → OTLP/HTTP JSON exporter → a loopback receiver that
// stores each export request as the Collector's file exporter does → `verify`.
const t = tempDir('agentguard-otlp-verify-');
const stored = join(t.dir, 'collector', 'logs.json');
const keys = generateKeypair();
const pub = bytesToHex(keys.publicKey);
let chains: { a: string; b: string };

beforeAll(async () => {
  mkdirSync(join(t.dir, 'collector'));
  const receiver = await startOtlpFileReceiver(stored);
  const provider = new LoggerProvider({
    processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: receiver.logsUrl }), maxExportBatchSize: 5, scheduledDelayMillis: 10 })],
  });
  logs.setGlobalLoggerProvider(provider);
  // Two processes' chains, interleaved in one pipeline, with the app's own logs in between.
  const a = new OtelLogRecordStore({ checkpoints: { every: 4 } });
  const b = new OtelLogRecordStore({ checkpoints: { every: 4 } });
  const guardA = guardWith({ signingKeys: keys, logStore: a, policy: openPolicy() });
  const guardB = guardWith({ signingKeys: keys, logStore: b, policy: openPolicy() });
  const app = logs.getLogger('app');
  for (let i = 0; i < 5; i++) {
    await oneCall(guardA);
    app.emit({ severityNumber: SeverityNumber.INFO, body: `app log ${i}` });
    await oneCall(guardB);
  }
  await Promise.all([a.close(), b.close()]);
  await provider.shutdown();
  await receiver.close();
  chains = { a: a.chainId, b: b.chainId };
  expect(receiver.requests).toBeGreaterThan(4); // many batches, interleaved
});
afterAll(() => {
  logs.disable();
  t.cleanup();
});

function verify(path: string): { status: number | null; result: LogVerification; stdout: string } {
  const r = run(['verify', path, '-k', pub, '--json']);
  expect(r.stderr).toBe('');
  return { status: r.status, result: JSON.parse(r.stdout) as LogVerification, stdout: r.stdout };
}

/** Writes an edited copy of the stored file to `name` and returns its path. */
function edited(name: string, edit: (docs: ReturnType<typeof readStored>) => void): string {
  const docs = readStored(stored);
  edit(docs);
  const path = join(t.dir, name);
  writeStored(path, docs);
  return path;
}

const entryOf = (docs: ReturnType<typeof readStored>, chainId: string, sequence: number) =>
  storedRecords(docs).find(
    ({ record }) =>
      record.eventName === LOG_EVENT.ENTRY && attr(record, LOG_RECORD_ATTR.CHAIN_ID) === chainId && attr(record, LOG_RECORD_ATTR.SEQUENCE) === String(sequence),
  )!;

describe('verify reads the decision log back from what an OpenTelemetry Collector stored (OTLP JSON)', () => {
  it('the stored records are the entries and checkpoints of both chains, each with its JSONL line as body; verify: both chains ok, checkpoints matched', () => {
    const records = storedRecords(readStored(stored)).map((r) => r.record);
    const ours = (id: string, event: string) => records.filter((r: StoredRecord) => attr(r, LOG_RECORD_ATTR.CHAIN_ID) === id && r.eventName === event);
    expect(ours(chains.a, LOG_EVENT.ENTRY)).toHaveLength(10);
    expect(ours(chains.b, LOG_EVENT.CHECKPOINT).map((r) => attr(r, LOG_RECORD_ATTR.SEQUENCE))).toEqual(['3', '7', '9']);
    expect(records.filter((r) => r.body?.stringValue?.startsWith('app log'))).toHaveLength(5);

    const { status, result } = verify(stored);
    expect(status).toBe(0);
    expect(result.chains.map((c) => [c.chainId, c.ok, c.entries, c.checkpoints?.count]).sort()).toEqual(
      [
        [chains.a, true, 10, 3],
        [chains.b, true, 10, 3],
      ].sort(),
    );
    const text = run(['verify', join(t.dir, 'collector'), '-k', pub]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain(`${chains.a}: ok, 10 entries in 1 file, 3 checkpoints matched`);
    expect(text.stdout).toContain('2 chains: 2 intact, 0 failed');
  });

  it('gzip-compressed files verify the same', () => {
    const dir = join(t.dir, 'gz');
    mkdirSync(dir);
    writeFileSync(join(dir, 'logs-2026-01-01.json.gz'), gzipSync(readFileSync(stored)));
    const { status, result } = verify(dir);
    expect(status).toBe(0);
    expect(result.chains.map((c) => c.entries)).toEqual([10, 10]);
  });

  it('files the Collector compressed with zstd (each request a zstd frame after its 4-byte length) verify the same; a frame cut short is skipped', () => {
    const frames = readFileSync(stored, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const z = zstdCompressSync(Buffer.from(line));
        const len = Buffer.alloc(4);
        len.writeUInt32BE(z.length);
        return Buffer.concat([len, z]);
      });
    const dir = join(t.dir, 'zstd');
    mkdirSync(dir);
    writeFileSync(join(dir, 'logs.zst'), Buffer.concat([...frames, frames[0]!.subarray(0, 10)]));
    const { status, result } = verify(dir);
    expect(status).toBe(0);
    expect(result.chains.map((c) => c.entries)).toEqual([10, 10]);
  });

  it('stored out of order (batches and the records inside them reversed) and delivered twice (a retry): still ok, the order comes from the sequence', () => {
    const path = edited('reordered.json', (docs) => {
      docs.reverse();
      for (const { list } of storedRecords(docs)) list.reverse();
      docs.push(docs[0]!); // a batch stored twice
    });
    const { status, result } = verify(path);
    expect(status).toBe(0);
    expect(result.chains.every((c) => c.ok && c.entries === 10)).toBe(true);
    expect(run(['verify', path, '-k', pub]).stdout).toMatch(/read 1 OTLP file; \d+ duplicate records? ignored \(delivered more than once\)\n/);
  });

  it('a dropped record is caught at its sequence (sequence_gap)', () => {
    const path = edited('dropped.json', (docs) => {
      const { list, index } = entryOf(docs, chains.a, 6);
      list.splice(index, 1);
    });
    const { status, result } = verify(path);
    expect(status).toBe(1);
    const a = result.chains.find((c) => c.chainId === chains.a)!;
    expect(a.failure).toMatchObject({ sequence: 6, reason: 'sequence_gap', file: path });
    expect(a.entries).toBe(6);
    expect(result.chains.find((c) => c.chainId === chains.b)!.ok).toBe(true);
  });

  it('a dropped last record is caught by the checkpoint records (truncated)', () => {
    const path = edited('tail.json', (docs) => {
      const { list, index } = entryOf(docs, chains.b, 9);
      list.splice(index, 1);
    });
    const { status, result } = verify(path);
    expect(status).toBe(1);
    expect(result.chains.find((c) => c.chainId === chains.b)!.failure).toMatchObject({ sequence: 9, reason: 'truncated' });
  });

  it('a tampered body is caught at its sequence (hash_mismatch)', () => {
    const path = edited('tampered.json', (docs) => {
      const { record } = entryOf(docs, chains.b, 4);
      const body = record.body!.stringValue!;
      expect(body).toMatch(/"projectedCents":\d+/);
      record.body!.stringValue = body.replace(/"projectedCents":\d+/, '"projectedCents":0');
    });
    const { status, result } = verify(path);
    expect(status).toBe(1);
    expect(result.chains.find((c) => c.chainId === chains.b)!.failure).toMatchObject({ sequence: 4, reason: 'hash_mismatch', file: path });
  });

  it('two different records claiming one sequence, and a body whose sequence disagrees with its attribute, are malformed entries at that sequence', () => {
    const forked = edited('forked.json', (docs) => {
      const { record, list } = entryOf(docs, chains.a, 2);
      list.push({ ...record, body: { stringValue: record.body!.stringValue!.replace(/"projectedCents":\d+/, '"projectedCents":1') } });
    });
    const f = verify(forked).result.chains.find((c) => c.chainId === chains.a)!;
    expect(f.failure).toMatchObject({ sequence: 2, reason: 'malformed_entry' });
    expect(f.failure!.message).toMatch(/2 different records claim sequence 2/);

    const relabelled = edited('relabelled.json', (docs) => {
      const { record } = entryOf(docs, chains.a, 3);
      record.attributes!.find((x) => x.key === LOG_RECORD_ATTR.SEQUENCE)!.value.intValue = '7';
    });
    const r = verify(relabelled).result.chains.find((c) => c.chainId === chains.a)!;
    expect(r.failure).toMatchObject({ sequence: 3, reason: 'malformed_entry' });
    expect(r.failure!.message).toMatch(/attribute says sequence 7, its signed body says 3/);
  });

  it('a JSONL log directory is still read as JSONL; a directory with neither is refused', async () => {
    const dir = join(t.dir, 'jsonl');
    const files = await FileDecisionLogStore.open({ dir, chainId: 'svc' });
    await oneCall(guardWith({ signingKeys: keys, logStore: files, policy: openPolicy() }));
    await files.close();
    const ok = run(['verify', dir, '-k', pub]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('svc: ok, 2 entries in 1 file, 1 checkpoint matched');

    const none = join(t.dir, 'none');
    mkdirSync(none);
    writeFileSync(join(none, 'notes.txt'), 'hello\n');
    const r = run(['verify', none, '-k', pub]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no decision log files \(\*\.jsonl\)/);
  });
});
