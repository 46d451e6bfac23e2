import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BYTE_BOUND_BUDGET, BYTE_BOUND_TEXT_LIMIT, warmTokenizerLater } from '../../src/register/tokenizer-warmup.js';

const req = createRequire(import.meta.url);
const ENCODING = 'gpt-tokenizer/encoding/o200k_base';
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('register: the o200k tokenizer is not loaded on the first call path', () => {
  it('the stand-in counts short texts as their UTF-8 bytes, loads the real table for a long text, and bytes bound the real count', () => {
    warmTokenizerLater(60_000);
    const file = req.resolve(ENCODING);
    const { countTokens, encodeGenerator } = req(ENCODING) as { countTokens: (t: string) => number; encodeGenerator: (t: string) => Iterable<number[]> };
    const generated = (t: string) => [...encodeGenerator(t)].reduce((n, tokens) => n + tokens.length, 0);
    // Nothing of the tokenizer package is loaded yet but the stand-in.
    const loaded = () => Object.keys(req.cache).filter((f) => f.includes(`${'/'}gpt-tokenizer${'/'}`) && f !== file);
    expect(loaded()).toEqual([]);

    expect(countTokens('Say hello in five words.')).toBe(bytes('Say hello in five words.'));
    expect(countTokens('héllo 😀')).toBe(bytes('héllo 😀'));
    // The estimate's streaming counter gets the same answer.
    expect(generated('Plan the trip.')).toBe(bytes('Plan the trip.'));
    expect(loaded()).toEqual([]);

    // A long text is counted exactly: the real table is loaded then, not later.
    const long = 'The traveller prefers quiet hotels near the old town. '.repeat(40);
    expect(bytes(long)).toBeGreaterThan(BYTE_BOUND_TEXT_LIMIT);
    const exact = countTokens(long);
    expect(loaded().length).toBeGreaterThan(0);
    expect(exact).toBeLessThan(bytes(long) / 3);
    // From now on every count is exact: a short text too.
    expect(countTokens('Say hello in five words.')).toBeLessThan(bytes('Say hello in five words.'));
    expect(generated(long)).toBe(exact);

    // The bound the stand-in relies on: a token is at least one byte, for any text.
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 200 }), fc.string({ maxLength: 500 })),
        (text) => {
          expect(countTokens(text)).toBeLessThanOrEqual(bytes(text));
        },
      ),
      { numRuns: 300 },
    );
    expect(BYTE_BOUND_BUDGET).toBeGreaterThanOrEqual(BYTE_BOUND_TEXT_LIMIT);
  });
});
