/** Pure adapter pieces: model ids, output bounds, the input estimate, usage normalization. */
import { describe, expect, it } from 'vitest';
import { ConverseCommand as Converse, InvokeModelCommand, InvokeModelWithResponseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { bedrockAdapter, guardedCommandName } from '../../../instrumentations/bedrock/adapter.js';

const COMMANDS = { ConverseCommand: Converse, InvokeModelCommand, InvokeModelWithResponseStreamCommand } as const;
/** The adapter's description of `new <name>(input)`, as `send` would see it. */
const describeCommand = (name: keyof typeof COMMANDS, input: object) => ({
  call: bedrockAdapter.describe({ command: new (COMMANDS[name] as new (input: object) => object)(input) })!,
});
import {
  defaultMaxOutputTokens,
  estimateInputTokens,
  familyOfInvoke,
  familyOfModel,
  foundationModelOf,
  BINARY_BLOCK_TOKENS,
} from '../../../instrumentations/bedrock/models.js';
import {
  accumulateModelJson,
  chooseUsage,
  rawFromConverseUsage,
  rawFromHeaders,
  toUsageTokens,
  type RawUsage,
} from '../../../instrumentations/bedrock/usage.js';

describe('bedrock model ids', () => {
  it('strips ARNs and cross-region profile prefixes', () => {
    expect(foundationModelOf('us.anthropic.claude-3-haiku-20240307-v1:0')).toBe('anthropic.claude-3-haiku-20240307-v1:0');
    expect(foundationModelOf('global.anthropic.claude-sonnet-4-5-20250929-v1:0')).toBe('anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(foundationModelOf('arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.amazon.nova-pro-v1:0')).toBe('amazon.nova-pro-v1:0');
    expect(familyOfModel('apac.amazon.nova-lite-v1:0')).toBe('amazon-nova');
    expect(familyOfModel('arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123')).toBe('unknown');
  });

  it('falls back to the body shape for opaque ARNs', () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123';
    expect(familyOfInvoke(arn, { anthropic_version: 'bedrock-2023-05-31', max_tokens: 5 })).toBe('anthropic');
    expect(familyOfInvoke(arn, { prompt: 'x', max_gen_len: 5 })).toBe('meta');
  });

  it('default output ceilings', () => {
    expect(defaultMaxOutputTokens('anthropic.claude-3-haiku-20240307-v1:0')).toBe(4096);
    expect(defaultMaxOutputTokens('us.anthropic.claude-sonnet-4-20250514-v1:0')).toBe(64000);
    expect(defaultMaxOutputTokens('amazon.titan-embed-text-v2:0')).toBe(0);
    expect(defaultMaxOutputTokens('arn:aws:bedrock:us-east-1:1:provisioned-model/xyz')).toBe(8192);
  });
});

describe('bedrock request description', () => {
  it('names guarded commands by class name or schema, nothing else', () => {
    class ConverseCommand {}
    expect(guardedCommandName(new ConverseCommand())).toBe('ConverseCommand');
    class Minified {
      schema = [9, 'com.amazonaws.bedrockruntime', 'InvokeModelWithResponseStream', {}];
    }
    expect(guardedCommandName(new Minified())).toBe('InvokeModelWithResponseStreamCommand');
    class ApplyGuardrailCommand {}
    expect(guardedCommandName(new ApplyGuardrailCommand())).toBeUndefined();
  });

  it('reads the output bound per family and counts binary content as blocks', () => {
    const image = new Uint8Array(2_000_000);
    const d = describeCommand('ConverseCommand', {
      modelId: 'amazon.nova-lite-v1:0',
      messages: [{ role: 'user', content: [{ text: 'abc' }, { image: { format: 'png', source: { bytes: image } } }] }],
    });
    expect(d.call.maxOutputTokens).toBe(10000);
    expect(d.call.estimatedInputTokens).toBeLessThan(BINARY_BLOCK_TOKENS + 50);
    expect(d.call.estimatedInputTokens).toBeGreaterThanOrEqual(BINARY_BLOCK_TOKENS);
    const nova = describeCommand('InvokeModelCommand', {
      modelId: 'amazon.nova-pro-v1:0',
      body: JSON.stringify({ messages: [], inferenceConfig: { max_new_tokens: 77 } }),
    });
    expect(nova.call.maxOutputTokens).toBe(77);
    const titan = describeCommand('InvokeModelWithResponseStreamCommand', {
      modelId: 'amazon.titan-text-express-v1',
      body: new TextEncoder().encode(JSON.stringify({ inputText: 'x', textGenerationConfig: { maxTokenCount: 66 } })),
    });
    expect(titan.call).toMatchObject({ maxOutputTokens: 66, stream: true, operation: 'text_completion' });
    const b64 = 'A'.repeat(100_000);
    const claude = describeCommand('InvokeModelCommand', {
      modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
      body: JSON.stringify({ max_tokens: 9, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', data: b64 } }] }] }),
    });
    expect(claude.call.maxOutputTokens).toBe(9);
    expect(claude.call.estimatedInputTokens).toBeLessThan(BINARY_BLOCK_TOKENS + 100);
    expect(describeCommand('InvokeModelCommand', { modelId: 'amazon.titan-embed-text-v2:0', body: '{"inputText":"x"}' }).call).toMatchObject({
      operation: 'embeddings',
      maxOutputTokens: 0,
    });
    expect(estimateInputTokens('abcdef')).toBe(6);
  });

  it('says whether the command sent its own output bound', () => {
    expect(describeCommand('ConverseCommand', { modelId: 'amazon.nova-lite-v1:0', messages: [] }).call).toMatchObject({
      outputBoundSent: false,
      maxOutputTokens: 10000,
    });
    expect(describeCommand('ConverseCommand', { modelId: 'amazon.nova-lite-v1:0', messages: [], inferenceConfig: { maxTokens: 5 } }).call).toMatchObject({
      outputBoundSent: true,
      maxOutputTokens: 5,
    });
    expect(describeCommand('InvokeModelCommand', { modelId: 'amazon.nova-pro-v1:0', body: '{"messages":[]}' }).call.outputBoundSent).toBe(false);
    expect(bedrockAdapter.describe({ command: { input: {} } })).toBeUndefined();
  });
});

describe('bedrock usage normalization', () => {
  it('Converse: inputTokens excludes cache; normalized to include it', () => {
    expect(
      toUsageTokens(rawFromConverseUsage({ inputTokens: 10, outputTokens: 5, totalTokens: 65, cacheReadInputTokens: 30, cacheWriteInputTokens: 20 })!),
    ).toEqual({ inputTokens: 60, outputTokens: 5, cachedInputTokens: 30, cacheWriteTokens: 20 });
  });

  it('Anthropic stream: message_start then message_delta (cumulative output)', () => {
    const fam: RawUsage = {};
    const met: RawUsage = {};
    accumulateModelJson(
      { type: 'message_start', message: { usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 5, cache_creation_input_tokens: 0 } } },
      fam,
      met,
    );
    accumulateModelJson({ type: 'message_delta', usage: { output_tokens: 42 } }, fam, met);
    accumulateModelJson({ type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 10, outputTokenCount: 42 } }, fam, met);
    expect(toUsageTokens(chooseUsage(fam, met)!)).toEqual({ inputTokens: 15, outputTokens: 42, cachedInputTokens: 5, cacheWriteTokens: 0 });
  });

  it('OpenAI-compatible bodies: prompt_tokens includes cached', () => {
    const fam: RawUsage = {};
    accumulateModelJson({ usage: { prompt_tokens: 100, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 40 } } }, fam, {});
    expect(toUsageTokens(fam)).toEqual({ inputTokens: 100, outputTokens: 7, cachedInputTokens: 40 });
  });

  it('metering headers when the body has no usage', () => {
    const met = rawFromHeaders({ 'X-Amzn-Bedrock-Input-Token-Count': '12', 'x-amzn-bedrock-output-token-count': '3' });
    const fam: RawUsage = {};
    accumulateModelJson({ outputs: [{ text: 'x' }] }, fam, met);
    expect(toUsageTokens(chooseUsage(fam, met)!)).toEqual({ inputTokens: 12, outputTokens: 3 });
    expect(chooseUsage({}, {})).toBeUndefined();
  });
});
