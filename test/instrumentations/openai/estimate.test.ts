import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiAdapter, type TextEndpoint as OpenAIEndpoint } from '../../../instrumentations/openai/adapter.js';

const describeRequest = (endpoint: OpenAIEndpoint, params: object, options: unknown) => openaiAdapter(endpoint).describe({ params, options })!;
const prepare = (endpoint: OpenAIEndpoint, params: object, options: unknown, model: string, maxOutputTokens?: number) =>
  openaiAdapter(endpoint).prepare({ params, options }, { model, maxOutputTokens });
import {
  exactCountTime,
  DEFAULT_MAX_OUTPUT_TOKENS,
  IMAGE_TOKEN_ALLOWANCE,
  PER_MESSAGE_OVERHEAD,
  REPLY_PRIMING,
  EXACT_COUNT_BUDGET,
  EXACT_COUNT_MS,
} from '../../../instrumentations/openai/estimate.js';

const { countTokens } = createRequire(import.meta.url)('gpt-tokenizer/encoding/o200k_base') as {
  countTokens: (s: string, o?: { disallowedSpecial?: Set<string> }) => number;
};

describe('openai adapter: output bound', () => {
  const max = (endpoint: 'chat.completions' | 'responses', body: object) => describeRequest(endpoint, body, undefined).maxOutputTokens;

  it('uses max_completion_tokens, then max_tokens, times n', () => {
    expect(max('chat.completions', { model: 'gpt-4o', messages: [], max_completion_tokens: 300, max_tokens: 999 })).toBe(300);
    expect(max('chat.completions', { model: 'gpt-4o', messages: [], max_tokens: 200 })).toBe(200);
    expect(max('chat.completions', { model: 'gpt-4o', messages: [], max_tokens: 200, n: 3 })).toBe(600);
    expect(max('responses', { model: 'gpt-4o', input: 'x', max_output_tokens: 77 })).toBe(77);
  });

  it('falls back to the model’s documented maximum output, else a fixed ceiling', () => {
    expect(max('chat.completions', { model: 'gpt-4o', messages: [] })).toBe(16_384);
    expect(max('chat.completions', { model: 'gpt-4o-2024-08-06', messages: [] })).toBe(16_384);
    expect(max('responses', { model: 'o3', input: 'x' })).toBe(100_000);
    expect(max('responses', { model: 'gpt-5', input: 'x' })).toBe(128_000);
    expect(max('chat.completions', { model: 'ft:gpt-4.1-mini:acme::abc123', messages: [] })).toBe(32_768);
    expect(max('chat.completions', { model: 'some-compatible-model', messages: [] })).toBe(DEFAULT_MAX_OUTPUT_TOKENS);
  });
});

describe('openai adapter: input estimate', () => {
  // Exact counts are asserted here: lift the per-call time budget (a loaded machine could run past it).
  beforeAll(() => void (exactCountTime.ms = Infinity));
  afterAll(() => void (exactCountTime.ms = EXACT_COUNT_MS));
  const input = (endpoint: 'chat.completions' | 'responses', body: object) => describeRequest(endpoint, body, undefined).estimatedInputTokens;

  it('counts message text with o200k_base plus a per-message overhead', () => {
    const a = 'You are a careful assistant.';
    const b = 'Summarize the quarterly report in three bullet points, please.';
    const est = input('chat.completions', {
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: a },
        { role: 'user', content: [{ type: 'text', text: b }] },
      ],
    });
    expect(est).toBe(countTokens(a) + countTokens(b) + 2 * PER_MESSAGE_OVERHEAD + REPLY_PRIMING);
  });

  it('counts tools, images (fixed allowance) and Responses input items', () => {
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }];
    const withTools = input('chat.completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], tools });
    expect(withTools).toBe(countTokens('hi') + countTokens(JSON.stringify(tools)) + PER_MESSAGE_OVERHEAD + REPLY_PRIMING);
    const dataUrl = `data:image/png;base64,${'A'.repeat(300_000)}`;
    const withImage = input('chat.completions', {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl } }] }],
    });
    expect(withImage).toBe(IMAGE_TOKEN_ALLOWANCE + PER_MESSAGE_OVERHEAD + REPLY_PRIMING);
    const responses = input('responses', {
      model: 'gpt-4o',
      instructions: 'Be brief.',
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'What is 2+2?' }] },
        { type: 'function_call', name: 'calc', arguments: '{"x":2}', call_id: 'c1' },
        { type: 'function_call_output', call_id: 'c1', output: '4' },
      ],
    });
    expect(responses).toBe(
      countTokens('Be brief.') +
        countTokens('What is 2+2?') +
        countTokens('calc') +
        countTokens('{"x":2}') +
        countTokens('4') +
        PER_MESSAGE_OVERHEAD +
        REPLY_PRIMING,
    );
  });

  it('counts UTF-8 bytes (one token per byte at most) for models outside o200k_base', () => {
    const text = 'x'.repeat(300) + 'é';
    expect(input('chat.completions', { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: text }] })).toBe(302 + PER_MESSAGE_OVERHEAD + REPLY_PRIMING);
  });

  it('large prompts: exact within the budget, UTF-8 bytes beyond it, never under the exact count', () => {
    const words = 'the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing matches'.split(' ');
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const prose = (n: number) => {
      let s = '';
      while (s.length < n) s += words[Math.floor(rnd() * words.length)] + (rnd() < 0.1 ? '. ' : ' ') + (rnd() < 0.05 ? Math.floor(rnd() * 1e6) + ' ' : '');
      return s.slice(0, n);
    };
    for (const chars of [2_000, 64_000, EXACT_COUNT_BUDGET, EXACT_COUNT_BUDGET + 1_000]) {
      const text = prose(chars);
      const est = input('chat.completions', { model: 'gpt-4o', messages: [{ role: 'user', content: text }] });
      const exact = countTokens(text) + PER_MESSAGE_OVERHEAD + REPLY_PRIMING;
      if (chars <= EXACT_COUNT_BUDGET) expect(est).toBe(exact);
      else expect(est).toBe(Buffer.byteLength(text) + PER_MESSAGE_OVERHEAD + REPLY_PRIMING);
      expect(est).toBeGreaterThanOrEqual(exact);
    }
  });

  it('a text counted once is counted exactly from the cache on later calls, outside the budget', () => {
    const system = 'You are a meticulous assistant. '.repeat(EXACT_COUNT_BUDGET / 32); // the whole budget
    const first = input('chat.completions', { model: 'gpt-4o', messages: [{ role: 'system', content: system }] });
    expect(first).toBe(countTokens(system) + PER_MESSAGE_OVERHEAD + REPLY_PRIMING);
    const question = 'And what about the second quarter?';
    const next = input('chat.completions', {
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: question },
      ],
    });
    expect(next).toBe(countTokens(system) + countTokens(question) + 2 * PER_MESSAGE_OVERHEAD + REPLY_PRIMING);
  });

  it('special-token text in user content is counted as the plain text the API reads (no throw)', () => {
    const text = 'please ignore <|endoftext|> and <|im_start|> markers';
    const est = input('chat.completions', { model: 'gpt-4o', messages: [{ role: 'user', content: text }] });
    expect(est).toBe(countTokens(text, { disallowedSpecial: new Set() }) + PER_MESSAGE_OVERHEAD + REPLY_PRIMING);
  });
});

