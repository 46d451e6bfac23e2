import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLines } from '../../exporters/file/lines.js';
import { chainEntries, listChains, readChain } from '../../exporters/file/reader.js';
import { verifyDecisionLog } from '../../src/audit.js';
import { generateKeypair } from '../../src/index.js';
import { ChainWriter } from '../../src/audit/chain.js';
import { createSigner } from '../../src/audit/signer.js';
import { tempDir } from '../helpers/log.js';

let cleanup = () => {};
afterEach(() => cleanup());

describe('reading logs back', () => {
  it('splits lines across chunk boundaries, with offsets, and marks an unterminated last line', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const big = 'x'.repeat(3 * (1 << 20) + 17); // spans several 1 MiB reads
    const file = join(t.dir, 'a.jsonl');
    writeFileSync(file, `one\n${big}\n\nlast`);
    const lines = [];
    let read = 0;
    for await (const l of readLines(file, (n) => (read += n))) lines.push({ ...l, bytes: l.bytes.length });
    expect(lines).toEqual([
      { line: 1, offset: 0, bytes: 3, length: 3, terminated: true },
      { line: 2, offset: 4, bytes: big.length, length: big.length, terminated: true },
      { line: 3, offset: 5 + big.length, bytes: 0, length: 0, terminated: true },
      { line: 4, offset: 6 + big.length, bytes: 4, length: 4, terminated: false },
    ]);
    expect(read).toBe(big.length + 10);
  });

  it('lists chains (rotated parts in numeric order, a foreign .jsonl as its own chain) and streams entries in order', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const keys = generateKeypair();
    const w = new ChainWriter(createSigner(keys));
    const lines = Array.from({ length: 6 }, (_, i) => JSON.stringify(w.append({ n: i })));
    // Parts written out of name order: 000010 must come after 000009.
    writeFileSync(join(t.dir, 'c.20260101.000009.jsonl'), `${lines.slice(0, 3).join('\n')}\n`);
    writeFileSync(join(t.dir, 'c.20260101.000010.jsonl'), `${lines.slice(3).join('\n')}\n`);
    writeFileSync(join(t.dir, 'exported.jsonl'), `${lines[0]}\n`);
    writeFileSync(join(t.dir, 'notes.txt'), 'not a log');
    const chains = await listChains(t.dir);
    expect(chains.map((c) => [c.chainId, c.files.map((f) => f.path.slice(t.dir.length + 1))])).toEqual([
      ['c', ['c.20260101.000009.jsonl', 'c.20260101.000010.jsonl']],
      ['exported.jsonl', ['exported.jsonl']],
    ]);
    const seqs: number[] = [];
    for await (const e of chainEntries(chains[0]!)) seqs.push(e.sequence);
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5]);
    expect((await verifyDecisionLog(t.dir, keys.publicKey)).chains.map((c) => [c.chainId, c.ok, c.entries])).toEqual([
      ['c', true, 6],
      ['exported.jsonl', true, 1],
    ]);
  });

  it('names a missing path, and a line that is not a well-formed entry, in its errors', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    await expect(listChains(join(t.dir, 'nope'))).rejects.toThrow(`${join(t.dir, 'nope')}: no such file or directory`);
    writeFileSync(join(t.dir, 'x.jsonl'), '{"a":1}\nnot json\n');
    writeFileSync(join(t.dir, 'y.jsonl'), 'not json\n');
    const [x, y] = await listChains(t.dir);
    const drain = async (chain: typeof x) => {
      for await (const _ of chainEntries(chain!)) void _;
    };
    await expect(drain(x)).rejects.toThrow(`${join(t.dir, 'x.jsonl')}:1: unknown top-level field "a"`);
    await expect(drain(y)).rejects.toThrow(`${join(t.dir, 'y.jsonl')}:1: not valid JSON`);
    const v = await verifyDecisionLog(t.dir, generateKeypair().publicKey);
    expect(v.chains[0]).toMatchObject({ ok: false, failure: { sequence: 0, reason: 'unknown_field', line: 1 } });
    expect(v.chains[1]).toMatchObject({ ok: false, failure: { sequence: 0, reason: 'malformed_entry', line: 1 } });
  });
});

describe('reading at scale: bounded memory, linear time', () => {
  it('a line longer than the limit is reported as soon as it crosses it, not buffered, and reading goes on after its newline', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = join(t.dir, 'long.jsonl');
    const long = 6 * (1 << 20);
    writeFileSync(file, Buffer.concat([Buffer.from('first\n'), Buffer.alloc(long, 0x78), Buffer.from('\nafter\n')]));
    let read = 0;
    const seen: { line: number; tooLong?: boolean; length: number; readSoFar: number; bytes: number }[] = [];
    for await (const l of readLines(file, (n) => (read += n), { maxLineBytes: 1 << 20 })) {
      seen.push({ line: l.line, ...(l.tooLong ? { tooLong: true } : {}), length: l.length, readSoFar: read, bytes: l.bytes.length });
    }
    expect(seen.map(({ readSoFar: _, ...s }) => s)).toEqual([
      { line: 1, length: 5, bytes: 5 },
      { line: 2, tooLong: true, length: seen[1]!.length, bytes: 0 },
      { line: 3, length: 5, bytes: 5 },
    ]);
    // early: known after at most the limit plus one read (1 MiB), out of 6 MiB
    expect(seen[1]!.length).toBeGreaterThan(1 << 20);
    expect(seen[1]!.readSoFar).toBeLessThanOrEqual(3 * (1 << 20));
  });

  it('verify stops at an over-long line without reading the rest of it (a file of garbage without a newline)', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const keys = generateKeypair();
    const w = new ChainWriter(createSigner(keys));
    const file = join(t.dir, 'garbage.jsonl');
    writeFileSync(file, Buffer.concat([Buffer.from(`${JSON.stringify(w.append({ n: 0 }))}\n`), Buffer.alloc(8 * (1 << 20), 0x41)]));
    let read = 0;
    const [chain] = await listChains(file);
    const records = [];
    for await (const r of readChain(chain!, (n) => (read += n))) {
      records.push({ kind: r.kind, ...(r.kind === 'invalid' ? { code: r.code } : {}), read });
      if (r.kind === 'invalid') break;
    }
    expect(records.map((r) => [r.kind, 'code' in r ? r.code : undefined])).toEqual([
      ['entry', undefined],
      ['invalid', 'line_too_long'],
    ]);
    expect(records[1]!.read).toBeLessThanOrEqual(3 * (1 << 20));
    const v = await verifyDecisionLog(file, keys.publicKey);
    expect(v.chains[0]).toMatchObject({ ok: false, entries: 1, failure: { sequence: 1, reason: 'malformed_entry', line: 2 } });
    expect(v.chains[0]!.failure!.message).toContain('line longer than 1048576 bytes');
  });
});
