/**
 * The line reader sees bytes, not only what JSON.parse makes of them: each
 * fixture in test/fixtures/audit/ is a signed chain with one line edited so
 * that JSON.parse still yields the signed entry (a duplicate key placed before
 * the real one, an unsigned top-level field, 121.0 for 121, a non-UTF-8 byte
 * a lenient decoder maps to the signed character). Each must fail at its
 * sequence, with its reason, on every path: parseLogLine + verifyChain and
 * verifyDecisionLog (the CLI is in test/cli/verify.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogLineError, parseLogLine, verifyChain, verifyDecisionLog } from '../../src/audit.js';
import { ChainWriter, computeEntryHash, type DecisionLogEntry } from '../../src/audit/chain.js';
import { createSigner, type Signer } from '../../src/audit/signer.js';
import { decisionArb, intJsonArb } from '../helpers/arbitraries.js';
import { keysOf } from '../helpers/audit.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'audit');
const manifest = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as {
  publicKeyHex: string;
  intact: string;
  entries: number;
  cases: { file: string; sequence: number; reason: string; shows: string }[];
};
const publicKey = new Uint8Array(Buffer.from(manifest.publicKeyHex, 'hex'));

/** The fixture's lines as bytes, without newlines. */
function lines(file: string): Buffer[] {
  const all = readFileSync(join(dir, file));
  const out: Buffer[] = [];
  let start = 0;
  for (let nl = all.indexOf(0x0a); nl !== -1; nl = all.indexOf(0x0a, start)) {
    out.push(all.subarray(start, nl));
    start = nl + 1;
  }
  return out;
}

describe('tamper fixtures', () => {
  it('the untouched chain verifies on every path', async () => {
    const entries = lines(manifest.intact).map((l) => parseLogLine(l));
    expect(verifyChain(entries, publicKey)).toEqual({ ok: true, count: manifest.entries });
    const v = await verifyDecisionLog(join(dir, manifest.intact), publicKey);
    expect(v.ok).toBe(true);
    expect(v.chains[0]!.entries).toBe(manifest.entries);
  });

  it('every edited line still parses with JSON.parse to the signed entry (what made the edits invisible)', () => {
    const intact = lines(manifest.intact).map((l) => JSON.parse(l.toString('utf8')) as DecisionLogEntry);
    for (const c of manifest.cases) {
      const edited = JSON.parse(lines(c.file)[c.sequence]!.toString('utf8')) as Record<string, unknown>;
      delete edited.approvedBy;
      delete edited.builderCode;
      expect(verifyChain([...intact.slice(0, c.sequence), edited as unknown as DecisionLogEntry, ...intact.slice(c.sequence + 1)], publicKey).ok, c.file).toBe(
        true,
      );
    }
  });

  for (const c of manifest.cases) {
    it(`${c.file}: ${c.shows} -> ${c.reason} at sequence ${c.sequence}`, async () => {
      const ls = lines(c.file);
      // library: the reader refuses that line, with a code naming why
      for (let i = 0; i < c.sequence; i++) parseLogLine(ls[i]!);
      let thrown: unknown;
      try {
        parseLogLine(ls[c.sequence]!);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, c.file).toBeInstanceOf(LogLineError);
      const code = (thrown as LogLineError).code;
      expect(c.reason === 'malformed_entry' ? ['invalid_utf8', 'invalid_json', 'bad_field'] : [c.reason], c.file).toContain(code);
      // file verification: first failure at that sequence, with that reason, at that line
      const v = await verifyDecisionLog(join(dir, c.file), publicKey);
      expect(v.ok).toBe(false);
      expect(v.chains[0]).toMatchObject({ ok: false, entries: c.sequence, failure: { sequence: c.sequence, reason: c.reason, line: c.sequence + 1 } });
    });
  }
});

