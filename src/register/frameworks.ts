import type { Instrumentation } from '@opentelemetry/instrumentation';
import { AI_SDK_PROVIDER_MODULES } from '../../instrumentations/ai-sdk/patch.js';
import type { SpendGuardInstrumentationConfig } from '../../instrumentations/common/binding.js';
import type { SpendGuard } from '../engine/guard.js';
import type { SpendStore } from '../engine/spend-store.js';
import { AiSdkSpendGuardInstrumentation } from './ai-sdk.js';
import type { EnvConfig } from './env-config.js';
import { registerSafetyNet, safetyNetSettingsFromEnv, type SafetyNetSettings } from './safety-net.js';

type Env = Record<string, string | undefined>;

/** What register adds beyond the three provider SDKs' instrumentations. */
export interface FrameworkGuards {
  /** Package names to add to the ESM import hook's include list. */
  modules: string[];
  instrumentations: Instrumentation[];
  /** Closes what the safety net opened (the `warn` mode's chain). */
  shutdown(): Promise<void>;
}

/** Settings of the framework integrations, read (and checked) before anything is enabled. @throws ConfigError naming the variable. */
export function frameworkSettingsFromEnv(env: Env): SafetyNetSettings {
  return safetyNetSettingsFromEnv(env);
}

/**
 * The AI SDK provider packages' hooks and the safety net below the SDKs,
 * each unless `AGENTGUARD_DISABLED_INSTRUMENTATIONS` names it (`ai-sdk`,
 * `safety-net`).
 */
export function frameworkGuards(
  o: { config: EnvConfig; settings: SafetyNetSettings; instrumentationConfig: SpendGuardInstrumentationConfig; guard: SpendGuard; spendStore: SpendStore; warn: (line: string) => void },
): FrameworkGuards {
  const disabled = o.config.disabledInstrumentations;
  const aiSdk = !disabled.includes('ai-sdk');
  const net = disabled.includes('safety-net') ? undefined : registerSafetyNet({ config: o.config, settings: o.settings, guard: o.guard, spendStore: o.spendStore, warn: o.warn });
  return {
    modules: [...(aiSdk ? AI_SDK_PROVIDER_MODULES : []), ...(net ? net.modules : [])],
    instrumentations: [...(aiSdk ? [new AiSdkSpendGuardInstrumentation(o.instrumentationConfig)] : []), ...(net ? [net.instrumentation] : [])],
    shutdown: async () => {
      await net?.shutdown();
    },
  };
}
