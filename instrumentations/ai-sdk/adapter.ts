import { isProxy } from 'node:util/types';
import { AgentGuardError } from '../../src/audit/errors.js';
import { deploymentForModel, modelOfDeployment, NoAzureDeploymentError, routableModels, type AzureDeployments } from '../common/azure-deployments.js';
import { ClampNotAppliedError, type CallDescription } from '../common/guarded-call.js';
import { serverOfUrl, type ServerAddress } from '../common/server-address.js';
import type { ProviderAdapter, ReportedUsage, StreamUsageReader } from '../common/provider-adapter.js';
import { takeOverrideHeaders } from '../common/scope-context.js';
import type { LanguageModelCall, LanguageModelCallOptions, LanguageModelLike } from './model-call.js';
import { AiSdkStreamReader, generateResultUsage } from './usage.js';

/** `gen_ai.operation.name` of a language-model call. */
export const AI_SDK_OPERATION = 'chat';
/**
 * Output bound a call that sets no `maxOutputTokens` is priced at (described
 * with `outputBoundSent: false`). Nothing is written for it: a policy's
 * `defaultMaxOutputTokens`, when one applies, is the bound written into the call.
 */
export const DEFAULT_MAX_OUTPUT_TOKENS = 16_384;
/** Input tokens counted per file part (image, PDF...): its bytes would overstate it a hundredfold. */
export const FILE_PART_TOKENS = 1_600;

/**
 * The engine's provider name for an AI SDK model's `provider` string
 * (`openai.chat`, `openai.responses`, `azure.chat`, `anthropic.messages`,
 * `amazon-bedrock`, ...): the three priced providers by name, anything else
 * by the part before the first dot (priced if the price table knows it).
 */
export function providerOf(modelProvider: string): string {
  const p = modelProvider.toLowerCase();
  if (p.startsWith('openai') || p.startsWith('azure')) return 'openai';
  if (p.startsWith('anthropic')) return 'anthropic';
  if (p.startsWith('amazon-bedrock') || p.startsWith('bedrock')) return 'bedrock';
  return p.split('.')[0] || p;
}

/** Whether an AI SDK model's `provider` string is `@ai-sdk/azure`'s (`azure.chat`, `azure.responses`...): its `modelId` names a deployment. */
export function isAzureModel(modelProvider: string): boolean {
  return modelProvider.toLowerCase().startsWith('azure');
}

/**
 * The model a call asks for: the model's `modelId`, or for an Azure model the
 * model its deployment serves (`azureDeployments`, else the deployment's own
 * name, Azure's common convention).
 */
export function requestedModel(model: { provider: string; modelId: string }, azureDeployments: AzureDeployments | undefined): string {
  return isAzureModel(model.provider) ? modelOfDeployment(model.modelId, azureDeployments ?? {}) : model.modelId;
}

/**
 * The models an Azure model's call can be sent to: those the deployments
 * serve (a downgrade to any other is not taken); undefined for any other
 * model, or without a map (a deployment named after any model is assumed).
 */
export function routableModelsOf(model: { provider: string }, azureDeployments: AzureDeployments | undefined): readonly string[] | undefined {
  return isAzureModel(model.provider) && azureDeployments ? routableModels(azureDeployments) : undefined;
}

/**
 * The `modelId` to call for the decided model: the decided model itself, or
 * for an Azure model the deployment that serves it (the call's own when the
 * model is unchanged). Throws `NoAzureDeploymentError` when a decision names a
 * model no deployment serves (the engine does not make one: the call carries
 * {@link routableModelsOf}): sending it to the requested deployment would log
 * a model that was not called.
 */
export function modelIdToCall(model: { provider: string; modelId: string }, decidedModel: string, azureDeployments: AzureDeployments | undefined): string {
  if (!isAzureModel(model.provider)) return decidedModel;
  const deployments = azureDeployments ?? {};
  const requested = modelOfDeployment(model.modelId, deployments);
  if (decidedModel === requested) return model.modelId;
  const target = deploymentForModel(decidedModel, deployments);
  if (target === undefined) throw new NoAzureDeploymentError(requested, decidedModel, deployments);
  return target;
}

/**
 * Input estimate of a call: one token per UTF-8 byte (a bound on what the provider counts) over the text of
 * the prompt (system, user, assistant and tool messages: text, reasoning,
 * tool-call inputs, tool results), the tool definitions and the response
 * schema, and a flat {@link FILE_PART_TOKENS} per file part. Provider-reported
 * usage settles the call.
 */
