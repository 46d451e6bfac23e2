import { describe, expect, it } from 'vitest';
import { generateKeypair, InMemoryDecisionLogStore, parsePolicy, SpendGuard, type DecisionLogEntry } from '../../src/index.js';
import { verifyChain } from '../../src/audit.js';
import { ChainWriter, computeEntryHash, signEntry } from '../../src/audit/chain.js';
import { rotateChainKey } from '../../src/audit/rotate-key.js';
import { SIGNER_CHANGE, signerChangeDecision } from '../../src/audit/rotation.js';
import type { Signer } from '../../src/audit/signer.js';
import { bytesToHex } from '../../src/audit/hex.js';
import { decision, keysOf, signerOf } from '../helpers/audit.js';

const k1 = keysOf(1).publicKey;
const fp = (n: number) => signerOf(n).fingerprint;

/** 0: k1, 1: k1 rotates to k2, 2..3: k2 */
function rotated(): { entries: DecisionLogEntry[]; writer: ChainWriter } {
  const writer = new ChainWriter(signerOf(1));
  const entries = [
    writer.append(decision(0)),
    writer.rotate(signerOf(2), 'scheduled rotation', Date.UTC(2026, 0, 2)),
    writer.append(decision(2)),
    writer.append(decision(3)),
  ];
  return { entries, writer };
}

/** A correctly hashed and signed entry after `prev`, by any signer (an attacker's forgery when the key is not the chain's). */
function forge(prev: DecisionLogEntry, signer: Signer, d: object = decision(prev.sequence + 1)): DecisionLogEntry {
  return signEntry(d, { sequence: prev.sequence, entryHash: prev.entryHash }, signer);
}

describe('key rotation', () => {
  it('writes a signer_change entry signed by the outgoing key and naming the incoming one', () => {
    const { entries } = rotated();
    const change = entries[1]!;
    expect(change.signerFingerprint).toBe(fp(1));
    expect(change.decision).toEqual({
      entryType: SIGNER_CHANGE,
      newPublicKeyHex: bytesToHex(keysOf(2).publicKey),
      newSignerFingerprint: fp(2),
      timestamp: '2026-01-02T00:00:00.000Z',
      reason: 'scheduled rotation',
    });
    expect(entries.slice(2).map((e) => e.signerFingerprint)).toEqual([fp(2), fp(2)]);
    expect(entries.map((e) => e.sequence)).toEqual([0, 1, 2, 3]);
    expect(entries[2]!.previousHash).toBe(change.entryHash);
  });

  it('verifies across rotations given only the first public key', () => {
    const { entries, writer } = rotated();
    entries.push(writer.rotate(signerOf(3), 'second'), writer.append(decision(5)));
    expect(verifyChain(entries, k1)).toEqual({ ok: true, count: 6 });
    expect(verifyChain(entries, k1, {})).toEqual({ ok: true, count: 6, checkpoints: 0, signers: [fp(1), fp(2), fp(3)] });
  });

  it('does not verify from the incoming key alone', () => {
    expect(verifyChain(rotated().entries, keysOf(2).publicKey)).toMatchObject({ ok: false, sequence: 0, reason: 'wrong_signer' });
  });

  it('accepts any trusted key as the chain start', () => {
    const { entries } = rotated();
    expect(verifyChain(entries, null, { trustedKeys: [keysOf(9).publicKey, k1] })).toMatchObject({ ok: true, count: 4 });
    const r = verifyChain(entries, null, { trustedKeys: [keysOf(9).publicKey, keysOf(8).publicKey] });
    expect(r).toMatchObject({ ok: false, sequence: 0, reason: 'untrusted_signer' });
    expect(() => verifyChain(entries, null)).toThrow(/public key or options.trustedKeys/);
  });

  it('names an entry signed by a key the chain never introduced: untrusted_signer', () => {
    const { entries } = rotated();
    const bad = [...entries, forge(entries[3]!, signerOf(7))];
    const r = verifyChain(bad, k1);
    expect(r).toMatchObject({ ok: false, sequence: 4, reason: 'untrusted_signer' });
    expect(!r.ok && r.message).toContain(fp(7));
  });

  it('names an entry signed by the retired key after the rotation: wrong_signer', () => {
    const { entries } = rotated();
    const r = verifyChain([...entries, forge(entries[3]!, signerOf(1))], k1);
    expect(r).toMatchObject({ ok: false, sequence: 4, reason: 'wrong_signer' });
    expect(!r.ok && r.message).toMatch(/retired by the signer_change entry at sequence 1/);
  });

  it('refuses an entry by the incoming key before its signer_change entry', () => {
    const w = new ChainWriter(signerOf(1));
    const e0 = w.append(decision(0));
    expect(verifyChain([e0, forge(e0, signerOf(2))], k1)).toMatchObject({ ok: false, sequence: 1, reason: 'wrong_signer' });
    // a trusted key still may not sign in the middle without a rotation
    expect(verifyChain([e0, forge(e0, signerOf(2))], k1, { trustedKeys: [keysOf(2).publicKey] })).toMatchObject({
      ok: false,
      sequence: 1,
      reason: 'wrong_signer',
    });
  });

  it('keeps wrong_signer for a plain chain verified with another key', () => {
    const w = new ChainWriter(signerOf(1));
    expect(verifyChain([w.append(decision(0))], keysOf(2).publicKey)).toMatchObject({ ok: false, sequence: 0, reason: 'wrong_signer' });
  });

  it('rejects a signer_change entry whose payload does not hold together: bad_rotation', () => {
    const w = new ChainWriter(signerOf(1));
    const e0 = w.append(decision(0));
    const good = signerChangeDecision(keysOf(2).publicKey, 'x', 0);
    const cases: [object, RegExp][] = [
      [{ ...good, newSignerFingerprint: fp(3) }, /does not match newPublicKeyHex/],
      [{ ...good, newPublicKeyHex: 'zz' }, /newPublicKeyHex/],
      [signerChangeDecision(k1, 'same key', 0), /already signing/],
      [{ ...good, reason: '' }, /reason/],
    ];
    for (const [payload, why] of cases) {
      const r = verifyChain([e0, forge(e0, signerOf(1), payload)], k1);
      expect(r, JSON.stringify(payload)).toMatchObject({ ok: false, sequence: 1, reason: 'bad_rotation' });
      expect(!r.ok && r.message).toMatch(why);
    }
  });

  it('refuses a rotation back to a retired key', () => {
    const { entries, writer } = rotated();
    entries.push(writer.rotate(signerOf(1), 'back'));
    expect(verifyChain(entries, k1)).toMatchObject({ ok: false, sequence: 4, reason: 'bad_rotation' });
  });

  it('refuses to rotate to the key already signing', () => {
    expect(() => new ChainWriter(signerOf(1)).rotate(signerOf(1), 'x')).toThrow(/already signing/);
  });

  it('a tampered signer_change entry is a hash mismatch like any other', () => {
    const { entries } = rotated();
    const t = structuredClone(entries);
    (t[1]!.decision as Record<string, unknown>).newPublicKeyHex = bytesToHex(keysOf(7).publicKey);
    (t[1]!.decision as Record<string, unknown>).newSignerFingerprint = fp(7);
    expect(verifyChain(t, k1)).toMatchObject({ ok: false, sequence: 1, reason: 'hash_mismatch' });
    expect(computeEntryHash(entries[1]!)).toBe(entries[1]!.entryHash);
  });
});

