import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainWriter, type DecisionLogEntry } from '../../src/audit/chain.js';
import { hexToBytes } from '../../src/audit/hex.js';
import { generateKeypair } from '../../src/audit/keys.js';
import { createSigner, verifySignature } from '../../src/audit/signer.js';
import { SigningQueue, START_THREAD_AFTER_ENTRIES } from '../../src/audit/signing-queue.js';
import { SigningWorker } from '../../src/audit/signing-worker.js';
import { verifyChain } from '../../src/audit/verify.js';
import { verifyDecisionLog } from '../../src/audit.js';
import { InMemoryDecisionLogStore } from '../../src/engine/log-store.js';
import { FileDecisionLogStore } from '../../src/stores.js';
import { guardWith, openPolicy, tempDir } from '../helpers/log.js';

let cleanup = () => {};
afterEach(() => cleanup());

const call = (n: number) => ({ provider: 'openai', model: 'big', scope: { tenantId: 't' }, estimatedInputTokens: 1000 + n, maxOutputTokens: 1000 });

/** Links `n` entries on `chain` and pushes each to `queue` (as the ledger does). */
function pushEntries(chain: ChainWriter, queue: SigningQueue, n: number, from = 0): DecisionLogEntry[] {
  const out: DecisionLogEntry[] = [];
  for (let i = 0; i < n; i++) {
    const entry = chain.link({ entryType: 'decision', timestamp: new Date().toISOString(), n: from + i });
    queue.push(entry, chain.signer);
    out.push(entry);
  }
  return out;
}