export function estimateInputTokens(options: LanguageModelCallOptions): number {
  let bytes = 0;
  let files = 0;
  const add = (v: unknown) => {
    if (v === undefined || v === null) return;
    bytes += Buffer.byteLength(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''), 'utf8');
  };
  const prompt = Array.isArray(options.prompt) ? options.prompt : [];
  for (const message of prompt as { role?: unknown; content?: unknown }[]) {
    if (!message || typeof message !== 'object') continue;
    if (typeof message.content === 'string') {
      add(message.content);
      continue;
    }
    if (!Array.isArray(message.content)) continue;
    for (const part of message.content as Record<string, unknown>[]) {
      if (!part || typeof part !== 'object') continue;
      switch (part.type) {
        case 'text':
        case 'reasoning':
          add(part.text);
          break;
        case 'file':
        case 'image':
          files++;
          break;
        case 'tool-call':
          add(part.toolName);
          add(part.input ?? part.args);
          break;
        case 'tool-result':
          add(part.toolName);
          add(part.output ?? part.result);
          break;
        default:
          add(part);
      }
    }
  }
  add(options.tools);
  const format = options.responseFormat as { schema?: unknown } | undefined;
  add(format?.schema);
  // One token per UTF-8 byte at most: a bound on what the provider counts (`../common/estimate.ts`).
  return bytes + files * FILE_PART_TOKENS;
}

/** The budget the AI SDK's Anthropic provider gives enabled thinking that names none. */
export const ANTHROPIC_DEFAULT_THINKING_BUDGET = 1_024;

/**
 * The thinking budget the AI SDK's Anthropic provider adds on top of
 * `maxOutputTokens` (`max_tokens = maxOutputTokens + budget`): the
 * `thinking.budgetTokens` of the call's Anthropic options, or the provider's
 * default for enabled thinking without one.
 */
export function anthropicThinkingBudget(options: LanguageModelCallOptions): number {
  const thinking = options.providerOptions?.anthropic?.thinking as { type?: unknown; budgetTokens?: unknown } | undefined;
  if (thinking?.type !== 'enabled') return 0;
  const budget = thinking.budgetTokens;
  return typeof budget === 'number' && Number.isSafeInteger(budget) && budget > 0 ? budget : ANTHROPIC_DEFAULT_THINKING_BUDGET;
}

/** Whether the call sets its own `maxOutputTokens`. */
export function outputBoundSent(call: LanguageModelCall): boolean {
  const given = call.options.maxOutputTokens;
  return typeof given === 'number' && Number.isSafeInteger(given) && given >= 0;
}

/** The output bound the call is priced at: `maxOutputTokens` (or the default), plus an Anthropic thinking budget. */
export function outputBound(call: LanguageModelCall): number {
  const base = outputBoundSent(call) ? (call.options.maxOutputTokens as number) : DEFAULT_MAX_OUTPUT_TOKENS;
  return base + (providerOf(call.model.provider) === 'anthropic' ? anthropicThinkingBudget(call.options) : 0);
}

/**
 * `server.address`/`server.port` of a provider model instance: the official
 * providers keep a `config.url({ path, modelId })` (OpenAI), a `config.baseURL`
 * (Anthropic) or a `config.baseUrl()` (Bedrock). Undefined when none is there.
 */
export function serverOfModel(model: unknown): ServerAddress | undefined {
  const config = (model as { config?: { url?: unknown; baseURL?: unknown; baseUrl?: unknown } } | undefined)?.config;
  if (!config || typeof config !== 'object') return undefined;
  try {
    if (typeof config.url === 'function')
      return serverOfUrl((config.url as (o: object) => unknown)({ path: '/', modelId: (model as { modelId?: unknown }).modelId }));
    if (typeof config.baseURL === 'string') return serverOfUrl(config.baseURL);
    if (typeof config.baseUrl === 'function') return serverOfUrl((config.baseUrl as () => unknown)());
  } catch {
    // A provider whose URL needs settings we do not have: no attribute.
  }
  return undefined;
}