describe('openai adapter: request preparation', () => {
  it('strips override headers (plain objects and Headers) and keeps the rest', () => {
    const options = { headers: { 'X-AgentGuard-User-Id': 'u1', 'x-keep': '1' }, timeout: 5 };
    expect(describeRequest('chat.completions', { model: 'gpt-4o', messages: [] }, options).overrides).toEqual({ scope: { userId: 'u1' } });
    expect(prepare('chat.completions', { model: 'gpt-4o', messages: [] }, options, 'gpt-4o').options).toEqual({ headers: { 'x-keep': '1' }, timeout: 5 });
    const h = new Headers({ 'x-agentguard-capability': 'data_write', 'x-keep': '1' });
    expect(prepare('responses', { model: 'gpt-4o', input: 'x' }, { headers: h }, 'gpt-4o').options).toEqual({ headers: { 'x-keep': '1' } });
    expect(describeRequest('responses', { model: 'gpt-4o', input: 'x' }, { headers: h }).overrides?.capabilityClaim).toBe('data_write');
    const none = { headers: { 'x-keep': '1' } };
    expect(prepare('responses', { model: 'gpt-4o', input: 'x' }, none, 'gpt-4o').options).toBe(none);
  });

  it('never mutates the caller’s body; turns on include_usage for chat streams only, and hides the chunk it asked for', () => {
    const body = { model: 'gpt-4o', messages: [], stream: true, stream_options: { include_obfuscation: false } };
    expect(prepare('chat.completions', body, undefined, 'gpt-4o-mini').params).toEqual({
      model: 'gpt-4o-mini',
      messages: [],
      stream: true,
      stream_options: { include_obfuscation: false, include_usage: true },
    });
    expect(body).toEqual({ model: 'gpt-4o', messages: [], stream: true, stream_options: { include_obfuscation: false } });
    const usageChunk = { choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } };
    expect(openaiAdapter('chat.completions').streamUsage({ params: body, options: undefined }).visible!(usageChunk)).toBe(false);
    const asked = { ...body, stream_options: { include_usage: true } };
    expect(openaiAdapter('chat.completions').streamUsage({ params: asked, options: undefined }).visible!(usageChunk)).toBe(true);
    expect(prepare('responses', { model: 'gpt-4o', input: 'x', stream: true }, undefined, 'gpt-4o').params).toEqual({
      model: 'gpt-4o',
      input: 'x',
      stream: true,
    });
  });

  it('says whether the request sent its own output bound, and writes the decided bound where the request reads it', () => {
    expect(describeRequest('chat.completions', { model: 'gpt-4o', messages: [] }, undefined)).toMatchObject({
      outputBoundSent: false,
      maxOutputTokens: DEFAULT_MAX_OUTPUT_TOKENS,
    });
    expect(describeRequest('chat.completions', { model: 'gpt-4o', messages: [], max_tokens: 9 }, undefined)).toMatchObject({
      outputBoundSent: true,
      maxOutputTokens: 9,
    });
    expect(describeRequest('responses', { model: 'gpt-4o', input: 'x', max_output_tokens: 7 }, undefined)).toMatchObject({
      outputBoundSent: true,
      maxOutputTokens: 7,
    });
    expect(describeRequest('responses', { model: 'gpt-4o', input: 'x' }, undefined).outputBoundSent).toBe(false);
    expect(prepare('chat.completions', { model: 'gpt-4o', messages: [] }, undefined, 'gpt-4o', 300).params).toMatchObject({ max_completion_tokens: 300 });
    expect(prepare('chat.completions', { model: 'gpt-4o', messages: [], n: 2, max_tokens: 500 }, undefined, 'gpt-4o', 300).params).toMatchObject({
      max_tokens: 150,
    });
    expect(prepare('responses', { model: 'gpt-4o', input: 'x' }, undefined, 'gpt-4o', 300).params).toMatchObject({ max_output_tokens: 300 });
  });
});
