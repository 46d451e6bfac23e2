import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyDecisionLog } from '../../src/audit.js';
import { ChainWriter } from '../../src/audit/chain.js';
import { createSigner } from '../../src/audit/signer.js';
import { FileDecisionLogStore, type DecisionLogWarning } from '../../src/stores.js';
import { generateKeypair, type DecisionLogEntry } from '../../src/index.js';
import { guardWith, openPolicy } from '../helpers/log.js';

const keys = generateKeypair();
let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.reverse()) c();
  cleanups = [];
});

/** A real, tiny filesystem (tmpfs) that can be filled up, mounted for the test. */
function tinyFilesystem(sizeKiB: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentguard-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', dir]);
  cleanups.push(() => {
    execFileSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Fills the filesystem of `dir` to the last byte with a filler file; returns its path. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  let size = 0;
  for (const chunk of [64 << 10, 4 << 10, 256, 16, 1]) {
    for (;;) {
      try {
        writeFileSync(filler, Buffer.alloc(chunk), { flag: 'a' });
        size += chunk;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        break;
      }
    }
  }
  expect(size).toBeGreaterThan(0);
  return filler;
}

function logLines(dir: string): DecisionLogEntry[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl') && !f.includes('checkpoints'))
    .sort()
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as DecisionLogEntry),
    );
}

const call = (tokens: number) => ({ provider: 'openai', model: 'big', scope: { tenantId: 't' }, estimatedInputTokens: tokens, maxOutputTokens: 10 });

/** Mounting a tmpfs needs root (as on CI); elsewhere the suite says loudly why it does not run. */
const canMount = process.getuid?.() === 0;
if (!canMount) {
  if (process.env.CI === 'true') throw new Error('CI=true and not root: the full-disk tests mount a tmpfs');
  console.warn('\n!!!!!!!! SKIPPING FULL-DISK TESTS: mounting a tmpfs needs root !!!!!!!!\n');
}