/**
 * The AI SDK's language models as a {@link ProviderAdapter}: a call is
 * `{ model, options, stream }` at the `doGenerate`/`doStream` seam.
 *
 * - describe: provider from the model's `provider` string, `modelId` (for
 *   `@ai-sdk/azure`, the model its deployment serves), the input estimate, the output bound, the stream flag, and per-call scope
 *   overrides from `x-agentguard-*` headers in the call options.
 * - prepare: the decision's model is called on a sibling of the model
 *   instance (`Object.create(model)` with its own `modelId`): every official
 *   provider builds its request (body `model`, Bedrock's URL path) from
 *   `this.modelId` when the call is made, so only that call changes (on
 *   Azure, the `modelId` of the deployment serving the decided model). The
 *   output bound is written as `maxOutputTokens` (less an Anthropic thinking
 *   budget, which the provider adds back), and the override headers removed.
 */
export const aiSdkAdapter: ProviderAdapter<LanguageModelCall, unknown, unknown> & {
  /** The model instance to call `doGenerate`/`doStream` on for a prepared call (throws `NoAzureDeploymentError`, see {@link modelIdToCall}). */
  modelFor(call: LanguageModelCall, model: string): LanguageModelLike;
} = {
  describe(call) {
    if (!call.model || typeof call.model.modelId !== 'string' || typeof call.model.provider !== 'string') return undefined;
    const { overrides } = takeOverrideHeaders(call.options.headers);
    const routable = routableModelsOf(call.model, call.azureDeployments);
    const description: CallDescription = {
      provider: providerOf(call.model.provider),
      operation: AI_SDK_OPERATION,
      model: requestedModel(call.model, call.azureDeployments),
      ...(routable ? { routableModels: routable } : {}),
      estimatedInputTokens: estimateInputTokens(call.options),
      maxOutputTokens: outputBound(call),
      outputBoundSent: outputBoundSent(call),
      stream: call.stream,
      overrides,
      server: serverOfModel(call.model),
    };
    return description;
  },

  prepare(call, decided) {
    const options: LanguageModelCallOptions = { ...call.options };
    const { headers, overrides } = takeOverrideHeaders(call.options.headers);
    if (overrides.scope || overrides.capabilityClaim) options.headers = headers as LanguageModelCallOptions['headers'];
    const bound = decided.maxOutputTokens;
    if (bound !== undefined) {
      const budget = providerOf(call.model.provider) === 'anthropic' ? anthropicThinkingBudget(call.options) : 0;
      if (bound - budget < 1) throw new ClampNotAppliedError(bound, `the call's thinking budget of ${budget} tokens leaves no room for output`);
      options.maxOutputTokens = bound - budget;
    }
    return { model: aiSdkAdapter.modelFor(call, decided.model), options, stream: call.stream, azureDeployments: call.azureDeployments };
  },

  modelFor(call, model) {
    const id = modelIdToCall(call.model, model, call.azureDeployments);
    if (id === call.model.modelId) return call.model;
    return siblingModel(call.model, id);
  },

  responseUsage(result): ReportedUsage {
    return generateResultUsage(result);
  },

  streamUsage(): StreamUsageReader<unknown> {
    return new AiSdkStreamReader();
  },
};

/** Why a model instance cannot be downgraded in place. */
export class DowngradeNotAppliedError extends AgentGuardError {
  constructor(model: string, why: string) {
    super(`agentguard: the decision downgraded the call to ${model}, but ${why}; the call was not sent`);
  }
}

/**
 * The same model instance, answering to `modelId` for one call: an object
 * whose prototype is the instance, with its own `modelId` (and no
 * `config.requestModelId`, which `@ai-sdk/openai` would send instead). Only a
 * provider class instance can be redirected this way: a wrapper that closes
 * over its inner model (a Proxy, `wrapLanguageModel`'s result) would still
 * call the inner one, so it fails closed rather than sending the call
 * un-downgraded.
 */
export function siblingModel(model: LanguageModelLike, modelId: string): LanguageModelLike {
  if (isProxy(model) || Object.prototype.hasOwnProperty.call(model, 'doGenerate') || Object.prototype.hasOwnProperty.call(model, 'doStream')) {
    throw new DowngradeNotAppliedError(
      modelId,
      `the model ${JSON.stringify(model.modelId)} is a wrapper whose inner model cannot be redirected (put spendGuardMiddleware innermost, next to the provider's model)`,
    );
  }
  const props: PropertyDescriptorMap = { modelId: { value: modelId, enumerable: true, configurable: true, writable: true } };
  const config = (model as { config?: { requestModelId?: unknown } }).config;
  if (config && typeof config === 'object' && config.requestModelId !== undefined) {
    props.config = { value: { ...config, requestModelId: undefined }, enumerable: true, configurable: true, writable: true };
  }
  return Object.create(model, props) as LanguageModelLike;
}
