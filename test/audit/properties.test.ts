import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CanonicalizationError, type DecisionLogEntry } from '../../src/index.js';
import { parseLogLine, verifyChain } from '../../src/audit.js';
import { canonicalJson } from '../../src/audit/canonical-json.js';
import { ChainWriter, computeEntryHash } from '../../src/audit/chain.js';
import { chainIdOf, createCheckpoint } from '../../src/audit/checkpoint.js';
import { compareCodePoints, entryCanonicalJson } from '../../src/audit/entry-json.js';
import { anyNumberJsonArb, decisionArb, fractionArb, intJsonArb, keyArb, normalizeZero } from '../helpers/arbitraries.js';
import { keysOf, signerOf } from '../helpers/audit.js';

/** Bounded so the suite stays fast; AGENTGUARD_PROPERTY_SCALE=10 runs ten times as many cases locally. */
const SCALE = Number(process.env.AGENTGUARD_PROPERTY_SCALE ?? 1);
const runs = (n: number) => ({ numRuns: Math.round(n * SCALE) });
const TIMEOUT = 30_000 * Math.max(1, SCALE);
const RUNS = runs(300);

/** Independent oracles for key order. */
const byUtf16 = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byCodePoint = (a: string, b: string) => {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
};

describe('JCS (canonicalJson) properties', () => {
  it(
    'round-trips: parse(canonical(v)) deep-equals v (modulo -0) and canonical is idempotent',
    () => {
      fc.assert(
        fc.property(anyNumberJsonArb, (v) => {
          const c = canonicalJson(v);
          const back = JSON.parse(c);
          expect(back).toEqual(normalizeZero(v));
          expect(canonicalJson(back)).toBe(c);
        }),
        RUNS,
      );
    },
    TIMEOUT,
  );

  it(
    'prints every non-integer double as ECMAScript does and reads it back to the same double',
    () => {
      fc.assert(
        fc.property(fractionArb, (x) => {
          const c = canonicalJson(x);
          expect(c).toBe(String(x));
          expect(Number(c)).toBe(x);
        }),
        RUNS,
      );
    },
    TIMEOUT,
  );

  it(
    'sorts keys by UTF-16 code unit (RFC 8785)',
    () => {
      fc.assert(
        fc.property(fc.uniqueArray(keyArb, { maxLength: 8 }), (keys) => {
          const obj = Object.fromEntries(keys.map((k, i) => [k, i]));
          const expected = `{${[...keys]
            .sort(byUtf16)
            .map((k) => `${JSON.stringify(k)}:${obj[k]}`)
            .join(',')}}`;
          expect(canonicalJson(obj)).toBe(expected);
        }),
        RUNS,
      );
    },
    TIMEOUT,
  );

  it(
    'rejects what JSON or the wire format cannot carry, with a CanonicalizationError',
    () => {
      const bad = fc.oneof(
        fc.constantFrom(Number.NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), 1e21, Number.MAX_VALUE, undefined, new Date(0), () => 1, 10n),
        fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => `a${String.fromCharCode(u)}`),
        fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => ({ [String.fromCharCode(u)]: 1 })),
      );
      fc.assert(
        fc.property(bad, intJsonArb, (b, v) => {
          for (const value of [b, [v, b], { x: v, y: { z: b } }]) {
            expect(() => canonicalJson(value)).toThrow(CanonicalizationError);
            expect(() => entryCanonicalJson(value)).toThrow(CanonicalizationError);
          }
        }),
        runs(100),
      );
    },
    TIMEOUT,
  );
});

describe('entry canonical form (the port-compatible hash input) properties', () => {
  it(
    'equals JCS for integer-only values except for the key order, which is by code point',
    () => {
      fc.assert(
        fc.property(intJsonArb, (v) => {
          const e = entryCanonicalJson(v);
          expect(JSON.parse(e)).toEqual(normalizeZero(v));
          expect(entryCanonicalJson(JSON.parse(e))).toBe(e);
          if (!disagreeingOrder(v)) expect(e).toBe(canonicalJson(v));
        }),
        RUNS,
      );
    },
    TIMEOUT,
  );

  it(
    'sorts keys by code point',
    () => {
      fc.assert(
        fc.property(fc.uniqueArray(keyArb, { maxLength: 8 }), (keys) => {
          const obj = Object.fromEntries(keys.map((k, i) => [k, i]));
          const expected = `{${[...keys]
            .sort(byCodePoint)
            .map((k) => `${JSON.stringify(k)}:${obj[k]}`)
            .join(',')}}`;
          expect(entryCanonicalJson(obj)).toBe(expected);
          expect([...keys].sort(compareCodePoints)).toEqual([...keys].sort(byCodePoint));
        }),
        RUNS,
      );
    },
    TIMEOUT,
  );

  it(
    'rejects every non-integer number (the port rejects floats)',
    () => {
      fc.assert(
        fc.property(fractionArb, (x) => {
          expect(() => entryCanonicalJson({ a: [x] })).toThrow(/\$\.a\[0\]: .* not an integer/);
        }),
        RUNS,
      );
    },
    TIMEOUT,
  );
});

