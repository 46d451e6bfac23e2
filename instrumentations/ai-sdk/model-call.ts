/**
 * The shapes this integration reads from the AI SDK, kept structural so that
 * every specification version it guards (`LanguageModelV2`, `V3`, `V4`) fits
 * without importing `@ai-sdk/provider`.
 */
import type { AzureDeployments } from '../common/azure-deployments.js';

/** A language model as the AI SDK's providers implement it. */
export interface LanguageModelLike {
  readonly specificationVersion?: string;
  /** e.g. `openai.chat`, `openai.responses`, `anthropic.messages`, `amazon-bedrock`. */
  readonly provider: string;
  readonly modelId: string;
  doGenerate(options: LanguageModelCallOptions): PromiseLike<unknown>;
  doStream(options: LanguageModelCallOptions): PromiseLike<unknown>;
}

/** The call options of `doGenerate`/`doStream` (only what spend enforcement reads or writes). */
export interface LanguageModelCallOptions {
  prompt?: unknown;
  maxOutputTokens?: number;
  tools?: unknown;
  responseFormat?: unknown;
  providerOptions?: Record<string, Record<string, unknown> | undefined>;
  headers?: Record<string, string | undefined>;
  abortSignal?: AbortSignal;
  [key: string]: unknown;
}

/** One call of a language model: the model it is made on, its options, and which method. */
export interface LanguageModelCall {
  model: LanguageModelLike;
  options: LanguageModelCallOptions;
  stream: boolean;
  /** Azure deployment name → model, for an `@ai-sdk/azure` model (whose `modelId` is the deployment). */
  azureDeployments?: AzureDeployments | undefined;
}

/** What `doStream` resolves to: the parts stream and the request/response metadata. */
export interface StreamResultLike {
  stream: ReadableStream<unknown>;
  [key: string]: unknown;
}
