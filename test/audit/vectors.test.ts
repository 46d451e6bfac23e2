import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { publicKeyFromHex, signingKeysFromHex, type DecisionLogEntry } from '../../src/index.js';
import { verifyChain } from '../../src/audit.js';
import { canonicalJson } from '../../src/audit/canonical-json.js';
import { ChainWriter, computeEntryHash } from '../../src/audit/chain.js';
import { sha256Hex } from '../../src/audit/hash.js';
import { bytesToHex, hexToBytes } from '../../src/audit/hex.js';
import { signerFingerprint } from '../../src/audit/keys.js';
import { createSigner } from '../../src/audit/signer.js';
import { verifyEntry } from '../../src/audit/verify.js';

const dir = fileURLToPath(new URL('../../test_vectors/', import.meta.url));
const read = (name: string) => readFileSync(dir + name, 'utf8');
const json = <T = any>(name: string) => JSON.parse(read(name)) as T; // eslint-disable-line @typescript-eslint/no-explicit-any

interface EntryVector {
  seedHex: string;
  sequence: number;
  previousHash: string;
  decision: Record<string, unknown>;
  expected: { publicKeyHex: string; signerFingerprint: string; canonical: string; canonicalHex: string; entryHash: string; signature: string };
}

/** Checks one single-entry vector against the code as it is now. */
function checkEntryVector(v: EntryVector) {
  const keys = signingKeysFromHex(v.seedHex);
  expect(bytesToHex(keys.publicKey)).toBe(v.expected.publicKeyHex);
  expect(signerFingerprint(keys.publicKey)).toBe(v.expected.signerFingerprint);
  const canonical = canonicalJson({
    sequence: v.sequence,
    decision: v.decision,
    previousHash: v.previousHash,
    signerFingerprint: v.expected.signerFingerprint,
  });
  expect(canonical).toBe(v.expected.canonical);
  expect(Buffer.from(canonical, 'utf8').toString('hex')).toBe(v.expected.canonicalHex);
  expect(sha256Hex(hexToBytes(v.expected.canonicalHex))).toBe(v.expected.entryHash);
  expect(computeEntryHash({ ...v, signerFingerprint: v.expected.signerFingerprint })).toBe(v.expected.entryHash);
  for (const backend of ['node', 'noble'] as const) {
    expect(bytesToHex(createSigner(keys, backend).sign(hexToBytes(v.expected.entryHash)))).toBe(v.expected.signature);
  }
  const entry: DecisionLogEntry = {
    sequence: v.sequence,
    decision: v.decision,
    previousHash: v.previousHash,
    entryHash: v.expected.entryHash,
    signature: v.expected.signature,
    signerFingerprint: v.expected.signerFingerprint,
  };
  expect(verifyEntry(entry, publicKeyFromHex(v.expected.publicKeyHex))).toEqual({ ok: true });
  return entry;
}

describe('test_vectors match what the code computes now', () => {
  it('fixed_decision.json', () => {
    const v = json<EntryVector>('fixed_decision.json');
    // The vector holds what it says it holds.
    const reasons = (v.decision.reasons as string[]).join('\n');
    for (const s of ['\u2028', '\u2029', 'e\u0301', '😀', '"', '\\', '\n', '\u0000', '\u007f']) expect(reasons).toContain(s);
    expect(v.decision.triggeredCap).toBeTypeOf('object');
    expect(v.decision.actor).toBeTypeOf('object');
    const numbers = Object.values(v.decision).filter((x): x is number => typeof x === 'number');
    expect(numbers.length).toBeGreaterThan(5);
    expect(numbers.every((n) => Number.isSafeInteger(n))).toBe(true);
    expect(v.expected.canonicalHex).toContain(Buffer.from('\u2028', 'utf8').toString('hex')); // literal, not escaped
    const entry = checkEntryVector(v);
    expect(verifyChain([entry], publicKeyFromHex(v.expected.publicKeyHex))).toEqual({ ok: true, count: 1 });
  });

  it('outcome_entry.json follows fixed_decision.json', () => {
    const first = checkEntryVector(json<EntryVector>('fixed_decision.json'));
    const v = json<EntryVector>('outcome_entry.json');
    expect(v.decision.entryType).toBe('outcome');
    expect(v.decision.originalDecisionId).toBe(first.decision && (first.decision as { decisionId: string }).decisionId);
    expect(v.previousHash).toBe(first.entryHash);
    const second = checkEntryVector(v);
    expect(verifyChain([first, second], publicKeyFromHex(v.expected.publicKeyHex))).toEqual({ ok: true, count: 2 });
  });

  it('chain.json and chain.jsonl', () => {
    const v = json<{ seedHex: string; decisions: object[]; expected: { publicKeyHex: string; entries: DecisionLogEntry[] } }>('chain.json');
    const keys = signingKeysFromHex(v.seedHex);
    const writer = new ChainWriter(createSigner(keys));
    const entries = v.decisions.map((d) => writer.append(d));
    expect(entries).toEqual(v.expected.entries);
    expect(entries.length).toBeGreaterThanOrEqual(4);
    expect(entries.some((e) => (e.decision as { entryType?: string }).entryType === 'outcome')).toBe(true);
    const lines = read('chain.jsonl')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as DecisionLogEntry);
    expect(lines).toEqual(entries.map((e) => ({ ...e, publicKeyHex: v.expected.publicKeyHex })));
    expect(verifyChain(lines, publicKeyFromHex(v.expected.publicKeyHex))).toEqual({ ok: true, count: entries.length });
  });

  it('jcs_cases.json', () => {
    const v = json<{ cases: { name: string; input?: string; numberBits?: string; expected: { canonical?: string; canonicalHex?: string; error?: string } }[] }>(
      'jcs_cases.json',
    );
    expect(v.cases.length).toBeGreaterThan(25);
    let errors = 0;
    for (const c of v.cases) {
      let value: unknown;
      if (c.numberBits !== undefined) {
        const view = new DataView(new ArrayBuffer(8));
        view.setBigUint64(0, BigInt(`0x${c.numberBits}`));
        value = view.getFloat64(0);
      } else {
        value = JSON.parse(c.input!);
      }
      if (c.expected.error !== undefined) {
        errors++;
        expect(() => canonicalJson(value), c.name).toThrow(c.expected.error);
      } else {
        const out = canonicalJson(value);
        expect(out, c.name).toBe(c.expected.canonical);
        expect(Buffer.from(out, 'utf8').toString('hex'), c.name).toBe(c.expected.canonicalHex);
      }
    }
    expect(errors).toBeGreaterThanOrEqual(8);
  });

  it('compute_expected_ts.js (against the built dist/) finds every file up to date', () => {
    const out = execFileSync(process.execPath, [dir + 'compute_expected_ts.js'], { encoding: 'utf8' });
    expect(out.split('\n').filter(Boolean)).toEqual(
      ['fixed_decision.json', 'outcome_entry.json', 'chain.json', 'chain.jsonl', 'jcs_cases.json'].map((n) => `ok       ${n}`),
    );
  });
});
