import type { Instrumentation } from '@opentelemetry/instrumentation';
import { AnthropicSpendGuardInstrumentation } from '../../instrumentations/anthropic/instrumentation.js';
import { BedrockSpendGuardInstrumentation, BEDROCK_MODULE } from '../../instrumentations/bedrock/instrumentation.js';
import type { SpendGuardInstrumentationConfig } from '../../instrumentations/common/binding.js';
import { OpenAISpendGuardInstrumentation } from '../../instrumentations/openai/instrumentation.js';
import type { InstrumentationName } from './env-config.js';

/** A provider instrumentation `register` can enable: the package it patches and how to build it. */
export interface InstrumentationEntry {
  /** The npm package name the instrumentation hooks (also the ESM hook's include list). */
  module: string;
  create(config: SpendGuardInstrumentationConfig): Instrumentation;
}

/**
 * The provider instrumentations in this build, by the name
 * `AGENTGUARD_DISABLED_INSTRUMENTATIONS` uses. Each only patches its package if
 * the app loads it; a package the app does not have costs nothing.
 */
export const INSTRUMENTATIONS: Partial<Record<InstrumentationName, InstrumentationEntry>> = {
  openai: { module: 'openai', create: (config) => new OpenAISpendGuardInstrumentation(config) },
  anthropic: { module: '@anthropic-ai/sdk', create: (config) => new AnthropicSpendGuardInstrumentation(config) },
  bedrock: { module: BEDROCK_MODULE, create: (config) => new BedrockSpendGuardInstrumentation(config) },
};
