/**
 * Model-id handling for Amazon Bedrock: model families, output ceilings and
 * the pre-call input estimate. No SDK types here.
 *
 * Model ids. Bedrock accepts a foundation-model id (`anthropic.claude-3-haiku-20240307-v1:0`),
 * a cross-region inference profile (`us.`/`eu.`/`apac.`/`global.`… + foundation id), or an
 * ARN (foundation model, inference profile, application inference profile, provisioned
 * model, imported model). The adapter prices the `modelId` exactly as the caller wrote it:
 * the price table (`@pydantic/genai-prices`, provider `aws`) resolves foundation ids,
 * region-prefixed profile ids and ARNs whose last path segment names a model. An ARN that
 * names no model (application inference profile, provisioned throughput, imported or
 * custom model) has no price, so it is fail-closed in `enforce` mode unless the engine is
 * configured with `onUnknownModel: 'allow'` or the exact `modelId` gets a
 * `pricing.overrides.bedrock[modelId]` entry.
 */
import { BINARY_BLOCK_TOKENS, inputTokenBound } from '../common/estimate.js';

export { BINARY_BLOCK_TOKENS };

/** Request/response dialect of an InvokeModel body, by model provider. */
export type BedrockFamily = 'anthropic' | 'amazon-nova' | 'amazon-titan' | 'meta' | 'mistral' | 'cohere' | 'ai21' | 'deepseek' | 'openai' | 'unknown';

const REGION_PREFIX = /^(?:us|us-gov|eu|apac|ap|jp|au|ca|global)\./;

/**
 * The foundation-model part of a model id: the last path segment of an ARN, without a
 * cross-region profile prefix. `arn:…:inference-profile/us.anthropic.claude-…` →
 * `anthropic.claude-…`.
 */
export function foundationModelOf(modelId: string): string {
  let id = modelId.trim();
  if (id.startsWith('arn:')) id = id.slice(id.lastIndexOf('/') + 1);
  return id.replace(REGION_PREFIX, '').toLowerCase();
}

/** The model family from the model id alone (`unknown` for opaque ARNs). */
export function familyOfModel(modelId: string): BedrockFamily {
  const id = foundationModelOf(modelId);
  const vendor = id.split('.')[0] ?? '';
  switch (vendor) {
    case 'anthropic':
      return 'anthropic';
    case 'amazon':
      if (id.startsWith('amazon.nova')) return 'amazon-nova';
      if (id.startsWith('amazon.titan')) return 'amazon-titan';
      return 'unknown';
    case 'meta':
      return 'meta';
    case 'mistral':
      return 'mistral';
    case 'cohere':
      return 'cohere';
    case 'ai21':
      return 'ai21';
    case 'deepseek':
      return 'deepseek';
    case 'openai':
      return 'openai';
    default:
      return 'unknown';
  }
}

/**
 * The family of an InvokeModel call: from the model id, else from the body's shape
 * (an application-inference-profile ARN names no model, but the body still speaks
 * one dialect).
 */
export function familyOfInvoke(modelId: string, body: Record<string, unknown> | undefined): BedrockFamily {
  const byId = familyOfModel(modelId);
  if (byId !== 'unknown' || !body) return byId;
  if (typeof body.anthropic_version === 'string') return 'anthropic';
  if (typeof body.schemaVersion === 'string' || isObject(body.inferenceConfig)) return 'amazon-nova';
  if (typeof body.inputText === 'string' || isObject(body.textGenerationConfig)) return 'amazon-titan';
  if ('max_gen_len' in body) return 'meta';
  return 'unknown';
}

/** Whether the model is an embedding model (no output tokens are billed). */
export function isEmbeddingModel(modelId: string): boolean {
  return /(?:^|[.-])embed/.test(foundationModelOf(modelId));
}

/**
 * Output ceiling assumed when a request sets no output bound: the worst case is
 * priced at it. Bedrock's own default, when `maxTokens` is absent, is the model's
 * maximum (Converse) or a family default (InvokeModel); we use the model's documented
 * maximum output, by foundation-model prefix, first match wins.
 */
export const DEFAULT_MAX_OUTPUT_TOKENS: ReadonlyArray<readonly [prefix: string, tokens: number]> = [
  ['anthropic.claude-3-5-sonnet-20240620', 4096],
  ['anthropic.claude-3-haiku', 4096],
  ['anthropic.claude-3-sonnet', 4096],
  ['anthropic.claude-3-opus', 4096],
  ['anthropic.claude-3-5', 8192],
  ['anthropic.claude-instant', 4096],
  ['anthropic.claude-v2', 4096],
  ['anthropic.claude-opus-4-20250514', 32000],
  ['anthropic.claude-opus-4-1', 32000],
  ['anthropic.', 64000],
  ['amazon.nova-premier', 32000],
  ['amazon.nova', 10000],
  ['amazon.titan-text-lite', 4096],
  ['amazon.titan-text-premier', 3072],
  ['amazon.titan', 8192],
  ['meta.', 8192],
  ['mistral.', 8192],
  ['cohere.', 4096],
  ['ai21.', 4096],
  ['deepseek.', 32768],
  ['openai.', 32768],
];

/** Ceiling for a model no row of {@link DEFAULT_MAX_OUTPUT_TOKENS} matches (opaque ARNs, new vendors). */
export const FALLBACK_MAX_OUTPUT_TOKENS = 8192;

