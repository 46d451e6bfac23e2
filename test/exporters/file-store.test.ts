import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseChainFileName } from '../../exporters/file/naming.js';
import { listChains, readDecisionLog } from '../../exporters/file/reader.js';
import { verifyDecisionLog } from '../../src/audit.js';
import { FileDecisionLogStore, type DecisionLogWarning } from '../../src/stores.js';
import { generateKeypair, type DecisionLogEntry } from '../../src/index.js';
import { guardWith, oneCall, openPolicy, tempDir } from '../helpers/log.js';

const keys = generateKeypair();
let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});
function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}
function linesOf(file: string): DecisionLogEntry[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as DecisionLogEntry);
}
async function entriesOf(path: string): Promise<DecisionLogEntry[][]> {
  const out: DecisionLogEntry[][] = [];
  for await (const { entries } of readDecisionLog(path)) {
    const list: DecisionLogEntry[] = [];
    for await (const e of entries) list.push(e);
    out.push(list);
  }
  return out;
}

describe('FileDecisionLogStore durability modes', () => {
  for (const durability of ['write', 'fsync'] as const) {
    it(`${durability}: each entry is on disk when append resolves, i.e. before the call proceeds`, async () => {
      const d = dir();
      const store = await FileDecisionLogStore.open({ dir: d, durability });
      const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() });
      for (let i = 1; i <= 5; i++) {
        const r = await guard.decide({ provider: 'openai', model: 'big', scope: { tenantId: 't' }, estimatedInputTokens: 10, maxOutputTokens: 10 });
        const onDisk = linesOf(store.files[0]!);
        expect(onDisk).toHaveLength(2 * i - 1);
        expect(onDisk.at(-1)!.entryHash).toBe(r.entry.entryHash);
        await guard.settle(r, { inputTokens: 10, outputTokens: 5 });
        expect(linesOf(store.files[0]!)).toHaveLength(2 * i);
      }
      await store.close();
      const v = await verifyDecisionLog(d, keys.publicKey);
      expect(v).toMatchObject({ ok: true, chains: [{ ok: true, entries: 10 }] });
    });
  }

  it('fsync: concurrent decisions are group-committed in sequence order', async () => {
    const d = dir();
    const store = await FileDecisionLogStore.open({ dir: d, durability: 'fsync' });
    const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() });
    await Promise.all(Array.from({ length: 64 }, () => oneCall(guard)));
    await store.close();
    const [chain] = await entriesOf(d);
    expect(chain!.map((e) => e.sequence)).toEqual(Array.from({ length: 128 }, (_, i) => i));
    expect((await verifyDecisionLog(d, keys.publicKey)).ok).toBe(true);
  });

  it('batch: append resolves before the write; the entry reaches disk within the scheduled delay or on flush', async () => {
    const d = dir();
    const store = await FileDecisionLogStore.open({ dir: d, durability: 'batch', batch: { scheduledDelayMillis: 60_000 } });
    const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() });
    await oneCall(guard);
    expect(store.files).toHaveLength(0); // still in memory: the loss window
    await store.flush();
    expect(linesOf(store.files[0]!)).toHaveLength(2);

    const fast = await FileDecisionLogStore.open({ dir: d, durability: 'batch', batch: { scheduledDelayMillis: 20 } });
    const g2 = guardWith({ signingKeys: keys, logStore: fast, policy: openPolicy() });
    await oneCall(g2);
    expect(fast.files).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(linesOf(fast.files[0]!)).toHaveLength(2);
    await Promise.all([store.close(), fast.close()]);
    expect((await verifyDecisionLog(d, keys.publicKey)).chains.map((c) => [c.ok, c.entries])).toEqual([
      [true, 2],
      [true, 2],
    ]);
  });

  it('rejects an entry that does not follow the chain, writing nothing', async () => {
    const d = dir();
    const store = await FileDecisionLogStore.open({ dir: d });
    const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() });
    await oneCall(guard);
    const [chain] = await entriesOf(d);
    await expect(store.append(chain![0]!)).rejects.toThrow('expected sequence 2, got 0');
    await expect(store.append({ ...chain![1]!, sequence: 2 })).rejects.toThrow('does not link');
    expect(linesOf(store.files[0]!)).toHaveLength(2);
  });

  it('rejects a bad durability and a bad chain id with errors naming them', async () => {
    expect(() => new FileDecisionLogStore({ dir: dir(), durability: 'sometimes' as 'write' })).toThrow(
      'durability: expected one of batch, write, fsync, got "sometimes"',
    );
    await expect(FileDecisionLogStore.open({ dir: dir(), chainId: '../etc' })).rejects.toThrow(
      'chainId: expected 1-200 characters of [A-Za-z0-9_-], got "../etc"',
    );
  });
});

