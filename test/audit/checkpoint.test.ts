import { describe, expect, it } from 'vitest';
import type { DecisionLogEntry } from '../../src/index.js';
import { ChainVerifier, CheckpointError, verifyChain, verifyCheckpointSignature, type Checkpoint } from '../../src/audit.js';
import { ChainWriter } from '../../src/audit/chain.js';
import { chainIdOf, CHECKPOINT_TYPE, CheckpointWriter, createCheckpoint } from '../../src/audit/checkpoint.js';
import { chainOf, clone, decision, keysOf, signerOf } from '../helpers/audit.js';

const T0 = Date.UTC(2026, 4, 1);

function checkpointAt(entries: DecisionLogEntry[], sequence: number, n = 1): Checkpoint {
  const e = entries[sequence]!;
  return createCheckpoint({ sequence, entryHash: e.entryHash }, signerOf(n), chainIdOf(entries[0]!), T0);
}

describe('createCheckpoint', () => {
  it('signs chainId, sequence, entryHash, timestamp and signer; any change breaks the signature', () => {
    const { entries } = chainOf(3);
    const cp = checkpointAt(entries, 2);
    expect(cp).toMatchObject({
      type: CHECKPOINT_TYPE,
      chainId: entries[0]!.entryHash,
      sequence: 2,
      entryHash: entries[2]!.entryHash,
      timestamp: '2026-05-01T00:00:00.000Z',
      signerFingerprint: signerOf(1).fingerprint,
    });
    expect(verifyCheckpointSignature(cp, keysOf(1).publicKey)).toBe(true);
    expect(verifyCheckpointSignature(cp, keysOf(2).publicKey)).toBe(false);
    const mutations: Partial<Checkpoint>[] = [
      { chainId: entries[1]!.entryHash },
      { sequence: 1 },
      { entryHash: entries[1]!.entryHash },
      { timestamp: '2026-05-01T00:00:00.001Z' },
      { signature: cp.signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) },
    ];
    for (const m of mutations) expect(verifyCheckpointSignature({ ...cp, ...m }, keysOf(1).publicKey), JSON.stringify(m)).toBe(false);
  });

  it('refuses a chain id that is not an entry hash, and chainIdOf refuses a non-genesis entry', () => {
    const { entries } = chainOf(2);
    expect(() => createCheckpoint({ sequence: 1, entryHash: entries[1]!.entryHash }, signerOf(1), 'my-chain')).toThrow(CheckpointError);
    expect(() => chainIdOf(entries[1]!)).toThrow(/sequence-0/);
  });
});

