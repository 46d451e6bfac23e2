import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { CanonicalizationError } from '../../src/index.js';
import { canonicalJson } from '../../src/audit/canonical-json.js';

/** The IEEE 754 double with these 64 bits (big-endian hex). */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

const utf8Hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

describe('canonicalJson: RFC 8785 examples', () => {
  // RFC 8785 §3.2.2 sample input, as JSON text (so the number literals go through JSON.parse).
  const rfcSampleText =
    '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n' +
    '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n' +
    '  "literals": [null, true, false]\n}';
  const rfcSampleOutput = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
  // RFC 8785 §3.2.4 (UTF-8 of the sample output), as printed in the RFC.
  const rfcSampleHex = `
    7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
    75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
    5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
    65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
    5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
    30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d`.replace(/\s+/g, '');

  it('the serializer reproduces the §3.2.2 sample byte for byte', () => {
    const out = canonicalize(JSON.parse(rfcSampleText)) as string;
    expect(out).toBe(rfcSampleOutput);
    expect(utf8Hex(out)).toBe(rfcSampleHex);
  });

  it('canonicalJson rejects the sample only for 1E30 (an integer beyond 2^53-1), naming its path', () => {
    expect(() => canonicalJson(JSON.parse(rfcSampleText))).toThrow(CanonicalizationError);
    expect(() => canonicalJson(JSON.parse(rfcSampleText))).toThrow(/^\$\.numbers\[1\]: integer 1e\+30 is beyond/);
    const withoutBig = JSON.parse(rfcSampleText);
    withoutBig.numbers.splice(1, 1);
    expect(canonicalJson(withoutBig)).toBe(rfcSampleOutput.replace('1e+30,', ''));
  });

  it('sorts keys by UTF-16 code units as in §3.2.3', () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",' +
        '"\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
    );
    const out = canonicalJson(input);
    expect(out).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    // The order of the property names in the output text, as the RFC lists it
    // (read from the text: Object.keys would move the integer-like key "1" first).
    const names = [...out.matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
    expect(names.map((k) => [...k].map((c) => c.codePointAt(0)!.toString(16)).join('+'))).toEqual(['d', '31', '80', 'f6', '20ac', '1f600', 'fb33']);
  });

  it('an emoji key (surrogates D83D..) sorts before U+E000 and U+FFFF keys, unlike code-point order', () => {
    expect(canonicalJson({ '\uffff': 2, '\ue000': 3, '😀': 1 })).toBe('{"😀":1,"\ue000":3,"\uffff":2}');
    // Code-point order would put U+E000 first: make sure we are not doing that.
    expect([...['\ue000', '😀']].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!)).toEqual(['\ue000', '😀']);
  });

  it('sorts nested objects, leaves array order alone, and emits no whitespace', () => {
    expect(canonicalJson({ b: [3, 1, { z: 1, a: 2 }], a: { d: null, c: true } })).toBe('{"a":{"c":true,"d":null},"b":[3,1,{"a":2,"z":1}]}');
  });
});

describe('canonicalJson: RFC 8785 Appendix B number samples', () => {
  // [IEEE 754 bits, expected JSON] from RFC 8785 Appendix B (finite rows).
  const rows: [string, string][] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];

  it.each(rows)('bits %s serialize as %s (the serializer)', (bits, expected) => {
    expect(canonicalize(fromBits(bits))).toBe(expected);
  });

  it.each(rows)('canonicalJson(bits %s): %s, or an error when it is an integer beyond ±(2^53−1)', (bits, expected) => {
    const n = fromBits(bits);
    if (Number.isInteger(n) && Math.abs(n) > Number.MAX_SAFE_INTEGER) {
      expect(() => canonicalJson({ n })).toThrow(/^\$\.n: integer .* is beyond ±\(2\^53−1\)/);
    } else {
      expect(canonicalJson({ n })).toBe(`{"n":${expected}}`);
    }
  });

  it('the rows beyond the safe-integer range are exactly the ones we expect to reject', () => {
    const rejected = rows.filter(([bits]) => {
      try {
        canonicalJson(fromBits(bits));
        return false;
      } catch {
        return true;
      }
    });
    expect(rejected.map(([, s]) => s)).toEqual([
      '1.7976931348623157e+308',
      '-1.7976931348623157e+308',
      '9007199254740992',
      '-9007199254740992',
      '295147905179352830000',
      '9.999999999999997e+22',
      '1e+23',
      '1.0000000000000001e+23',
      '999999999999999700000',
      '999999999999999900000',
      '1e+21',
    ]);
  });

  it('prints numbers as ECMAScript does', () => {
    expect(canonicalJson([1.0, 1e-6, 1e-7, -0, 0.1, 100, 1.5e-10, 123456789012345.6])).toBe('[1,0.000001,1e-7,0,0.1,100,1.5e-10,123456789012345.6]');
    expect(canonicalJson(Number.MAX_SAFE_INTEGER)).toBe('9007199254740991');
    expect(canonicalJson(Number.MIN_SAFE_INTEGER)).toBe('-9007199254740991');
  });

  it('NaN and ±Infinity are RFC 8785 errors (Appendix B rows 7fffffffffffffff and 7ff0000000000000)', () => {
    expect(() => canonicalJson(fromBits('7fffffffffffffff'))).toThrow(/^\$: NaN is not a JSON number/);
    expect(() => canonicalJson(fromBits('7ff0000000000000'))).toThrow(/^\$: Infinity is not a JSON number/);
    expect(() => canonicalJson({ a: [1, -Infinity] })).toThrow(/^\$\.a\[1\]: -Infinity is not a JSON number/);
  });

  it('integers one past ±(2^53−1) are errors that say to send them as strings', () => {
    expect(() => canonicalJson({ cents: 2 ** 53 })).toThrow(/^\$\.cents: integer 9007199254740992 .*send it as a string/);
    expect(() => canonicalJson({ cents: -(2 ** 53) })).toThrow(/^\$\.cents: integer -9007199254740992/);
    expect(canonicalJson({ cents: '9007199254740993' })).toBe('{"cents":"9007199254740993"}');
  });
});

