import type { Instrumentation } from '@opentelemetry/instrumentation';
import { AI_SDK_PROVIDER_MODULES } from '../../instrumentations/ai-sdk/patch.js';
import type { SpendGuardInstrumentationConfig } from '../../instrumentations/common/binding.js';
import { AiSdkSpendGuardInstrumentation } from './ai-sdk.js';
import type { EnvConfig } from './env-config.js';

type Env = Record<string, string | undefined>;

/** What register adds beyond the three provider SDKs: module hooks and the packages they need in the ESM hook. */
export interface FrameworkGuards {
  /** Package names to add to the ESM import hook's include list. */
  modules: string[];
  instrumentations: Instrumentation[];
}

/**
 * The framework integrations `register` enables: the AI SDK provider
 * packages (unless `AGENTGUARD_DISABLED_INSTRUMENTATIONS` names `ai-sdk`).
 */
export function frameworkGuards(config: EnvConfig, instrumentationConfig: SpendGuardInstrumentationConfig, env: Env, warn: (line: string) => void): FrameworkGuards {
  void env;
  void warn;
  if (config.disabledInstrumentations.includes('ai-sdk')) return { modules: [], instrumentations: [] };
  return { modules: [...AI_SDK_PROVIDER_MODULES], instrumentations: [new AiSdkSpendGuardInstrumentation(instrumentationConfig)] };
}