describe.runIf(canMount)('a full disk', () => {
  for (const durability of ['write', 'fsync'] as const) {
    it(`${durability}: a decision whose append failed is never written later, and calls recover by themselves once space is back`, async () => {
      const dir = tinyFilesystem(96);
      const warnings: DecisionLogWarning[] = [];
      const store = await FileDecisionLogStore.open({
        dir,
        durability,
        checkpoints: { every: 3, onError: () => undefined },
        onWarning: (w) => warnings.push(w),
      });
      const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() });
      // Each call is marked by its estimated input tokens: 1000 + its number.
      const r = await guard.decide(call(1000));
      await guard.settle(r, { inputTokens: 10, outputTokens: 10 });

      const filler = fill(dir);
      const failedMarks: number[] = [];
      let mark = 1001;
      // The file's last page may still take a line or two; then every append fails.
      for (let i = 0; i < 20 && failedMarks.length === 0; i++, mark++) {
        await guard.decide(call(mark)).catch(() => failedMarks.push(mark));
      }
      expect(failedMarks).toHaveLength(1);
      // Several calls failing at once (their entries dropped together).
      const concurrent = [mark++, mark++, mark++];
      const results = await Promise.allSettled(concurrent.map((m) => guard.decide(call(m))));
      expect(results.map((x) => x.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(String((results[0] as PromiseRejectedResult).reason.message)).toMatch(
        /^decision log append failed: decision log write failed, entry \d+ not written: ENOSPC/,
      );
      failedMarks.push(...concurrent);

      // Space comes back: the next call goes through without a restart.
      rmSync(filler);
      const after = await guard.decide(call(mark));
      await guard.settle(after, { inputTokens: 10, outputTokens: 10 });
      const again = await Promise.all([guard.decide(call(mark + 1)), guard.decide(call(mark + 2))]);
      for (const a of again) await guard.settle(a, { inputTokens: 10, outputTokens: 10 });
      await store.close();

      const entries = logLines(dir);
      expect(entries.map((e) => e.sequence)).toEqual(entries.map((_, i) => i));
      const marks = entries.map((e) => (e.decision as { estimatedInputTokens?: number }).estimatedInputTokens).filter((m) => m !== undefined);
      for (const m of failedMarks) expect(marks).not.toContain(m);
      expect(marks).toContain(mark);
      expect(marks).toContain(mark + 2);
      const v = await verifyDecisionLog(dir, keys.publicKey);
      expect(v.chains.map((c) => ({ ok: c.ok, entries: c.entries }))).toEqual([{ ok: true, entries: entries.length }]);
      expect(v.ok).toBe(true);

      // The file holds whole lines only: reopening finds no torn tail.
      const reopened = await FileDecisionLogStore.open({ dir, chainId: store.chainId, onWarning: (w) => warnings.push(w) });
      expect((await reopened.head())?.sequence).toBe(entries.length - 1);
      await reopened.close();
      expect(warnings).toEqual([]);
    });
  }

  it('batch: entries already acknowledged are kept and written once space is back; a call made once the store refuses entries fails and is never logged', async () => {
    const dir = tinyFilesystem(96);
    const store = await FileDecisionLogStore.open({ dir, durability: 'batch', batch: { scheduledDelayMillis: 10 } });
    const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() });
    expect(guard.signsOffThread).toBe(true);
    await guard.decide(call(1000));
    await guard.flush();
    const filler = fill(dir);
    // Acknowledged at once: the calls go ahead; the file's last page may take a line or two.
    const acknowledged: number[] = [];
    let failure: unknown = null;
    for (let m = 2000; m < 2020 && !failure; m++) {
      await guard.decide(call(m));
      acknowledged.push(m);
      failure = await guard.flush().then(
        () => null,
        (err: unknown) => err,
      );
    }
    expect(String(failure)).toMatch(/ENOSPC/);
    // Signed off the caller's thread, the next call goes ahead before its entry reaches the store: the store refuses
    // it while its last write failed, and it is kept (the call happened) and handed over again.
    await guard.decide(call(3000));
    await expect(guard.flush()).rejects.toThrow(/ENOSPC/);
    // From then on a new call fails and nothing of it is signed or queued.
    await expect(guard.decide(call(3001))).rejects.toThrow(/^decision log append failed: decision log write failed: ENOSPC/);
    rmSync(filler);
    await guard.flush();
    await guard.decide(call(4000));
    await guard.close();
    const marks = logLines(dir).map((e) => (e.decision as { estimatedInputTokens?: number }).estimatedInputTokens);
    expect(marks).toEqual([1000, ...acknowledged, 3000, 4000]);

    expect((await verifyDecisionLog(dir, keys.publicKey)).ok).toBe(true);
  });

  it('a key rotation whose signer_change could not be written is undone for checkpoints too: the next ones are signed by the key still in force', async () => {
    const dir = tinyFilesystem(96);
    const outgoing = createSigner(keys);
    const incoming = createSigner(generateKeypair());
    const store = await FileDecisionLogStore.open({ dir, checkpoints: { every: 1, onError: () => undefined } });
    store.attachSigner(outgoing);
    const chain = new ChainWriter(outgoing, null);
    await store.append(chain.append({ entryType: 'decision', timestamp: new Date().toISOString(), n: 0 }));
    const filler = fill(dir);
    // Use up the file's last page: entries until one is refused (and taken back).
    for (let n = 1; n < 20; n++) {
      const previous = chain.head;
      const entry = chain.append({ entryType: 'decision', timestamp: new Date().toISOString(), n });
      if (
        !(await store.append(entry).then(
          () => true,
          () => false,
        ))
      ) {
        chain.rewind(entry, previous);
        break;
      }
    }
    const beforeRotation = chain.head!;
    const change = chain.rotate(incoming, 'scheduled');
    // As a guard does it: the signer_change entry first, then the incoming key.
    const appended = store.append(change);
    store.attachSigner(incoming);
    await expect(appended).rejects.toThrow(/ENOSPC/);
    rmSync(filler);
    const still = new ChainWriter(outgoing, beforeRotation);
    for (let n = 100; n < 103; n++) await store.append(still.append({ entryType: 'decision', timestamp: new Date().toISOString(), n }));
    await store.close();
    const v = await verifyDecisionLog(dir, keys.publicKey);
    expect(v.chains.map((c) => ({ ok: c.ok, entries: c.entries, failure: c.failure?.reason }))).toEqual([
      { ok: true, entries: beforeRotation.sequence + 4, failure: undefined },
    ]);
    expect(v.chains[0]!.checkpoints).toBeDefined();
    const checkpoints = readFileSync(store.checkpointFile!, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { sequence: number; signerFingerprint: string });
    expect(checkpoints.length).toBeGreaterThan(0);
    for (const cp of checkpoints) expect(cp.signerFingerprint).toBe(outgoing.fingerprint);
  });

  it('a file opened for a new part by a write that failed is removed, so no empty file is left behind under another day', async () => {
    const dir = tinyFilesystem(96);
    const signer = createSigner(keys);
    const store = await FileDecisionLogStore.open({ dir, checkpoints: false });
    const chain = new ChainWriter(signer, null);
    const filler = fill(dir);
    const first = chain.append({ entryType: 'decision', timestamp: '2026-01-01T10:00:00.000Z', n: 0 });
    await expect(store.append(first)).rejects.toThrow(/ENOSPC/);
    chain.rewind(first, null);
    rmSync(filler);
    await store.append(chain.append({ entryType: 'decision', timestamp: '2026-01-02T10:00:00.000Z', n: 1 }));
    await store.close();
    const chainFiles = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
    expect(chainFiles).toEqual([`${store.chainId}.20260102.000001.jsonl`]);
    expect(store.files).toEqual([join(dir, chainFiles[0]!)]);
    expect((await verifyDecisionLog(dir, keys.publicKey)).ok).toBe(true);
  });
});