describe('canonicalJson: strings', () => {
  it('escapes only what JSON requires, with lowercase \\u00xx for other controls', () => {
    const s = '\u0000\u0001\u0008\u0009\u000a\u000c\u000d\u001f\u0020"\\/\u007f\u2028\u2029é😀';
    expect(canonicalJson(s)).toBe('"\\u0000\\u0001\\b\\t\\n\\f\\r\\u001f \\"\\\\/\u007f\u2028\u2029é😀"');
  });

  it('keeps combining characters as they are (no Unicode normalization)', () => {
    const decomposed = 'e\u0301';
    const composed = '\u00e9';
    expect(canonicalJson(decomposed)).toBe('"e\u0301"');
    expect(canonicalJson(composed)).not.toBe(canonicalJson(decomposed));
  });

  it('rejects lone surrogates in values and keys, naming the path', () => {
    expect(() => canonicalJson({ a: ['ok', 'x\ud800'] })).toThrow(/^\$\.a\[1\]: lone surrogate in string/);
    expect(() => canonicalJson({ a: '\udc00' })).toThrow(/^\$\.a: lone surrogate/);
    expect(() => canonicalJson({ nested: { ['k\ud83d']: 1 } })).toThrow(/^\$\.nested: lone surrogate in key "k\\ud83d"/);
    // A proper pair is fine.
    expect(canonicalJson({ k: '\ud83d\ude00' })).toBe('{"k":"😀"}');
  });
});

describe('canonicalJson: only plain JSON values', () => {
  class Thing {
    x = 1;
  }
  const cases: [string, unknown, RegExp][] = [
    ['Date', { when: new Date(0) }, /^\$\.when: Date instance is not a plain JSON object/],
    ['Map', { m: new Map([['a', 1]]) }, /^\$\.m: Map instance/],
    ['Set', [new Set([1])], /^\$\[0\]: Set instance/],
    ['class instance', { deep: { t: new Thing() } }, /^\$\.deep\.t: Thing instance/],
    ['undefined', { a: 1, u: undefined }, /^\$\.u: undefined is not a JSON value/],
    ['function', { f: () => 1 }, /^\$\.f: function is not a JSON value/],
    ['bigint', { b: 1n }, /^\$\.b: bigint is not a JSON value/],
    ['symbol', [Symbol('s')], /^\$\[0\]: symbol is not a JSON value/],
    ['toJSON object', { j: { toJSON: () => 'x' } }, /^\$\.j\.toJSON: function is not a JSON value/],
    // eslint-disable-next-line no-sparse-arrays
    ['array hole', { arr: [1, , 3] }, /^\$\.arr\[1\]: undefined is not a JSON value/],
    ['boxed number', { n: new Number(1) }, /^\$\.n: Number instance/],
  ];
  it.each(cases)('%s is rejected with its path', (_name, value, message) => {
    expect(() => canonicalJson(value)).toThrow(CanonicalizationError);
    expect(() => canonicalJson(value)).toThrow(message);
  });

  it('a top-level undefined is rejected', () => {
    expect(() => canonicalJson(undefined)).toThrow(/^\$: undefined is not a JSON value/);
  });

  it('cycles are rejected with the path where the cycle closes', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = { back: a };
    expect(() => canonicalJson(a)).toThrow(/^\$\.self\.back: circular reference/);
    const arr: unknown[] = [1];
    arr.push(arr);
    expect(() => canonicalJson(arr)).toThrow(/^\$\[1\]: circular reference/);
  });

  it('a shared (non-cyclic) reference is fine', () => {
    const shared = { v: 1 };
    expect(canonicalJson({ a: shared, b: [shared] })).toBe('{"a":{"v":1},"b":[{"v":1}]}');
  });

  it('null-prototype objects are plain', () => {
    const o = Object.create(null) as Record<string, number>;
    o.b = 2;
    o.a = 1;
    expect(canonicalJson(o)).toBe('{"a":1,"b":2}');
  });
});