/** The default output ceiling of a model id (see {@link DEFAULT_MAX_OUTPUT_TOKENS}). */
export function defaultMaxOutputTokens(modelId: string): number {
  if (isEmbeddingModel(modelId)) return 0;
  const id = foundationModelOf(modelId);
  for (const [prefix, tokens] of DEFAULT_MAX_OUTPUT_TOKENS) if (id.startsWith(prefix)) return tokens;
  return FALLBACK_MAX_OUTPUT_TOKENS;
}

/**
 * The output bound an InvokeModel body sets, in its family's dialect:
 * Anthropic `max_tokens` (legacy `max_tokens_to_sample`), Nova
 * `inferenceConfig.max_new_tokens`, Titan `textGenerationConfig.maxTokenCount`, Meta
 * `max_gen_len`, Mistral/Cohere/AI21/DeepSeek `max_tokens`, OpenAI-compatible
 * `max_completion_tokens`/`max_tokens`. For an unknown family every one of these
 * names is looked for; the largest wins.
 */
export function maxTokensOfInvokeBody(family: BedrockFamily, body: Record<string, unknown>): number | undefined {
  const at = (o: unknown, key: string): number | undefined => {
    if (!isObject(o)) return undefined;
    const v = o[key];
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.ceil(v) : undefined;
  };
  switch (family) {
    case 'anthropic':
      return at(body, 'max_tokens') ?? at(body, 'max_tokens_to_sample');
    case 'amazon-nova':
      return at(body.inferenceConfig, 'max_new_tokens') ?? at(body.inferenceConfig, 'maxTokens');
    case 'amazon-titan':
      return at(body.textGenerationConfig, 'maxTokenCount');
    case 'meta':
      return at(body, 'max_gen_len');
    case 'openai':
      return at(body, 'max_completion_tokens') ?? at(body, 'max_tokens');
    case 'mistral':
    case 'cohere':
    case 'ai21':
    case 'deepseek':
      return at(body, 'max_tokens');
    default: {
      const found = [
        at(body, 'max_tokens'),
        at(body, 'max_completion_tokens'),
        at(body, 'max_tokens_to_sample'),
        at(body, 'max_gen_len'),
        at(body.inferenceConfig, 'max_new_tokens'),
        at(body.inferenceConfig, 'maxTokens'),
        at(body.textGenerationConfig, 'maxTokenCount'),
      ].filter((v): v is number => v !== undefined);
      return found.length ? Math.max(...found) : undefined;
    }
  }
}

/**
 * A copy of an InvokeModel body with its output bound set to `maxTokens`, in the
 * family's dialect (the field {@link maxTokensOfInvokeBody} reads; the one the
 * caller used where a family has two). Without a bound in the body the family's
 * main field is added. For an unknown family only the bound fields present are
 * lowered; with none present there is no field known to be safe to add, and
 * `undefined` is returned (the caller must not send the call unclamped).
 */
export function withInvokeMaxTokens(family: BedrockFamily, body: Record<string, unknown>, maxTokens: number): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = { ...body };
  const nested = (key: string, fields: string[], fallback: string) => {
    const inner: Record<string, unknown> = isObject(body[key]) ? { ...body[key] } : {};
    const present = fields.filter((f) => f in inner);
    for (const f of present.length ? present : [fallback]) inner[f] = maxTokens;
    out[key] = inner;
  };
  const top = (fields: string[], fallback: string) => {
    const present = fields.filter((f) => f in body);
    for (const f of present.length ? present : [fallback]) out[f] = maxTokens;
  };
  switch (family) {
    case 'anthropic':
      top(['max_tokens', 'max_tokens_to_sample'], 'max_tokens');
      return out;
    case 'amazon-nova':
      nested('inferenceConfig', ['max_new_tokens', 'maxTokens'], 'max_new_tokens');
      return out;
    case 'amazon-titan':
      nested('textGenerationConfig', ['maxTokenCount'], 'maxTokenCount');
      return out;
    case 'meta':
      top(['max_gen_len'], 'max_gen_len');
      return out;
    case 'openai':
      top(['max_completion_tokens', 'max_tokens'], 'max_completion_tokens');
      return out;
    case 'mistral':
    case 'cohere':
    case 'ai21':
    case 'deepseek':
      top(['max_tokens'], 'max_tokens');
      return out;
    default: {
      let found = false;
      for (const f of ['max_tokens', 'max_completion_tokens', 'max_tokens_to_sample', 'max_gen_len']) {
        if (f in body) {
          out[f] = maxTokens;
          found = true;
        }
      }
      for (const [key, fields] of [
        ['inferenceConfig', ['max_new_tokens', 'maxTokens']],
        ['textGenerationConfig', ['maxTokenCount']],
      ] as const) {
        if (!isObject(body[key]) || !fields.some((f) => f in (body[key] as object))) continue;
        nested(key, fields as unknown as string[], fields[0]);
        found = true;
      }
      return found ? out : undefined;
    }
  }
}

/**
 * Pre-call input estimate, an upper bound for any text (see
 * `../common/estimate.ts`): the UTF-8 bytes of every string (values and keys)
 * in the given input parts, plus {@link BINARY_BLOCK_TOKENS} for each binary
 * block (`Uint8Array`, `ArrayBuffer`, or a long base64 string), never serialized.
 * With tools configured, {@link TOOL_PROMPT_TOKENS} more for the system prompt
 * the model family adds for tool use.
 */
export function estimateInputTokens(...parts: unknown[]): number {
  return inputTokenBound(...parts);
}

/**
 * Tokens the provider adds for tool use when a request defines tools:
 * Anthropic documents up to 530 for its models (Claude 3 Opus; 346 or fewer
 * for Claude 3.5 and later). Other families on Bedrock publish no figure.
 */
export const TOOL_PROMPT_TOKENS = 530;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
