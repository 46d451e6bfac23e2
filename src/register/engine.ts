/**
 * The engine stage of `agentguard-spend/register`, built into one file
 * (`dist/register-engine.cjs`) that the start stage loads at the first guarded
 * call, or on a timer shortly after start-up, whichever comes first: the
 * decision log, the spend guard, the policy watch, and the functions that
 * enforce on the provider SDKs' methods.
 */
import { trace } from '@opentelemetry/api';
import { FileDecisionLogStore } from '../../exporters/file/file-store.js';
import { guardMessagesCreate, type MessagesCreate } from '../../instrumentations/anthropic/adapter.js';
import { guardedSend } from '../../instrumentations/bedrock/adapter.js';
import { bindingFromInstrumentationConfig } from '../../instrumentations/common/binding.js';
import { isAPIPromiseClass, registerAPIPromiseClass } from '../../instrumentations/common/stainless-api-promise.js';
import { makeGuardedCreate } from '../../instrumentations/openai/guarded-create.js';
import { SpendGuard } from '../engine/guard.js';
import { watchPolicyFile, type PolicyWatch } from '../engine/policy-watch.js';
import { InMemorySpendStore } from '../engine/memory-spend-store.js';
import type { SpendStore } from '../engine/spend-store.js';
import { spendStoreFromUrl } from '../stores/from-url.js';
import type { EnvConfig } from './env-config.js';
import type { GuardFactories, InstrumentationLike } from './provider-patches.js';
import { warmTokenizerLater } from './tokenizer-warmup.js';

export { spendStoreFromUrl };

/** The default spend store (this process only). */
export function memorySpendStore(): SpendStore {
  return new InMemorySpendStore();
}

/** What the engine stage built. */
export interface Engine {
  guard: SpendGuard;
  logStore: FileDecisionLogStore;
  spendStore: SpendStore;
  policyWatch: PolicyWatch;
  /** Stops the policy watch, flushes and closes the log and the spend store. */
  close(): Promise<void>;
}

/** The tracer each provider's spans are made with (named as the provider instrumentations name theirs). */
export const TRACER_NAMES = {
  openai: 'agentguard-spend/instrumentations/openai',
  anthropic: 'agentguard-spend/instrumentation-anthropic',
  bedrock: 'agentguard-spend/instrumentation-bedrock',
} as const;
const TRACER_VERSION = '0.1.0';

/** A tracer from the global provider at each call, so a provider the app registers later is used. */
export function tracerFor(name: keyof typeof TRACER_NAMES) {
  return trace.getTracer(TRACER_NAMES[name], TRACER_VERSION);
}

/**
 * Builds the engine from a configuration the start stage has already validated.
 * Nothing here fails on configuration; a log that cannot be opened is reported
 * through `warn` and fails guarded calls closed.
 */
export function startEngine(config: EnvConfig, spendStore: SpendStore, warn: (line: string) => void): Engine {
  const logStore = new FileDecisionLogStore({ dir: config.logDir, durability: config.durability, ...(config.chainId ? { chainId: config.chainId } : {}) });
  logStore.ready().catch((err: Error) => {
    warn(`agentguard-spend: AGENTGUARD_LOG_DIR: cannot open the decision log in ${config.logDir}: ${err.message}; guarded calls fail until it can be written`);
  });
  const guard = new SpendGuard({
    policies: config.policies,
    signingKeys: config.signingKeys,
    logStore,
    spendStore,
    onUnknownModel: config.onUnknownModel,
    ...(config.mode === 'shadow' ? { modeOverride: 'shadow' as const } : {}),
  });
  const policyWatch = watchPolicyFile(config.policyPath, guard, {
    onError: (err) => warn(`agentguard-spend: AGENTGUARD_POLICY: reload of ${config.policyPath} rejected, the policies in force stay: ${err.message}`),
  });
  warmTokenizerLater();

  const close = async () => {
    policyWatch.close();
    try {
      await logStore.close();
    } catch (err) {
      warn(`agentguard-spend: AGENTGUARD_LOG_DIR: closing the decision log failed: ${(err as Error).message}`);
    }
    await spendStore.close?.().catch(() => undefined);
  };
  return { guard, logStore, spendStore, policyWatch, close };
}

type State = { instrumentation: InstrumentationLike };
const bindingOf = (state: State) => () => bindingFromInstrumentationConfig(state.instrumentation.getConfig(), state.instrumentation.tracer);

/** The enforcing functions, as the provider instrumentations build them, configured through the wrapper's state. */
export const guardFactories: GuardFactories = {
  openai(callOriginal, state, endpoint, OpenAI, APIPromise) {
    const apiPromiseClass = isAPIPromiseClass(APIPromise) ? APIPromise : undefined;
    if (apiPromiseClass) registerAPIPromiseClass(OpenAI, apiPromiseClass);
    return makeGuardedCreate(callOriginal, { endpoint, binding: bindingOf(state), enabled: () => state.instrumentation.isEnabled(), apiPromiseClass });
  },
  anthropic(callOriginal, state) {
    return guardMessagesCreate(callOriginal as MessagesCreate, bindingOf(state));
  },
  bedrockSend(state, self, callOriginal, command, optionsOrCb, cb) {
    return guardedSend(bindingOf(state), self, callOriginal, command, optionsOrCb, cb);
  },
};