describe('file naming and rotation', () => {
  it('gives every store instance its own chain, named so a fleet never collides', async () => {
    const d = dir();
    const a = await FileDecisionLogStore.open({ dir: d });
    const b = await FileDecisionLogStore.open({ dir: d });
    expect(a.chainId).not.toBe(b.chainId);
    expect(a.chainId).toMatch(new RegExp(`^agentguard-[A-Za-z0-9_-]+-${process.pid}-\\d{8}T\\d{6}Z-[0-9a-f]{8}$`));
    await oneCall(guardWith({ signingKeys: keys, logStore: a, policy: openPolicy() }));
    await oneCall(guardWith({ signingKeys: keys, logStore: b, policy: openPolicy() }));
    await Promise.all([a.close(), b.close()]);
    const chains = await listChains(d);
    expect(chains.map((c) => c.chainId).sort()).toEqual([a.chainId, b.chainId].sort());
    expect((await verifyDecisionLog(d, keys.publicKey)).ok).toBe(true);
  });

  it('rotates on size; the chain continues across files and verifies', async () => {
    const d = dir();
    const store = await FileDecisionLogStore.open({ dir: d, maxFileBytes: 3000 });
    const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() });
    for (let i = 0; i < 10; i++) await oneCall(guard);
    await store.close();
    const files = readdirSync(d)
      .filter((f) => parseChainFileName(f))
      .sort();
    expect(files.length).toBeGreaterThan(3);
    expect(files.map((f) => parseChainFileName(f)!.part)).toEqual(files.map((_, i) => i + 1));
    let previous: DecisionLogEntry | undefined;
    for (const f of files) {
      expect(statSync(join(d, f)).size).toBeLessThanOrEqual(3000);
      const lines = linesOf(join(d, f));
      expect(lines.length).toBeGreaterThan(0);
      if (previous) {
        expect(lines[0]!.sequence).toBe(previous.sequence + 1);
        expect(lines[0]!.previousHash).toBe(previous.entryHash);
      }
      previous = lines.at(-1);
    }
    expect(await verifyDecisionLog(d, keys.publicKey)).toMatchObject({ ok: true, chains: [{ ok: true, entries: 20 }] });
  });

  it('rotates at the UTC day boundary of the decisions and names files by day', async () => {
    const d = dir();
    let now = Date.parse('2026-03-01T23:59:59.000Z');
    const store = await FileDecisionLogStore.open({ dir: d, chainId: 'daily' });
    const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy(), clock: () => now });
    await oneCall(guard);
    now = Date.parse('2026-03-02T00:00:00.500Z');
    await oneCall(guard);
    await store.close();
    expect(readdirSync(d).sort()).toEqual(['daily.20260301.000001.jsonl', 'daily.20260302.000002.jsonl', 'daily.checkpoints.jsonl']);
    expect(linesOf(join(d, 'daily.20260302.000002.jsonl'))[0]!.sequence).toBe(2);
    expect((await verifyDecisionLog(d, keys.publicKey)).ok).toBe(true);
  });
});