describe('rotateChainKey (what the CLI rotate-key calls on a resting log)', () => {
  it('continues a stored chain under the new key, and a guard started with it resumes the chain', async () => {
    const w = new ChainWriter(signerOf(1));
    const stored = [w.append(decision(0)), w.append(decision(1))];
    const change = rotateChainKey({ head: w.head!, outgoingKeys: keysOf(1), incomingKeys: keysOf(2), reason: 'rotate-key', timestampMs: 0 });
    expect(change).toMatchObject({ sequence: 2, previousHash: stored[1]!.entryHash, signerFingerprint: fp(1) });
    const log = new InMemoryDecisionLogStore();
    for (const e of [...stored, change]) log.append(e);
    const guard = new SpendGuard({
      signingKeys: keysOf(2),
      logStore: log,
      policy: parsePolicy({ id: 'p', name: 'p', scope: { tenantId: 't' }, mode: 'enforce', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', caps: [] }),
    });
    await guard.decide({ provider: 'openai', model: 'gpt-4o', scope: { tenantId: 't' }, estimatedInputTokens: 1, maxOutputTokens: 1 });
    expect(verifyChain(log.entries(), k1, {})).toMatchObject({ ok: true, count: 4, signers: [fp(1), fp(2)] });
  });

  it('refuses mismatched key pairs', () => {
    const w = new ChainWriter(signerOf(1));
    w.append(decision(0));
    expect(() =>
      rotateChainKey({ head: w.head!, outgoingKeys: { ...keysOf(1), publicKey: keysOf(3).publicKey }, incomingKeys: keysOf(2), reason: 'x' }),
    ).toThrow(/outgoingKeys.publicKey/);
  });
});

describe('SpendGuard.rotateSigningKey', () => {
  const policy = parsePolicy({ id: 'p', name: 'p', scope: { tenantId: 't' }, mode: 'enforce', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', caps: [] });
  const call = { provider: 'openai', model: 'gpt-4o', scope: { tenantId: 't' }, estimatedInputTokens: 10, maxOutputTokens: 10 };

  it('rotates mid-flight: the outcome of an earlier call is signed by the new key and the log verifies from the first key', async () => {
    const first = generateKeypair();
    const second = generateKeypair();
    const log = new InMemoryDecisionLogStore();
    const guard = new SpendGuard({ signingKeys: first, logStore: log, policy });
    const a = await guard.decide(call);
    const change = await guard.rotateSigningKey(second, 'quarterly rotation');
    await guard.settle(a, { inputTokens: 10, outputTokens: 3 });
    await guard.decide(call);
    const entries = log.entries();
    expect(entries.map((e) => (e.decision as { entryType: string }).entryType)).toEqual(['decision', 'signer_change', 'outcome', 'decision']);
    expect(change.sequence).toBe(1);
    expect(verifyChain(entries, first.publicKey)).toEqual({ ok: true, count: 4 });
    expect(verifyChain(entries, second.publicKey)).toMatchObject({ ok: false, sequence: 0 });
  });

  it('refuses keys whose public half does not belong to the seed', async () => {
    const guard = new SpendGuard({ signingKeys: generateKeypair(), policy });
    await expect(guard.rotateSigningKey({ privateKey: generateKeypair().privateKey, publicKey: generateKeypair().publicKey }, 'x')).rejects.toThrow(
      /not the public key/,
    );
  });
});