/** True when some object in v has two keys that UTF-16 and code-point order rank differently. */
function disagreeingOrder(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(disagreeingOrder);
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    for (const a of keys) for (const b of keys) if (Math.sign(byUtf16(a, b)) !== Math.sign(byCodePoint(a, b))) return true;
    return Object.values(v).some(disagreeingOrder);
  }
  return false;
}

describe('random decisions sign and verify', () => {
  it(
    'any integer-only decision chain verifies, also after a JSONL round trip',
    () => {
      fc.assert(
        fc.property(fc.array(decisionArb, { minLength: 1, maxLength: 6 }), (decisions) => {
          const w = new ChainWriter(signerOf(1));
          const entries = decisions.map((d) => w.append(d));
          expect(verifyChain(entries, keysOf(1).publicKey)).toEqual({ ok: true, count: decisions.length });
          const lines = entries.map((e) => JSON.stringify(e));
          const reread = lines.map((l) => parseLogLine(l));
          expect(verifyChain(reread, keysOf(1).publicKey)).toEqual({ ok: true, count: decisions.length });
        }),
        runs(150),
      );
    },
    TIMEOUT,
  );
});

// ---- tamper detection -------------------------------------------------------

const KEY = keysOf(1).publicKey;

function sampleChain(n: number): DecisionLogEntry[] {
  const w = new ChainWriter(signerOf(1));
  return Array.from({ length: n }, (_, i) =>
    w.append({
      entryType: 'decision',
      decisionId: `d-${i}`,
      timestamp: `2026-05-01T00:00:0${i % 10}.000Z`,
      action: i % 3 === 0 ? 'block' : 'allow',
      projectedCents: 120 * i,
      windowSpendBefore: 0,
      windowSpendAfter: 120 * i,
      reasons: [`cap ${i} ☕ 😀 \u2028 "q" \\ \n`, 'é\ue000'],
      actor: { tenantId: 'acme', '😀': 'x', '\uffff': 'y' },
      triggeredCap: null,
    }),
  );
}

const PUBLIC_KEY_HEX = Buffer.from(KEY).toString('hex');
const enc = new TextEncoder();

/** The stored form: one JSON line per entry, with the convenience publicKeyHex. */
function toLines(entries: DecisionLogEntry[]): Uint8Array[] {
  return entries.map((e) => enc.encode(JSON.stringify({ ...e, publicKeyHex: PUBLIC_KEY_HEX })));
}

/**
 * Reads and verifies stored lines; returns where it failed: the sequence the
 * verifier names, or the index of the line that did not parse (with its code).
 */
function detect(lines: Uint8Array[]): { at: number; how: string } | null {
  const entries: DecisionLogEntry[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      entries.push(parseLogLine(line));
    } catch (err) {
      expect((err as Error).name).toBe('LogLineError');
      return { at: i, how: `parse:${(err as { code: string }).code}` };
    }
  }
  const r = verifyChain(entries, KEY);
  return r.ok ? null : { at: r.sequence, how: r.reason };
}

describe('every single-byte change in a stored line is detected at that line', () => {
  const entries = sampleChain(5);
  const lines = toLines(entries);
  expect(detect(lines)).toBeNull();

  it('exhaustively: every byte of a line, flipped in each of its 8 bits', () => {
    const target = 2;
    const line = lines[target]!;
    const seen = new Map<string, number>();
    for (let pos = 0; pos < line.length; pos++) {
      for (let bit = 0; bit < 8; bit++) {
        const mutated = line.slice();
        mutated[pos]! ^= 1 << bit;
        const copy = [...lines];
        copy[target] = mutated;
        const found = detect(copy);
        expect(found, `byte ${pos} bit ${bit}`).not.toBeNull();
        expect(found!.at, `byte ${pos} bit ${bit}: ${found!.how}`).toBe(target);
        seen.set(found!.how, (seen.get(found!.how) ?? 0) + 1);
      }
    }
    // the detections are spread over parsing and every entry check
    expect([...seen.keys()]).toEqual(
      expect.arrayContaining(['parse:invalid_json', 'parse:invalid_utf8', 'hash_mismatch', 'malformed_entry', 'broken_link', 'sequence_gap']),
    );
  });

  it(
    'randomly: any line, any byte, any new value',
    () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: lines.length - 1 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (li, p, delta) => {
          const line = lines[li]!;
          const pos = p % line.length;
          const mutated = line.slice();
          mutated[pos] = (mutated[pos]! + delta) & 0xff;
          const copy = [...lines];
          copy[li] = mutated;
          const found = detect(copy);
          expect(found).not.toBeNull();
          expect(found!.at).toBe(li);
        }),
        runs(500),
      );
    },
    TIMEOUT,
  );
});