describe('the hashed body', () => {
  const signer = createSigner(keysOf(7));

  it('a top-level builderCode is part of it when set: removing or changing it breaks the hash, null is the same as absent', () => {
    const w = new ChainWriter(signer);
    const plain = w.append({ entryType: 'decision', decisionId: 'b-0' });
    // sign the way the port does with a builder code: the fifth key of the hashed body
    const body = {
      sequence: 1,
      decision: { entryType: 'decision', decisionId: 'b-1' },
      previousHash: plain.entryHash,
      signerFingerprint: signer.fingerprint,
      builderCode: 'ACME42',
    };
    const withCode = signedAs(body, signer);
    expect(verifyChain([plain, withCode], signer.publicKey)).toEqual({ ok: true, count: 2 });
    const { builderCode: _dropped, ...stripped } = withCode;
    expect(verifyChain([plain, stripped as DecisionLogEntry], signer.publicKey)).toMatchObject({ ok: false, sequence: 1, reason: 'hash_mismatch' });
    expect(verifyChain([plain, { ...withCode, builderCode: 'ACME43' }], signer.publicKey)).toMatchObject({ ok: false, sequence: 1, reason: 'hash_mismatch' });
    expect(verifyChain([plain, { ...withCode, builderCode: 'acme42' }], signer.publicKey)).toMatchObject({ ok: false, sequence: 1, reason: 'non_canonical' });
    expect(verifyChain([{ ...plain, builderCode: null }], signer.publicKey)).toEqual({ ok: true, count: 1 });
    expect(verifyChain([{ ...plain, builderCode: 'ACME42' }], signer.publicKey)).toMatchObject({ ok: false, sequence: 0, reason: 'hash_mismatch' });
  });

  it('null means absent only for the port’s optional fields; a null anywhere else is hashed as written', () => {
    const w = new ChainWriter(signer);
    const cap = { amountCents: 100, window: 'per_day', action: 'block' };
    const e = w.append({ entryType: 'decision', decisionId: 'n-0', triggeredCap: cap, triggeredScopeKey: null });
    const asPortFileStore = {
      ...e,
      decision: {
        ...e.decision,
        builderCode: null,
        provenance: null,
        outcomeReceipt: null,
        governanceReceipt: null,
        triggeredCap: { ...cap, downgradeTo: null, reason: null },
      },
    };
    expect(verifyChain([asPortFileStore], signer.publicKey)).toEqual({ ok: true, count: 1 });
    expect(verifyChain([{ ...e, decision: { ...e.decision, actualCents: null } }], signer.publicKey)).toMatchObject({ ok: false, reason: 'hash_mismatch' });
    expect(verifyChain([{ ...e, decision: { ...e.decision, triggeredCap: { ...cap, amountCents: null } } }], signer.publicKey)).toMatchObject({
      ok: false,
      reason: 'hash_mismatch',
    });
    // the port's required nulls stay in the body: dropping one is a change
    const { triggeredScopeKey: _t, ...withoutKey } = e.decision as Record<string, unknown>;
    expect(verifyChain([{ ...e, decision: withoutKey }], signer.publicKey)).toMatchObject({ ok: false, reason: 'hash_mismatch' });
  });

  it('an unsigned top-level field handed to verifyChain as an object is refused too', () => {
    const e = new ChainWriter(signer).append({ entryType: 'decision', decisionId: 'u-0' });
    expect(verifyChain([{ ...e, approvedBy: 'CFO' } as DecisionLogEntry], signer.publicKey)).toMatchObject({ ok: false, sequence: 0, reason: 'unknown_field' });
    expect(verifyChain([{ ...e, publicKeyHex: Buffer.from(signer.publicKey).toString('hex').toUpperCase() }], signer.publicKey)).toEqual({
      ok: true,
      count: 1,
    });
  });

  it('signature hex: all lower or all upper case (the same bytes), never mixed', () => {
    const e = new ChainWriter(signer).append({ entryType: 'decision', decisionId: 's-0' });
    expect(verifyChain([{ ...e, signature: e.signature.toUpperCase() }], signer.publicKey)).toEqual({ ok: true, count: 1 });
    expect(parseLogLine(JSON.stringify({ ...e, signature: e.signature.toUpperCase() })).signature).toBe(e.signature.toUpperCase());
    const mixed = e.signature.replace(/[a-f]/, (c) => c.toUpperCase());
    expect(verifyChain([{ ...e, signature: mixed }], signer.publicKey)).toMatchObject({ ok: false, reason: 'malformed_entry' });
    expect(() => parseLogLine(JSON.stringify({ ...e, signature: mixed }))).toThrow(/signature is not 128 hex characters, all lower or all upper case/);
  });
});

/** Signs `body` (with its builderCode) the way the port's sign_decision does: Ed25519 over the bytes of computeEntryHash. */
function signedAs(
  body: { sequence: number; decision: object; previousHash: string; signerFingerprint: string; builderCode: string },
  signer: Signer,
): DecisionLogEntry {
  const entryHash = computeEntryHash(body);
  const signature = Buffer.from(signer.sign(Buffer.from(entryHash, 'hex'))).toString('hex');
  return { ...body, entryHash, signature };
}

describe('the strict reader, on arbitrary decisions', () => {
  const signer = createSigner(keysOf(9));

  it('every line the writer makes is read back and verifies; a duplicate of any decision key, placed before it, is duplicate_key; any integer spelled n.0 is non_canonical', () => {
    fc.assert(
      fc.property(decisionArb, intJsonArb, fc.nat(), (decision, forged, pick) => {
        const entry = new ChainWriter(signer).append(decision);
        const line = JSON.stringify(entry);
        expect(verifyChain([parseLogLine(line)], signer.publicKey)).toEqual({ ok: true, count: 1 });
        const keys = Object.keys(entry.decision);
        const key = keys[pick % keys.length]!;
        const dup = line.replace('"decision":{', `"decision":{${JSON.stringify(key)}:${JSON.stringify(forged)},`);
        expect(() => parseLogLine(dup)).toThrow(expect.objectContaining({ code: 'duplicate_key', field: `decision.${key}` }));
        const floated = line.replace('"sequence":0', '"sequence":0.0');
        expect(() => parseLogLine(floated)).toThrow(expect.objectContaining({ code: 'non_canonical', field: 'sequence' }));
      }),
      { numRuns: 300 },
    );
  });
});
