import { createRequire } from 'node:module';
import fc from 'fast-check';
import { ConverseCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { anthropicAdapter, TOOL_PROMPT_TOKENS } from '../../../instrumentations/anthropic/adapter.js';
import { bedrockAdapter } from '../../../instrumentations/bedrock/adapter.js';
import { inputTokenBound } from '../../../instrumentations/common/estimate.js';

type Count = (s: string, o?: { disallowedSpecial?: Set<string> }) => number;
const req = createRequire(import.meta.url);
/** Two real byte-level BPE tokenizers as witnesses (no Claude or Nova tokenizer runs locally). */
const witnesses = ['o200k_base', 'cl100k_base'].map((name) => (req(`gpt-tokenizer/encoding/${name}`) as { countTokens: Count }).countTokens);
const mostTokens = (text: string) => Math.max(...witnesses.map((count) => count(text, { disallowedSpecial: new Set() })));

const textArb = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constantFrom('<|endoftext|>', '\u0000\u0001\u0002', '😀'.repeat(40), 'a'.repeat(500), ' \n\t'.repeat(50)),
);

describe('byte bound (Anthropic, Bedrock, unknown OpenAI models)', () => {
  it('UTF-8 bytes ≥ tokens of any text for real byte-level BPE tokenizers (fast-check)', () => {
    fc.assert(
      fc.property(textArb, (text) => {
        expect(inputTokenBound(text)).toBeGreaterThanOrEqual(mostTokens(text));
      }),
      { numRuns: 300 },
    );
  });

  it('the Anthropic and Bedrock estimates bound every message text (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(textArb, { minLength: 1, maxLength: 5 }), (texts) => {
        const messages = texts.map((text) => ({ role: 'user', content: [{ type: 'text', text }] }));
        const tokens = texts.reduce((n, t) => n + mostTokens(t), 0);
        const anthropic = anthropicAdapter('anthropic').describe({ params: { model: 'claude-sonnet-4-5', max_tokens: 10, messages }, options: undefined })!;
        expect(anthropic.estimatedInputTokens).toBeGreaterThanOrEqual(tokens);
        const converse = bedrockAdapter.describe({
          command: new ConverseCommand({ modelId: 'amazon.nova-lite-v1:0', messages: texts.map((text) => ({ role: 'user', content: [{ text }] })) }),
        })!;
        expect(converse.estimatedInputTokens).toBeGreaterThanOrEqual(tokens);
        const invoke = bedrockAdapter.describe({
          command: new InvokeModelCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', body: JSON.stringify({ max_tokens: 5, messages }) }),
        })!;
        expect(invoke.estimatedInputTokens).toBeGreaterThanOrEqual(tokens);
      }),
      { numRuns: 100 },
    );
  });

  it('an unparsed body is bounded by its size; tools add the documented tool-use prompt', () => {
    const raw = bedrockAdapter.describe({
      command: new InvokeModelCommand({ modelId: 'meta.llama3-8b-instruct-v1:0', body: 'not json: ' + '漢'.repeat(100) }),
    })!;
    expect(raw.estimatedInputTokens).toBe(Buffer.byteLength('not json: ' + '漢'.repeat(100)));
    const params = { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] };
    const tools = [{ name: 'lookup', input_schema: { type: 'object' } }];
    const without = anthropicAdapter('anthropic').describe({ params, options: undefined })!.estimatedInputTokens;
    const withTools = anthropicAdapter('anthropic').describe({ params: { ...params, tools }, options: undefined })!.estimatedInputTokens;
    expect(withTools - without).toBe(TOOL_PROMPT_TOKENS + inputTokenBound(tools));
  });
});