async function online(worker: SigningWorker): Promise<void> {
  for (let i = 0; i < 500 && !worker.usable; i++) await new Promise((r) => setTimeout(r, 10));
  expect(worker.usable).toBe(true);
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

const sequences = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('signing off the caller’s thread (one worker thread, in order)', () => {
  it('the worker starts once enough entries came, not before; entries are handed on in sequence order, signed by the thread, and verify', async () => {
    const keys = generateKeypair();
    const worker = new SigningWorker();
    const delivered: DecisionLogEntry[] = [];
    const queue = new SigningQueue((e) => void delivered.push(e), worker);
    const chain = new ChainWriter(createSigner(keys));
    expect(worker.started).toBe(false);
    const first = pushEntries(chain, queue, 3);
    // Linked at once (the hash is final), signed later: here, since a few entries do not start the thread.
    expect(first.map((e) => e.signature)).toEqual(['', '', '']);
    await queue.flush();
    expect(worker.started).toBe(false);
    expect(delivered.every((e) => e.signature.length === 128)).toBe(true);
    pushEntries(chain, queue, START_THREAD_AFTER_ENTRIES, 3);
    await queue.flush();
    expect(worker.started).toBe(true);
    await online(worker);
    pushEntries(chain, queue, 500, 3 + START_THREAD_AFTER_ENTRIES);
    await queue.flush();
    expect(delivered.map((e) => e.sequence)).toEqual(sequences(503 + START_THREAD_AFTER_ENTRIES));
    expect(verifyChain(delivered, keys.publicKey)).toEqual({ ok: true, count: 503 + START_THREAD_AFTER_ENTRIES });
    expect(queue.signedOffThread).toBeGreaterThanOrEqual(500);
    expect(queue.backlog).toBe(0);
    await worker.terminate();
  });

  it('a worker that dies with batches out: they are signed on this thread, nothing lost or reordered, and later entries too', async () => {
    const keys = generateKeypair();
    const worker = new SigningWorker();
    const delivered: DecisionLogEntry[] = [];
    const queue = new SigningQueue((e) => void delivered.push(e), worker);
    const chain = new ChainWriter(createSigner(keys));
    pushEntries(chain, queue, 1);
    await queue.flush();
    await online(worker);
    pushEntries(chain, queue, 2000, 1);
    // Let the batch go out to the thread (2000 signatures: tens of ms there), then kill the thread under it.
    await Promise.resolve();
    const killed = worker.terminate();
    pushEntries(chain, queue, 200, 2001);
    await killed;
    expect(worker.dead).toBe(true);
    pushEntries(chain, queue, 100, 2201);
    await queue.flush();
    expect(delivered.map((e) => e.sequence)).toEqual(sequences(2301));
    expect(verifyChain(delivered, keys.publicKey)).toEqual({ ok: true, count: 2301 });
    expect(queue.signedOffThread).toBe(0);
  });

  it('a hand-over that fails is retried with the same entry, in order; flush rejects meanwhile', async () => {
    const keys = generateKeypair();
    const delivered: DecisionLogEntry[] = [];
    let refuse = 2;
    const queue = new SigningQueue((e) => {
      if (e.sequence === 3 && refuse-- > 0) return Promise.reject(new Error('disk full'));
      delivered.push(e);
    });
    const chain = new ChainWriter(createSigner(keys));
    pushEntries(chain, queue, 6);
    await expect(queue.flush()).rejects.toThrow('disk full');
    expect(queue.deliveryError?.message).toBe('disk full');
    for (let i = 0; i < 200 && delivered.length < 6; i++) await new Promise((r) => setTimeout(r, 10));
    await queue.flush();
    expect(queue.deliveryError).toBeNull();
    expect(delivered.map((e) => e.sequence)).toEqual(sequences(6));
    expect(verifyChain(delivered, keys.publicKey).ok).toBe(true);
  });
});

describe('SpendGuard with a store that accepts deferred entries', () => {
  it('the default store and batch durability sign off the thread; write and fsync, and an explicit in-memory store, do not', async () => {
    const keys = generateKeypair();
    const { dir, cleanup: c } = tempDir();
    cleanup = c;
    expect(guardWith({ signingKeys: keys, policy: openPolicy() }).signsOffThread).toBe(true);
    expect(guardWith({ signingKeys: keys, policy: openPolicy(), logStore: new InMemoryDecisionLogStore() }).signsOffThread).toBe(false);
    expect(guardWith({ signingKeys: keys, policy: openPolicy(), logStore: new InMemoryDecisionLogStore({ deferred: true }) }).signsOffThread).toBe(true);
    for (const durability of ['batch', 'write', 'fsync'] as const) {
      const store = await FileDecisionLogStore.open({ dir: join(dir, durability), durability });
      expect(guardWith({ signingKeys: keys, policy: openPolicy(), logStore: store }).signsOffThread).toBe(durability === 'batch');
      await store.close();
    }
  });

  it('batch: 400 calls in flight; each decision carries its final entry hash at once; close waits for every outcome and signature; the log verifies', async () => {
    const keys = generateKeypair();
    const { dir, cleanup: c } = tempDir();
    cleanup = c;
    const store = await FileDecisionLogStore.open({ dir, durability: 'batch', checkpoints: { every: 50 } });
    const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() });
    const hashes = new Map<string, string>();
    await Promise.all(
      Array.from({ length: 400 }, async (_, n) => {
        const r = await guard.decide(call(n));
        hashes.set(r.decision.decisionId, r.entry.entryHash);
        // Not awaited, as an adapter does once the caller has its answer.
        void guard.settle(r, { inputTokens: 1000, outputTokens: 10 });
      }),
    );
    await guard.close();
    const lines = logLines(dir);
    expect(lines.map((e) => e.sequence)).toEqual(sequences(800));
    let decisions = 0;
    for (const e of lines) {
      const d = e.decision as { entryType: string; decisionId: string };
      if (d.entryType !== 'decision') continue;
      decisions++;
      expect(e.entryHash).toBe(hashes.get(d.decisionId));
    }
    expect(decisions).toBe(400);
    expect(guard.pendingCount).toBe(0);
    const verified = await verifyDecisionLog(dir, keys.publicKey);
    expect(verified.ok).toBe(true);
    expect(verified.chains[0]!.entries).toBe(800);
  });

  it('batch: a key rotation among pending signatures: the signer_change is signed by the outgoing key, checkpoints by the key in force at their entry', async () => {
    const first = generateKeypair();
    const second = generateKeypair();
    const { dir, cleanup: c } = tempDir();
    cleanup = c;
    const store = await FileDecisionLogStore.open({ dir, durability: 'batch', checkpoints: { every: 7 } });
    const guard = guardWith({ signingKeys: first, logStore: store, policy: openPolicy() });
    const before = Array.from({ length: 60 }, (_, n) => guard.decide(call(n)));
    const rotated = guard.rotateSigningKey(second, 'scheduled');
    const after = Array.from({ length: 60 }, (_, n) => guard.decide(call(100 + n)));
    const change = await rotated;
    await Promise.all([...before, ...after]);
    await guard.close();
    expect(change.signature).toMatch(/^[0-9a-f]{128}$/);
    const lines = logLines(dir);
    expect(lines.map((e) => e.sequence)).toEqual(sequences(121));
    const at = lines.findIndex((e) => (e.decision as { entryType?: string }).entryType === 'signer_change');
    expect(lines[at]!.signerFingerprint).toBe(createSigner(first).fingerprint);
    expect(lines.slice(at + 1).every((e) => e.signerFingerprint === createSigner(second).fingerprint)).toBe(true);
    const verified = await verifyDecisionLog(dir, first.publicKey);
    expect(verified.ok).toBe(true);
    expect(verified.chains[0]!.checkpoints?.count).toBeGreaterThan(10);
    expect(verified.chains[0]!.signers).toEqual([createSigner(first).fingerprint, createSigner(second).fingerprint]);
  });

  it('the default in-memory store: flush waits for outcomes settled after the caller resumed', async () => {
    const keys = generateKeypair();
    const guard = guardWith({ signingKeys: keys, policy: openPolicy() });
    const results = await Promise.all(Array.from({ length: 50 }, (_, n) => guard.decide(call(n))));
    for (const r of results) void guard.settle(r, { inputTokens: 1, outputTokens: 1 });
    await guard.flush();
    expect(guard.pendingCount).toBe(0);
    // Signed in place once the thread got to them: each verifies with the public key.
    for (const { entry } of results) expect(verifySignature(keys.publicKey, hexToBytes(entry.entryHash), hexToBytes(entry.signature))).toBe(true);
  });
});
