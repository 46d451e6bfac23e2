import type { SdkInstrumentationName } from './env-config.js';

/** A provider `register` can guard: the npm package it patches when the app loads it. */
export interface InstrumentationEntry {
  /** The npm package name the module hooks act on. */
  module: string;
}

/**
 * The providers `register` guards, by the name `AGENTGUARD_DISABLED_INSTRUMENTATIONS`
 * uses. Each is only patched if the app loads its package; a package the app
 * does not have costs nothing.
 */
export const INSTRUMENTATIONS: Record<SdkInstrumentationName, InstrumentationEntry> = {
  openai: { module: 'openai' },
  anthropic: { module: '@anthropic-ai/sdk' },
  bedrock: { module: '@aws-sdk/client-bedrock-runtime' },
};