describe('verifyChain with checkpoints', () => {
  const { entries } = chainOf(10);
  const key = keysOf(1).publicKey;
  const cps = [checkpointAt(entries, 4), checkpointAt(entries, 9)];

  it('passes an intact log and says how many checkpoints and which signers it checked', () => {
    expect(verifyChain(entries, key, { checkpoints: cps })).toEqual({ ok: true, count: 10, checkpoints: 2, signers: [signerOf(1).fingerprint] });
    // without options the result keeps its original shape
    expect(verifyChain(entries, key)).toEqual({ ok: true, count: 10 });
  });

  it('reports truncation at the first missing sequence', () => {
    const r = verifyChain(entries.slice(0, 7), key, { checkpoints: cps });
    expect(r).toMatchObject({ ok: false, sequence: 7, reason: 'truncated' });
    expect(!r.ok && r.message).toMatch(/ends after 7 entries.*sequence 9/);
    // without the checkpoints, a cut tail is invisible: that is what checkpoints are for
    expect(verifyChain(entries.slice(0, 7), key)).toEqual({ ok: true, count: 7 });
  });

  it('reports an empty log with a checkpoint as truncated at 0', () => {
    expect(verifyChain([], key, { checkpoints: cps })).toMatchObject({ ok: false, sequence: 0, reason: 'truncated' });
  });

  it('reports a fork: the same key re-wrote history after a shared prefix', () => {
    const writer = new ChainWriter(signerOf(1), { sequence: 5, entryHash: entries[5]!.entryHash });
    const forked = [...entries.slice(0, 6)];
    for (let i = 6; i < 10; i++) forked.push(writer.append(decision(i, { projectedCents: 0 })));
    expect(verifyChain(forked, key)).toEqual({ ok: true, count: 10 }); // a valid chain on its own
    const r = verifyChain(forked, key, { checkpoints: [checkpointAt(entries, 4), checkpointAt(entries, 7), checkpointAt(entries, 9)] });
    expect(r).toMatchObject({ ok: false, sequence: 7, reason: 'fork' });
  });

  it('reports a swapped log: another chain by the same key', () => {
    // e.g. the log of another service, or of an earlier run that started a new chain
    const otherWriter = new ChainWriter(signerOf(1));
    const swapped = [otherWriter.append(decision(100)), ...Array.from({ length: 11 }, (_, i) => otherWriter.append(decision(i + 1)))];
    expect(verifyChain(swapped, key)).toMatchObject({ ok: true });
    const r = verifyChain(swapped, key, { checkpoints: cps });
    expect(r).toMatchObject({ ok: false, sequence: 0, reason: 'swapped_log' });
    expect(!r.ok && r.message).toContain(entries[0]!.entryHash);
  });

  it('reports a swapped log against an expected chain id without any checkpoint', () => {
    const other = chainOf(3, signerOf(1));
    const otherStart = new ChainWriter(signerOf(1));
    const swapped = [otherStart.append(decision(50)), otherStart.append(decision(51))];
    expect(verifyChain(other.entries, key, { chainId: chainIdOf(other.entries[0]!) })).toMatchObject({ ok: true });
    expect(verifyChain(swapped, key, { chainId: chainIdOf(other.entries[0]!) })).toMatchObject({ ok: false, sequence: 0, reason: 'swapped_log' });
  });

  it('rejects checkpoints it cannot authenticate before believing them', () => {
    const forged = { ...cps[1]!, entryHash: entries[8]!.entryHash };
    expect(verifyChain(entries, key, { checkpoints: [forged] })).toMatchObject({ ok: false, sequence: 9, reason: 'bad_checkpoint' });
    const byStranger = checkpointAt(entries, 9, 7);
    const r = verifyChain(entries, key, { checkpoints: [byStranger] });
    expect(r).toMatchObject({ ok: false, reason: 'bad_checkpoint' });
    expect(!r.ok && r.message).toMatch(/not the chain's signer/);
    // a stranger's checkpoint beyond the end does not make the log "truncated"
    const r2 = verifyChain(entries.slice(0, 5), key, { checkpoints: [byStranger] });
    expect(r2).toMatchObject({ ok: false, sequence: 5, reason: 'bad_checkpoint' });
    expect(!r2.ok && r2.message).toMatch(/trustedKeys/);
    const malformed = [{ ...cps[0]!, type: 'other' }, { ...cps[0]!, sequence: -1 }, { ...cps[0]!, extra: 1 }, null, 'x'] as unknown as Checkpoint[];
    for (const m of malformed)
      expect(verifyChain(entries, key, { checkpoints: [m] }), JSON.stringify(m)).toMatchObject({ ok: false, reason: 'bad_checkpoint' });
  });

  it('reports a broken entry before any checkpoint finding', () => {
    const tampered = clone(entries);
    (tampered[3]!.decision as Record<string, unknown>).projectedCents = 999;
    expect(verifyChain(tampered.slice(0, 6), key, { checkpoints: cps })).toMatchObject({ ok: false, sequence: 3, reason: 'hash_mismatch' });
  });

  it('streams: ChainVerifier.push then finish runs the checkpoint checks at the end', () => {
    const v = new ChainVerifier(key, { checkpoints: cps });
    for (const e of entries.slice(0, 9)) expect(v.push(e)).toBeNull();
    expect(v.finish()).toMatchObject({ ok: false, sequence: 9, reason: 'truncated' });
    const v2 = new ChainVerifier(key, { checkpoints: cps });
    for (const e of entries) v2.push(e);
    expect(v2.finish()).toMatchObject({ ok: true, count: 10, checkpoints: 2 });
  });
});

describe('CheckpointWriter', () => {
  it('checkpoints every N entries, on demand (shutdown) and not twice at one sequence', () => {
    const w = new CheckpointWriter({ signer: signerOf(1), every: 4, clock: () => T0 });
    const { entries } = chainOf(10);
    const made = entries.map((e) => w.observe(e)).flatMap((cp) => (cp ? [cp.sequence] : []));
    expect(made).toEqual([3, 7]);
    const last = w.checkpoint();
    expect(last?.sequence).toBe(9);
    expect(w.checkpoint()).toBeNull();
    expect(w.chainId).toBe(entries[0]!.entryHash);
    // the shutdown checkpoint makes a cut of the very last entry visible
    expect(verifyChain(entries.slice(0, 9), keysOf(1).publicKey, { checkpoints: [last!] })).toMatchObject({ ok: false, sequence: 9, reason: 'truncated' });
  });

  it('needs the chain id to resume, and entries in order', () => {
    const { entries } = chainOf(6);
    const resumed = new CheckpointWriter({ signer: signerOf(1), every: 2, head: { sequence: 3, entryHash: entries[3]!.entryHash } });
    resumed.observe(entries[4]!);
    expect(() => resumed.observe(entries[5]!)).toThrow(/chain id unknown/);
    const ok = new CheckpointWriter({
      signer: signerOf(1),
      every: 2,
      head: { sequence: 3, entryHash: entries[3]!.entryHash },
      chainId: chainIdOf(entries[0]!),
    });
    ok.observe(entries[4]!);
    expect(ok.observe(entries[5]!)?.sequence).toBe(5);
    expect(() => ok.observe(entries[5]!)).toThrow(/expected sequence 6, got 5/);
    expect(() => new CheckpointWriter({ signer: signerOf(1), every: 0 })).toThrow(CheckpointError);
  });

  it('checkpoints a rotation with the outgoing key and then needs the incoming one', () => {
    const w = new CheckpointWriter({ signer: signerOf(1), every: 100, clock: () => T0 });
    const chain = new ChainWriter(signerOf(1));
    const entries: DecisionLogEntry[] = [];
    const cps: Checkpoint[] = [];
    const add = (e: DecisionLogEntry) => {
      entries.push(e);
      const cp = w.observe(e);
      if (cp) cps.push(cp);
    };
    add(chain.append(decision(0)));
    add(chain.rotate(signerOf(2), 'scheduled'));
    expect(cps.map((c) => [c.sequence, c.signerFingerprint])).toEqual([[1, signerOf(1).fingerprint]]);
    add(chain.append(decision(2)));
    expect(() => w.checkpoint()).toThrow(/setSigner/);
    expect(() => w.setSigner(signerOf(3))).toThrow(CheckpointError);
    w.setSigner(signerOf(2));
    cps.push(w.checkpoint()!);
    expect(verifyChain(entries, keysOf(1).publicKey, { checkpoints: cps })).toEqual({
      ok: true,
      count: 3,
      checkpoints: 2,
      signers: [signerOf(1).fingerprint, signerOf(2).fingerprint],
    });
    // the outgoing key may not checkpoint after the rotation
    const stale = createCheckpoint({ sequence: 2, entryHash: entries[2]!.entryHash }, signerOf(1), chainIdOf(entries[0]!), T0);
    expect(verifyChain(entries, keysOf(1).publicKey, { checkpoints: [stale] })).toMatchObject({ ok: false, reason: 'bad_checkpoint', sequence: 2 });
  });
});
