/** The single-walk fast path of canonicalJson must print exactly what `canonicalize` prints. */
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/index.js';

function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

const KEYS = ['a', 'b', 'A', '', 'é', '€', '\u{1F600}', '\uE000', 'key with space', '\u0000', '"q"', 'z\n', '10', '2'];
const NUMBERS = [0, -0, 1, -1, 1.5, 1e-6, 1e-7, 1.5e-300, 2.5e-300, 123456789.125, 4503599627370495.5, 1.7976931348623157e-308, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0.1 + 0.2, 5e-324];

function value(r: () => number, depth: number): unknown {
  const k = r();
  if (depth > 3 || k < 0.5) {
    const p = r();
    if (p < 0.3) return NUMBERS[Math.floor(r() * NUMBERS.length)];
    if (p < 0.6) return KEYS[Math.floor(r() * KEYS.length)]! + String(Math.floor(r() * 100));
    if (p < 0.7) return r() < 0.5;
    return null;
  }
  if (k < 0.75) return Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 6); i > 0; i--) o[KEYS[Math.floor(r() * KEYS.length)]!] = value(r, depth + 1);
  return o;
}

describe('canonicalJson fast path', () => {
  it('matches canonicalize on 2000 random JSON values', () => {
    const r = rng(42);
    for (let i = 0; i < 2000; i++) {
      const v = value(r, 0);
      expect(canonicalJson(v)).toBe(canonicalize(v));
    }
  });

  it('still names the path of what it cannot carry (slow path errors)', () => {
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 100; i++) cur = (cur.x = {}) as Record<string, unknown>;
    expect(canonicalJson(deep)).toBe(canonicalize(deep));
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow('$.self: circular reference');
    expect(() => canonicalJson({ a: [1, { b: NaN }] })).toThrow('$.a[1].b: NaN is not a JSON number');
    expect(() => canonicalJson({ a: undefined })).toThrow('$.a: undefined is not a JSON value');
    expect(() => canonicalJson({ d: new Date(0) })).toThrow('$.d: Date instance is not a plain JSON object');
    expect(() => canonicalJson({ n: 2 ** 53 })).toThrow('beyond');
    expect(() => canonicalJson({ ['\uD800']: 1 })).toThrow('lone surrogate in key');
  });
});
