import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openaiAdapter } from '../../../instrumentations/openai/adapter.js';
import {
  EXACT_COUNT_BUDGET,
  EXACT_COUNT_MS,
  EXACT_COUNT_WORK,
  exactCountTime,
  MAX_EXACT_RUN,
  PER_MESSAGE_OVERHEAD,
  REPLY_PRIMING,
} from '../../../instrumentations/openai/estimate.js';

type Count = (s: string, o?: { disallowedSpecial?: Set<string> }) => number;
const { countTokens } = createRequire(import.meta.url)('gpt-tokenizer/encoding/o200k_base') as { countTokens: Count };
const real = (text: string) => countTokens(text, { disallowedSpecial: new Set() });

const estimate = (model: string, messages: { role: string; content: string }[]) =>
  openaiAdapter('chat.completions').describe({ params: { model, messages }, options: undefined })!.estimatedInputTokens;
/** What the model reads: every message's text with o200k_base, plus the chat framing. */
const realCount = (messages: { content: string }[]) =>
  messages.reduce((n, m) => n + real(m.content), 0) + messages.length * PER_MESSAGE_OVERHEAD + REPLY_PRIMING;

const PROSE = 'The committee reviewed the quarterly figures and agreed to publish them next week. ';
/** Expensive text for o200k_base: rare CJK, emoji and symbols, about one token per one or two characters. */
function expensive(n: number, seed: number): string {
  let s = '';
  let x = seed;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const pick = x % 4;
    s +=
      pick === 0
        ? String.fromCodePoint(0x4e00 + (x % 20_000))
        : pick === 1
          ? String.fromCodePoint(0x1f300 + (x % 700))
          : pick === 2
            ? String.fromCharCode(0x21 + (x % 94))
            : String.fromCodePoint(0xac00 + (x % 11_000));
  }
  return s.slice(0, n);
}

describe('openai input estimate: an upper bound for any text', () => {
  it('cheap text where a sampler would look, expensive text everywhere else', () => {
    // Prose at the start, the middle and the end; dense symbols in between.
    const piece = (n: number) => PROSE.repeat(Math.ceil(n / PROSE.length)).slice(0, n);
    const text = piece(2_000) + expensive(47_000, 1) + piece(2_000) + expensive(47_000, 2) + piece(2_000);
    const messages = [{ role: 'user', content: text }];
    const counted = realCount(messages);
    expect(counted).toBeGreaterThan(60_000);
    expect(estimate('gpt-4o', messages)).toBeGreaterThanOrEqual(counted);
  });

  it('estimate ≥ the real o200k_base count for every generated prompt (fast-check)', () => {
    const text = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 400 }),
      fc.string({ unit: 'binary', maxLength: 400 }),
      fc.constantFrom(PROSE, '<|endoftext|>', '<|im_start|>system', '\u0000\u001f', ' '.repeat(300), '😀'.repeat(50)),
      fc.tuple(fc.nat({ max: 40_000 }), fc.nat()).map(([n, seed]) => expensive(n, seed)),
      fc.nat({ max: 40_000 }).map((n) => PROSE.repeat(Math.ceil(n / PROSE.length)).slice(0, n)),
    );
    // Several texts per message: slices that straddle the exact-count budget.
    const message = fc.array(text, { minLength: 1, maxLength: 4 }).map((parts) => ({ role: 'user', content: parts.join('') }));
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 4 }),
        fc.constantFrom('gpt-4o', 'gpt-4.1-mini', 'o3', 'gpt-4', 'gpt-3.5-turbo'),
        (messages, model) => {
          expect(estimate(model, messages)).toBeGreaterThanOrEqual(realCount(messages));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('within the budget the count is exact; beyond it, the UTF-8 size', () => {
    exactCountTime.ms = Infinity; // exact counts asserted: a loaded machine could run past the time budget
    try {
      const prose = PROSE.repeat(Math.ceil(EXACT_COUNT_BUDGET / PROSE.length));
      const within = [{ role: 'user', content: prose.slice(0, EXACT_COUNT_BUDGET) }];
      expect(estimate('gpt-4o', within)).toBe(realCount(within));
      const beyond = [{ role: 'user', content: prose.slice(0, EXACT_COUNT_BUDGET) + '!' }];
      expect(estimate('gpt-4o', beyond)).toBe(Buffer.byteLength(beyond[0]!.content) + PER_MESSAGE_OVERHEAD + REPLY_PRIMING);
    } finally {
      exactCountTime.ms = EXACT_COUNT_MS;
    }
  });

  it('past the time budget, the UTF-8 size takes over (still a bound)', () => {
    exactCountTime.ms = -1; // already past: nothing new is tokenized
    try {
      const fresh = [{ role: 'user', content: PROSE.repeat(20) + 'a text this file has not counted before' }];
      expect(estimate('gpt-4o', fresh)).toBe(Buffer.byteLength(fresh[0]!.content) + PER_MESSAGE_OVERHEAD + REPLY_PRIMING);
    } finally {
      exactCountTime.ms = EXACT_COUNT_MS;
    }
  });

  it('the work budget depends on the text alone: the same call is estimated the same way on any machine', () => {
    exactCountTime.ms = Infinity; // no clock at all: only the work budget may stop exact counting
    try {
      // Prose within the character budget costs a fraction of the work budget: exact.
      const prose = [{ role: 'user', content: PROSE.repeat(1800) + ' first' }];
      expect(estimate('gpt-4o', prose)).toBe(realCount(prose));
      // Text whose pre-tokens are many tokens each runs out of work: its UTF-8 size, a bound.
      // Words of 200 rare CJK characters: ~200 tokens a word, ~40,000 units of work each.
      const word = (i: number) => Array.from({ length: 200 }, (_, j) => String.fromCodePoint(0x4e00 + ((i * 7919 + j * 104_729) % 20_000))).join('');
      const hostile = Array.from({ length: Math.ceil((EXACT_COUNT_WORK / 40_000) * 2) }, (_, i) => word(i)).join(' ');
      expect(hostile.length).toBeLessThan(EXACT_COUNT_BUDGET);
      const heavy = [{ role: 'user', content: hostile }];
      const got = estimate('gpt-4o', heavy);
      expect(got).toBe(Buffer.byteLength(hostile) + PER_MESSAGE_OVERHEAD + REPLY_PRIMING);
      expect(got).toBeGreaterThanOrEqual(realCount(heavy));
    } finally {
      exactCountTime.ms = EXACT_COUNT_MS;
    }
  });

  it('a run too long to tokenize cheaply (BPE time grows with its square) is counted at its UTF-8 size', () => {
    const run = [{ role: 'user', content: 'Translate: ' + expensive(MAX_EXACT_RUN + 1, 5).replace(/[\s\x21-\x40\x5b-\x60\x7b-\x7e]/g, '漢') }];
    expect(estimate('gpt-4o', run)).toBe(Buffer.byteLength(run[0]!.content) + PER_MESSAGE_OVERHEAD + REPLY_PRIMING);
    const short = [{ role: 'user', content: 'Translate: ' + '漢'.repeat(MAX_EXACT_RUN) }];
    exactCountTime.ms = Infinity;
    try {
      expect(estimate('gpt-4o', short)).toBe(realCount(short));
    } finally {
      exactCountTime.ms = EXACT_COUNT_MS;
    }
  });
});
