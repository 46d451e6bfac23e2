import fc from 'fast-check';

/** Keys that stress sort order: ASCII, astral (emoji), and U+E000–U+FFFF, where UTF-16 and code-point order disagree. */
export const keyArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.string({ unit: 'grapheme', maxLength: 3 }),
  fc.constantFrom('', 'a', 'A', '\u00e9', '\ue000', '\uffff', '\ufb01', '😀', '𝄞', '\u2028', '\u0000', '"', '\\', '__proto__', 'constructor', '1', '10', '-1'),
);

export const stringArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.constantFrom('', '\u0000\u001f\u007f', '\b\f\n\r\t', '\u2028\u2029', '"\\/', '😀\ue000\uffff', 'é', '\u0301e'),
);

/** Safe integers, weighted to the edges. */
export const intArb = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.maxSafeInteger(),
  fc.constantFrom(0, -0, 1, -1, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 52),
);

/** Non-integer doubles JCS must print exactly as ECMAScript does, incl. subnormals and the extremes below 2^53. */
export const fractionArb = fc.oneof(
  fc.double({ min: -(2 ** 53), max: 2 ** 53, noNaN: true }).filter((x) => !Number.isInteger(x)),
  fc.double({ min: -1e-300, max: 1e-300, noNaN: true }).filter((x) => x !== 0),
  fc.constantFrom(
    Number.MIN_VALUE,
    -Number.MIN_VALUE,
    2.2250738585072014e-308,
    1e-7,
    1e-6,
    0.1,
    0.1 + 0.2,
    1 / 3,
    4503599627370495.5,
    -4503599627370495.5,
    Number.EPSILON,
    333333333.3333333,
    5e-324,
  ),
);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** JSON values the decision log can carry: integers only. */
export function jsonArb(numbers: fc.Arbitrary<number>, maxDepth = 3): fc.Arbitrary<Json> {
  const { value } = fc.letrec<{ value: Json }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth },
      fc.constant(null),
      fc.boolean(),
      numbers,
      stringArb,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(keyArb, tie('value'), { maxKeys: 5 }),
    ),
  }));
  return value;
}

export const intJsonArb = jsonArb(intArb);
export const anyNumberJsonArb = jsonArb(fc.oneof(intArb, fractionArb));

/** A decision payload: an object of integer-only JSON. */
export const decisionArb = fc.dictionary(keyArb, intJsonArb, { minKeys: 1, maxKeys: 6 });

/** Replaces -0 by 0 throughout (JSON has no -0). */
export function normalizeZero(v: unknown): unknown {
  if (typeof v === 'number') return Object.is(v, -0) ? 0 : v;
  if (Array.isArray(v)) return v.map(normalizeZero);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v))
      Object.defineProperty(out, k, { value: normalizeZero((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}
