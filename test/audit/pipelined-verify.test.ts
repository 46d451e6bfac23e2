/**
 * PipelinedChainVerifier (signatures on the threadpool, used by the CLI's
 * verify) must report exactly what ChainVerifier reports, including when a bad
 * signature is only found after later entries were already checked.
 */
import { describe, expect, it } from 'vitest';
import { generateKeypair, type DecisionLogEntry } from '../../src/index.js';
import { ChainVerifier } from '../../src/audit.js';
import { ChainWriter } from '../../src/audit/chain.js';
import { bytesToHex } from '../../src/audit/hex.js';
import { createSigner } from '../../src/audit/signer.js';
import { PipelinedChainVerifier, type LocatedFailure } from '../../src/audit/verify.js';

const keys = generateKeypair();

function chain(n: number, rotateAt = -1): DecisionLogEntry[] {
  const w = new ChainWriter(createSigner(keys));
  return Array.from({ length: n }, (_, i) =>
    i === rotateAt
      ? w.rotate(createSigner(generateKeypair()), 'scheduled', Date.UTC(2026, 0, 2))
      : w.append({ entryType: 'decision', decisionId: `d-${i}`, projectedCents: i, reasons: ['r'] }),
  );
}

function badSignature(e: DecisionLogEntry): DecisionLogEntry {
  const sig = e.signature;
  return { ...e, signature: `${sig.slice(0, 10)}${sig[10] === '0' ? '1' : '0'}${sig.slice(11)}` };
}

async function pipelined(entries: DecisionLogEntry[], window: number) {
  const v = new PipelinedChainVerifier<number>(keys.publicKey, { window });
  let failure: LocatedFailure<number> | null = null;
  for (let i = 0; i < entries.length && !failure; i++) failure = await v.push(entries[i]!, i + 1);
  if (!failure) {
    const verdict = await v.finish();
    if (!verdict.ok) failure = verdict;
  }
  return { failure: failure && { sequence: failure.sequence, reason: failure.reason, message: failure.message, line: failure.where }, count: v.count };
}

function sequential(entries: DecisionLogEntry[]) {
  const v = new ChainVerifier(keys.publicKey);
  for (const e of entries) {
    const f = v.push(e);
    if (f) return { failure: { sequence: f.sequence, reason: f.reason, message: f.message, line: f.sequence + 1 }, count: v.count };
  }
  const verdict = v.finish();
  return { failure: verdict.ok ? null : verdict, count: v.count };
}

describe('PipelinedChainVerifier', () => {
  const base = chain(300);
  const rotatedChain = chain(300, 150);
  const cases: [string, DecisionLogEntry[]][] = [
    ['rotated: intact', rotatedChain],
    ['rotated: bad signature on the signer change', rotatedChain.map((e, i) => (i === 150 ? badSignature(e) : e))],
    ['rotated: old key signs after the change', rotatedChain.map((e, i) => (i === 160 ? base[160]! : e))],
    ['intact', base],
    ['bad signature', base.map((e, i) => (i === 150 ? badSignature(e) : e))],
    [
      'bad signature before a later hash mismatch',
      base.map((e, i) => (i === 100 ? badSignature(e) : i === 110 ? { ...e, decision: { ...e.decision, projectedCents: 9 } } : e)),
    ],
    ['bad signature before a later sequence gap', base.filter((_, i) => i !== 120).map((e, i) => (i === 115 ? badSignature(e) : e))],
    ['broken link before a later bad signature', base.map((e, i) => (i === 40 ? { ...e, previousHash: '0'.repeat(64) } : i === 60 ? badSignature(e) : e))],
    ['wrong signer', base.map((e, i) => (i === 7 ? { ...e, signerFingerprint: 'ffffffffffffffff' } : e))],
    ['bad signature on the last entry', base.map((e, i) => (i === 299 ? badSignature(e) : e))],
  ];
  for (const [name, entries] of cases) {
    for (const window of [0, 1, 16, 128]) {
      it(`${name} (window ${window}): same failure and count as ChainVerifier`, async () => {
        expect(await pipelined(entries, window)).toEqual(sequential(entries));
      });
    }
  }

  it('a failure the caller reports (unreadable line) loses to an earlier bad signature still in flight', async () => {
    const v = new PipelinedChainVerifier<string>(keys.publicKey, { window: 64 });
    const entries = base.slice(0, 20).map((e, i) => (i === 5 ? badSignature(e) : e));
    for (const e of entries) expect(await v.push(e, `line ${e.sequence + 1}`)).toBeNull();
    const f = await v.fail('malformed_entry', 'not JSON', 'line 21');
    expect(f).toMatchObject({ sequence: 5, reason: 'bad_signature', where: 'line 6' });
    expect(v.count).toBe(5);
  });

  it('rejects a signature made by another key', async () => {
    const other = bytesToHex(generateKeypair().publicKey);
    expect(other).toHaveLength(64);
    const v = new PipelinedChainVerifier<null>(generateKeypair().publicKey);
    expect(await v.push(base[0]!, null)).toMatchObject({ sequence: 0, reason: 'wrong_signer' });
  });
});

describe('verifyDecisionLog: parallelSignatures gives the same verdict', () => {
  it('on intact, late-bad-signature, torn and non-JSON logs', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { verifyDecisionLog } = await import('../../src/audit.js');
    const base = chain(200);
    const lines = (es: DecisionLogEntry[]) => es.map((e) => `${JSON.stringify(e)}\n`).join('');
    const logs: Record<string, string> = {
      intact: lines(base),
      'bad signature then hash mismatch': lines(
        base.map((e, i) => (i === 50 ? badSignature(e) : i === 60 ? { ...e, decision: { ...e.decision, projectedCents: 7 } } : e)),
      ),
      'bad signature then a line that is not JSON': `${lines(base.slice(0, 100).map((e, i) => (i === 90 ? badSignature(e) : e)))}not json\n`,
      'bad signature then a torn line followed by more': `${lines(base.slice(0, 100).map((e, i) => (i === 95 ? badSignature(e) : e)))}{"torn`,
    };
    for (const [name, text] of Object.entries(logs)) {
      const dir = mkdtempSync(join(tmpdir(), 'agentguard-pipelined-'));
      try {
        writeFileSync(join(dir, 'c.20260101.000001.jsonl'), text);
        const seq = await verifyDecisionLog(dir, keys.publicKey, { parallelSignatures: false });
        const par = await verifyDecisionLog(dir, keys.publicKey, { parallelSignatures: true });
        expect(par, name).toEqual(seq);
        if (name !== 'intact') expect(seq.chains[0]!.failure?.reason, name).toBe('bad_signature');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