describe('restart and torn lines', () => {
  it('resumes an existing chain from its last entry, in a new file', async () => {
    const d = dir();
    const first = await FileDecisionLogStore.open({ dir: d, chainId: 'svc-1' });
    await oneCall(guardWith({ signingKeys: keys, logStore: first, policy: openPolicy() }));
    await first.close();
    const again = await FileDecisionLogStore.open({ dir: d, chainId: 'svc-1' });
    expect(await again.head()).toMatchObject({ sequence: 1 });
    expect(again.recovery.warnings).toEqual([]);
    await oneCall(guardWith({ signingKeys: keys, logStore: again, policy: openPolicy() }));
    await again.close();
    expect(
      readdirSync(d)
        .filter((f) => parseChainFileName(f))
        .map((f) => parseChainFileName(f)!.part)
        .sort(),
    ).toEqual([1, 2]);
    expect(await verifyDecisionLog(d, keys.publicKey)).toMatchObject({ ok: true, chains: [{ chainId: 'svc-1', ok: true, entries: 4 }] });
  });

  it('detects a torn last line, sets it aside in a .torn sidecar, reports it, and resumes from the last intact entry', async () => {
    const d = dir();
    const first = await FileDecisionLogStore.open({ dir: d, chainId: 'svc-2' });
    await oneCall(guardWith({ signingKeys: keys, logStore: first, policy: openPolicy() }));
    await first.close();
    const file = first.files[0]!;
    const intact = readFileSync(file);
    const torn = '{"sequence":2,"decision":{"entryType":"deci';
    appendFileSync(file, torn);

    const before = await verifyDecisionLog(d, keys.publicKey);
    expect(before.chains[0]).toMatchObject({ ok: true, entries: 2, tornTail: { file, line: 3, offset: intact.length, bytes: torn.length } });

    const warnings: DecisionLogWarning[] = [];
    const again = await FileDecisionLogStore.open({ dir: d, chainId: 'svc-2', onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([expect.objectContaining({ code: 'torn_tail', file, sidecar: `${file}.torn`, offset: intact.length, bytes: torn.length })]);
    expect(readFileSync(`${file}.torn`, 'utf8')).toBe(torn);
    expect(readFileSync(file).equals(intact)).toBe(true);
    expect(await again.head()).toMatchObject({ sequence: 1, entryHash: linesOf(file)[1]!.entryHash });
    await oneCall(guardWith({ signingKeys: keys, logStore: again, policy: openPolicy() }));
    await again.close();

    const after = await verifyDecisionLog(d, keys.publicKey);
    expect(after.chains[0]).toMatchObject({ ok: true, entries: 4, tornSidecars: [{ path: `${file}.torn`, bytes: torn.length }] });
    expect(after.chains[0]!.tornTail).toBeUndefined();
  });

  it('walks back past a file left empty by a crash right after rotation, and past a corrupt complete line', async () => {
    const d = dir();
    const first = await FileDecisionLogStore.open({ dir: d, chainId: 'svc-3' });
    await oneCall(guardWith({ signingKeys: keys, logStore: first, policy: openPolicy() }));
    await first.close();
    const [file] = first.files;
    const last = linesOf(file!)[1]!;
    appendFileSync(file!, `${JSON.stringify({ ...last, sequence: 2, entryHash: 'f'.repeat(64) })}\n`);
    appendFileSync(join(d, 'svc-3.20990101.000002.jsonl'), '\0\0\0\0');
    const warnings: DecisionLogWarning[] = [];
    const again = await FileDecisionLogStore.open({ dir: d, chainId: 'svc-3', onWarning: (w) => warnings.push(w) });
    expect(warnings.map((w) => [basename(w.file), w.bytes])).toEqual([
      ['svc-3.20990101.000002.jsonl', 4],
      [basename(file!), expect.any(Number)],
    ]);
    expect(await again.head()).toMatchObject({ sequence: 1, entryHash: last.entryHash });
    await oneCall(guardWith({ signingKeys: keys, logStore: again, policy: openPolicy() }));
    await again.close();
    expect(again.files.at(-1)).toMatch(/svc-3\.\d{8}\.000003\.jsonl$/);
    expect((await verifyDecisionLog(d, keys.publicKey)).chains[0]).toMatchObject({ ok: true, entries: 4 });
  });
});

describe('one writer per chain', () => {
  it('refuses a chain already open in this process or held by a live process, and takes over a dead one’s lock', async () => {
    const d = dir();
    const a = await FileDecisionLogStore.open({ dir: d, chainId: 'solo' });
    await expect(FileDecisionLogStore.open({ dir: d, chainId: 'solo' })).rejects.toThrow('decision log chain solo is already open in this process');
    await a.close();
    expect(readdirSync(d)).not.toContain('solo.lock');

    const { spawn } = await import('node:child_process');
    const { hostname } = await import('node:os');
    const { writeFileSync } = await import('node:fs');
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
    await new Promise((r) => other.once('spawn', r));
    writeFileSync(join(d, 'solo.lock'), JSON.stringify({ pid: other.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' }));
    await expect(FileDecisionLogStore.open({ dir: d, chainId: 'solo' })).rejects.toThrow(
      `decision log chain solo is in use by pid ${other.pid} on ${hostname()} since 2026-01-01T00:00:00.000Z (${join(d, 'solo.lock')}); use another chainId, or remove the lock file if that process is gone`,
    );
    other.kill('SIGKILL');
    await new Promise((r) => other.once('exit', r));
    const b = await FileDecisionLogStore.open({ dir: d, chainId: 'solo' });
    expect(JSON.parse(readFileSync(join(d, 'solo.lock'), 'utf8')).pid).toBe(process.pid);
    await b.close();
  });
});
