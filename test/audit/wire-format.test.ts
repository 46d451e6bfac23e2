import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CanonicalizationError, publicKeyFromHex } from '../../src/index.js';
import { parseLogLine, verifyChain } from '../../src/audit.js';
import { ChainWriter, computeEntryHash } from '../../src/audit/chain.js';
import { entryCanonicalJson } from '../../src/audit/entry-json.js';
import { publicKeyFromSeed, signerFingerprint } from '../../src/audit/keys.js';
import { signerOf } from '../helpers/audit.js';

// Written by the published Python port 0.16.0 (sign_decision, seed = bytes 0..31); kept so
// the wire format is checked against the other runtime even where no Python is at hand.
const fixture = new URL('../fixtures/parity/python-0.16.0-sign_decision.jsonl', import.meta.url);

describe('wire format', () => {
  it('verifies a chain the Python port wrote (golden file)', () => {
    const lines = readFileSync(fixture, 'utf8').trim().split('\n');
    const entries = lines.map((l) => parseLogLine(l));
    const seed = Uint8Array.from({ length: 32 }, (_, i) => i);
    const publicKey = publicKeyFromSeed(seed);
    expect(Buffer.from(publicKey).toString('hex')).toBe(entries[0]!.publicKeyHex);
    expect(signerFingerprint(publicKey)).toBe('56475aa75463474c');
    expect(entries[0]!.entryHash).toBe('b926b89b60d27e970f3edae8fe81e26111af7bef3464054b84eaaa80a6b5aa83');
    expect(verifyChain(entries, publicKeyFromHex(entries[0]!.publicKeyHex!))).toEqual({ ok: true, count: 3 });
    for (const e of entries) expect(computeEntryHash(e)).toBe(e.entryHash);
  });

  it('the hashed body of the port’s entry 0 is byte for byte ours', () => {
    const e = parseLogLine(readFileSync(fixture, 'utf8').split('\n')[0]!);
    const body = entryCanonicalJson({ sequence: 0, decision: e.decision, previousHash: e.previousHash, signerFingerprint: e.signerFingerprint });
    expect(body).toBe(
      '{"decision":{"action":"allow","decisionId":"d-0","enforcementMode":"enforce","modelRequested":"gpt-4o","modelResolved":"gpt-4o","policyId":"p-1","policyVersion":1,"projectedCents":120,"provider":"openai","reasons":["All caps within budget (call=120c, model=gpt-4o, scope=tenantId=acme)"],"timestamp":"2026-05-24T18:00:00.000Z","triggeredCap":null,"triggeredScopeKey":null,"windowSpendAfter":120,"windowSpendBefore":0},"previousHash":"0000000000000000000000000000000000000000000000000000000000000000","sequence":0,"signerFingerprint":"56475aa75463474c"}',
    );
  });

  it('refuses to sign a decision the other runtime could not verify', () => {
    const w = new ChainWriter(signerOf(1));
    expect(() => w.append({ score: 0.5 })).toThrow(CanonicalizationError);
    expect(() => w.append({ big: 2 ** 53 })).toThrow(/send it as a string/);
    expect(() => w.append({ s: 'a\ud800' })).toThrow(/lone surrogate/);
    expect(w.head).toBeNull(); // nothing was appended
    expect(w.append({ ok: 1 }).sequence).toBe(0);
  });

  it('an entry error names the JSON path of the first bad value', () => {
    expect(() => entryCanonicalJson({ a: { b: [1, 'ok', 'x\ud800'] } })).toThrow(/^\$\.a\.b\[2\]: lone surrogate in string$/);
    expect(() => entryCanonicalJson({ a: [{ n: 1.5 }] })).toThrow(/^\$\.a\[0\]\.n: 1\.5 is not an integer/);
    expect(() => entryCanonicalJson({ list: [{}, { ['k\udc00']: 1 }] })).toThrow(/^\$\.list\[1\]: lone surrogate in key$/);
    expect(() => entryCanonicalJson({ f: () => 1 })).toThrow(/^\$\.f: function is not a JSON value$/);
    expect(() => entryCanonicalJson({ d: [new Date(0)] })).toThrow(/^\$\.d\[0\]: Date instance is not a plain JSON object$/);
    const loop: Record<string, unknown> = { x: [1] };
    (loop.x as unknown[]).push(loop);
    expect(() => entryCanonicalJson(loop)).toThrow(/^\$\.x\[1\]: circular reference$/);
    let deep: unknown = 1;
    for (let i = 0; i < 257; i++) deep = [deep];
    expect(() => entryCanonicalJson(deep)).toThrow(/^\$(\[0\]){256}: nested deeper than 256 levels$/);
    // Siblings after a nested value print after it, separated as before.
    expect(entryCanonicalJson({ b: [1, [2, { z: 0, a: null }], true], a: 'x' })).toBe('{"a":"x","b":[1,[2,{"a":null,"z":0}],true]}');
  });

  it('a stored publicKeyHex must agree with the signed fingerprint (it is never trusted, but must not mislead)', () => {
    const w = new ChainWriter(signerOf(1));
    const e = { ...w.append({ a: 1 }), publicKeyHex: Buffer.from(signerOf(2).publicKey).toString('hex') };
    expect(verifyChain([e], signerOf(1).publicKey)).toMatchObject({ ok: false, sequence: 0, reason: 'malformed_entry' });
  });
});
