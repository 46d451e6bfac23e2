import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeypair, InMemoryDecisionLogStore } from '../../../src/index.js';
import { CHECKPOINT_TYPE } from '../../../src/audit/checkpoint.js';
import { entryLine, LOG_EVENT, LOG_RECORD_ATTR } from '../../../exporters/otel/log-records.js';
import { readOtlpDecisionLog, verifyOtlpLog } from '../../../exporters/otlp/verify-otlp.js';
import { guardWith, oneCall, openPolicy, tempDir } from '../../helpers/log.js';

const t = tempDir('agentguard-otlp-read-');
afterAll(() => t.cleanup());

/** An OTLP JSON export request holding `records`, as one line. */
function request(records: { eventName?: string; body: string; chainId?: string; sequence?: number }[]): string {
  const logRecords = records.map((r) => ({
    timeUnixNano: '1767225600000000000',
    ...(r.eventName ? { eventName: r.eventName } : {}),
    body: { stringValue: r.body },
    attributes: [
      ...(r.chainId ? [{ key: LOG_RECORD_ATTR.CHAIN_ID, value: { stringValue: r.chainId } }] : []),
      ...(r.sequence !== undefined ? [{ key: LOG_RECORD_ATTR.SEQUENCE, value: { intValue: r.sequence } }] : []), // a number: also accepted
    ],
  }));
  return JSON.stringify({ resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ scope: { name: 'x' }, logRecords }] }] });
}

describe('reading OTLP JSON log files', () => {
  it('takes only records with a chain id, tells checkpoints by event name or body, skips a torn last line, and verifies', async () => {
    const keys = generateKeypair();
    const log = new InMemoryDecisionLogStore();
    const guard = guardWith({ signingKeys: keys, logStore: log, policy: openPolicy() });
    await oneCall(guard);
    const [e0, e1] = log.entries();
    const cp = { type: CHECKPOINT_TYPE, chainId: 'x' };
    const lines = [
      request([{ body: 'an app log line' }, { eventName: LOG_EVENT.ENTRY, body: entryLine(e1!), chainId: 'c', sequence: 1 }]),
      request([
        { body: entryLine(e0!), chainId: 'c', sequence: 0 },
        { body: JSON.stringify(cp), chainId: 'c' },
      ]),
      '{"resourceLogs":[', // torn: no newline after it
    ];
    const file = join(t.dir, 'logs.json');
    writeFileSync(file, lines.join('\n'));
    const read = await readOtlpDecisionLog(file);
    expect(read.chains.map((c) => [c.source.chainId, [...c.bySequence.keys()].sort()])).toEqual([['c', [0, 1]]]);
    expect(read.checkpoints).toHaveLength(1);
    expect(read.tornLines).toEqual([{ file, line: 3 }]);

    const gz = join(t.dir, 'logs.json.gz');
    writeFileSync(gz, gzipSync(lines.slice(0, 2).join('\n') + '\n'));
    const v = await verifyOtlpLog(gz, keys.publicKey);
    expect(v.chains[0]).toMatchObject({ chainId: 'c', ok: true, entries: 2 });
    // The checkpoint names no chain here (its chainId is not a genesis hash): reported, so the log is not ok.
    expect(v.ok).toBe(false);
    expect(v.orphanCheckpoints?.[0]?.reason).toBe('swapped_log');
  });

  it('a line in the middle that is not JSON is an error naming the file and line', async () => {
    const file = join(t.dir, 'bad.json');
    writeFileSync(file, `${request([])}\nnot json\n${request([])}\n`);
    await expect(readOtlpDecisionLog(file)).rejects.toThrow(`${file}:2: not JSON`);
  });
});
