/**
 * Canonical-JSON vectors checked against the Python port, byte for byte.
 *
 * `jcs` is our RFC 8785 output (canonicalJson), `entry` our log wire form
 * (entryCanonicalJson, the entry-hash input), `python` what the port's
 * canonical_json must print — or `raises` when it must refuse. A value given
 * as `{ $float: '1.0' }` / `{ $int: '…' }` reaches Python as a float / an exact
 * int (JSON alone cannot say 1.0 or carry a big int to JavaScript).
 */
export interface CanonicalVector {
  name: string;
  /** Integer-only and free of UTF-16/code-point order conflicts: all three forms must be equal. */
  kind: 'same' | 'key_order' | 'float' | 'big_int' | 'invalid' | 'lone_surrogate';
  value: unknown;
  /** Our JavaScript value, where it differs from `value` (floats, big ints, lone surrogates). */
  js?: unknown;
  jcs: string | null;
  entry: string | null;
  python: string | null;
}

const F = (s: string) => ({ $float: s });

export const VECTORS: CanonicalVector[] = [
  { name: 'empty object', kind: 'same', value: {}, jcs: '{}', entry: '{}', python: '{}' },
  { name: 'empty array', kind: 'same', value: [], jcs: '[]', entry: '[]', python: '[]' },
  { name: 'literals', kind: 'same', value: [true, false, null], jcs: '[true,false,null]', entry: '[true,false,null]', python: '[true,false,null]' },
  {
    name: 'keys sorted',
    kind: 'same',
    value: { b: 1, a: [true, null, 'x'] },
    jcs: '{"a":[true,null,"x"],"b":1}',
    entry: '{"a":[true,null,"x"],"b":1}',
    python: '{"a":[true,null,"x"],"b":1}',
  },
  {
    name: 'integer edges',
    kind: 'same',
    value: [0, -1, 1, 2147483648, -2147483648, 4294967296, 9007199254740991, -9007199254740991],
    jcs: '[0,-1,1,2147483648,-2147483648,4294967296,9007199254740991,-9007199254740991]',
    entry: '[0,-1,1,2147483648,-2147483648,4294967296,9007199254740991,-9007199254740991]',
    python: '[0,-1,1,2147483648,-2147483648,4294967296,9007199254740991,-9007199254740991]',
  },
  {
    name: 'control characters',
    kind: 'same',
    value: '\u0000\u0001\u001f\b\f\n\r\t\u007f',
    jcs: '"\\u0000\\u0001\\u001f\\b\\f\\n\\r\\t\u007f"',
    entry: '"\\u0000\\u0001\\u001f\\b\\f\\n\\r\\t\u007f"',
    python: '"\\u0000\\u0001\\u001f\\b\\f\\n\\r\\t\u007f"',
  },
  { name: 'quote, backslash, slash', kind: 'same', value: '"\\/', jcs: '"\\"\\\\/"', entry: '"\\"\\\\/"', python: '"\\"\\\\/"' },
  {
    name: 'non-ASCII printed raw',
    kind: 'same',
    value: 'café ☕ 😀 \u2028\u2029 \ue000 \uffff',
    jcs: '"café ☕ 😀 \u2028\u2029 \ue000 \uffff"',
    entry: '"café ☕ 😀 \u2028\u2029 \ue000 \uffff"',
    python: '"café ☕ 😀 \u2028\u2029 \ue000 \uffff"',
  },
  {
    name: 'no Unicode normalization',
    kind: 'same',
    value: ['\u00e9', 'e\u0301'],
    jcs: '["\u00e9","e\u0301"]',
    entry: '["\u00e9","e\u0301"]',
    python: '["\u00e9","e\u0301"]',
  },
  {
    name: 'BMP and astral keys that agree',
    kind: 'same',
    value: { '😀': 1, '\u20ac': 2, z: 3, '': 4 },
    jcs: '{"":4,"z":3,"\u20ac":2,"😀":1}',
    entry: '{"":4,"z":3,"\u20ac":2,"😀":1}',
    python: '{"":4,"z":3,"\u20ac":2,"😀":1}',
  },
  {
    name: 'integer-like keys sort as strings',
    kind: 'same',
    value: { '10': 1, '9': 2, '1': 3, '-1': 4 },
    jcs: '{"-1":4,"1":3,"10":1,"9":2}',
    entry: '{"-1":4,"1":3,"10":1,"9":2}',
    python: '{"-1":4,"1":3,"10":1,"9":2}',
  },
  {
    name: 'nested',
    kind: 'same',
    value: { z: { y: [{ b: 2, a: 1 }, []], x: {} }, a: 'é' },
    jcs: '{"a":"é","z":{"x":{},"y":[{"a":1,"b":2},[]]}}',
    entry: '{"a":"é","z":{"x":{},"y":[{"a":1,"b":2},[]]}}',
    python: '{"a":"é","z":{"x":{},"y":[{"a":1,"b":2},[]]}}',
  },
  {
    name: 'a decision as the log carries it',
    kind: 'same',
    value: {
      entryType: 'decision',
      decisionId: 'd-1',
      projectedCents: 112241,
      triggeredCap: { amountCents: 50000, window: 'per_day', action: 'block', reason: 'Hard daily ceiling' },
      reasons: ["Cap 'per_day=50000c' exceeded", 'café ☕ \u2028 "q" \\ \n'],
      actor: { tenantId: 'acme' },
    },
    jcs: '{"actor":{"tenantId":"acme"},"decisionId":"d-1","entryType":"decision","projectedCents":112241,"reasons":["Cap \'per_day=50000c\' exceeded","café ☕ \u2028 \\"q\\" \\\\ \\n"],"triggeredCap":{"action":"block","amountCents":50000,"reason":"Hard daily ceiling","window":"per_day"}}',
    entry:
      '{"actor":{"tenantId":"acme"},"decisionId":"d-1","entryType":"decision","projectedCents":112241,"reasons":["Cap \'per_day=50000c\' exceeded","café ☕ \u2028 \\"q\\" \\\\ \\n"],"triggeredCap":{"action":"block","amountCents":50000,"reason":"Hard daily ceiling","window":"per_day"}}',
    python:
      '{"actor":{"tenantId":"acme"},"decisionId":"d-1","entryType":"decision","projectedCents":112241,"reasons":["Cap \'per_day=50000c\' exceeded","café ☕ \u2028 \\"q\\" \\\\ \\n"],"triggeredCap":{"action":"block","amountCents":50000,"reason":"Hard daily ceiling","window":"per_day"}}',
  },
  // -- documented differences ------------------------------------------------
  {
    name: 'U+E000 vs emoji key (UTF-16 order ≠ code-point order)',
    kind: 'key_order',
    value: { '\ue000': 1, '😀': 2 },
    jcs: '{"😀":2,"\ue000":1}',
    entry: '{"\ue000":1,"😀":2}',
    python: '{"\ue000":1,"😀":2}',
  },
  {
    name: 'U+FFFF vs U+10000 inside keys',
    kind: 'key_order',
    value: { 'a\uffff': 1, 'a𐀀': 2, a: 3 },
    jcs: '{"a":3,"a𐀀":2,"a\uffff":1}',
    entry: '{"a":3,"a\uffff":1,"a𐀀":2}',
    python: '{"a":3,"a\uffff":1,"a𐀀":2}',
  },
  { name: 'float 1.0', kind: 'float', value: { a: F('1.0') }, js: { a: 1.0 }, jcs: '{"a":1}', entry: '{"a":1}', python: null },
  { name: 'float 0.5', kind: 'float', value: [F('0.5')], js: [0.5], jcs: '[0.5]', entry: null, python: null },
  { name: 'float 1e-7', kind: 'float', value: F('1e-7'), js: 1e-7, jcs: '1e-7', entry: null, python: null },
  { name: 'float -0.0', kind: 'float', value: F('-0.0'), js: -0, jcs: '0', entry: '0', python: null },
  { name: 'integer 2^53', kind: 'big_int', value: { $int: '9007199254740992' }, js: 2 ** 53, jcs: null, entry: null, python: '9007199254740992' },
  {
    name: 'integer 10^30',
    kind: 'big_int',
    value: { $int: '1000000000000000000000000000000' },
    js: 1e30,
    jcs: null,
    entry: null,
    python: '1000000000000000000000000000000',
  },
  { name: 'NaN', kind: 'invalid', value: F('nan'), js: Number.NaN, jcs: null, entry: null, python: null },
  { name: 'Infinity', kind: 'invalid', value: F('inf'), js: Infinity, jcs: null, entry: null, python: null },
  // the port's canonical_json returns text holding the lone surrogate; only its UTF-8 encoding (for the hash) then fails
  { name: 'lone surrogate in a string', kind: 'lone_surrogate', value: 'a\ud800', jcs: null, entry: null, python: '"a\ud800"' },
  { name: 'lone surrogate in a key', kind: 'lone_surrogate', value: { '\udc00': 1 }, jcs: null, entry: null, python: '{"\udc00":1}' },
];