type Edit =
  | { op: 'delete'; i: number }
  | { op: 'swap'; i: number; j: number }
  | { op: 'move'; from: number; to: number }
  | { op: 'duplicate'; i: number; at: number }
  | { op: 'insertForeign'; at: number; key: number };

describe('every reorder, deletion, insertion and duplication is detected at the right sequence', () => {
  const N = 8;
  const original = sampleChain(N);
  const foreign = (() => {
    // a valid chain of the same shape by another key and one by the same key but another history
    const other = new ChainWriter(signerOf(2));
    const same = new ChainWriter(signerOf(1));
    return [Array.from({ length: N }, (_, i) => other.append({ i })), Array.from({ length: N }, (_, i) => same.append({ i, other: true }))];
  })();
  const idx = fc.integer({ min: 0, max: N - 1 });
  const editArb: fc.Arbitrary<Edit> = fc.oneof(
    idx.map((i) => ({ op: 'delete' as const, i })),
    fc
      .tuple(idx, idx)
      .filter(([i, j]) => i !== j)
      .map(([i, j]) => ({ op: 'swap' as const, i, j })),
    fc
      .tuple(idx, idx)
      .filter(([a, b]) => a !== b)
      .map(([from, to]) => ({ op: 'move' as const, from, to })),
    fc.tuple(idx, fc.integer({ min: 0, max: N })).map(([i, at]) => ({ op: 'duplicate' as const, i, at })),
    fc.tuple(fc.integer({ min: 0, max: N }), fc.integer({ min: 0, max: 1 })).map(([at, key]) => ({ op: 'insertForeign' as const, at, key })),
  );
  const apply = (entries: DecisionLogEntry[], e: Edit): DecisionLogEntry[] => {
    const a = [...entries];
    if (a.length === 0) return a;
    // indices were drawn for the original length; earlier edits may have shortened the list
    const at = (i: number) => i % a.length;
    const gap = (i: number) => Math.min(i, a.length);
    switch (e.op) {
      case 'delete':
        a.splice(at(e.i), 1);
        break;
      case 'swap': {
        const [i, j] = [at(e.i), at(e.j)];
        [a[i], a[j]] = [a[j]!, a[i]!];
        break;
      }
      case 'move': {
        const moved = a.splice(at(e.from), 1)[0]!;
        a.splice(gap(e.to), 0, moved);
        break;
      }
      case 'duplicate':
        a.splice(gap(e.at), 0, structuredClone(a[at(e.i)]!));
        break;
      case 'insertForeign':
        a.splice(gap(e.at), 0, foreign[e.key]![Math.min(e.at, N - 1)]!);
        break;
    }
    return a;
  };
  const lastCheckpoint = createCheckpoint({ sequence: N - 1, entryHash: original[N - 1]!.entryHash }, signerOf(1), chainIdOf(original[0]!));

  it(
    'the first position that differs from the original is where verification fails',
    () => {
      fc.assert(
        fc.property(fc.array(editArb, { minLength: 1, maxLength: 3 }), (edits) => {
          const edited = edits.reduce(apply, original);
          expect(edited.every((e) => e !== undefined)).toBe(true);
          let first = 0;
          while (first < edited.length && first < N && edited[first]!.entryHash === original[first]!.entryHash) first++;
          const plain = verifyChain(edited, KEY);
          const withCheckpoint = verifyChain(edited, KEY, { checkpoints: [lastCheckpoint] });
          if (edited[0]?.entryHash === foreign[1]![0]!.entryHash) {
            // another chain's genesis by the same key: a valid start on its own, a swapped log against the checkpoint
            expect(withCheckpoint).toMatchObject({ ok: false, sequence: 0, reason: 'swapped_log' });
          } else if (first === edited.length && first === N) {
            expect(plain.ok).toBe(true); // the edits cancelled out
            expect(withCheckpoint.ok).toBe(true);
          } else if (first === edited.length) {
            // a strict prefix: only a checkpoint can tell
            expect(plain).toEqual({ ok: true, count: first });
            expect(withCheckpoint).toMatchObject({ ok: false, sequence: first, reason: 'truncated' });
          } else {
            expect(plain).toMatchObject({ ok: false, sequence: first });
            expect(withCheckpoint).toMatchObject({ ok: false, sequence: first });
          }
        }),
        runs(500),
      );
    },
    TIMEOUT,
  );

  it('a deleted tail is only visible with a checkpoint', () => {
    for (let cut = 0; cut < N; cut++) {
      expect(verifyChain(original.slice(0, cut), KEY)).toEqual({ ok: true, count: cut });
      expect(verifyChain(original.slice(0, cut), KEY, { checkpoints: [lastCheckpoint] })).toMatchObject({ ok: false, sequence: cut, reason: 'truncated' });
    }
  });

  it('computeEntryHash is what the chain stores', () => {
    for (const e of original) expect(computeEntryHash(e)).toBe(e.entryHash);
  });
});
