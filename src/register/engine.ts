/**
 * The engine stage of `agentguard-spend/register`, built into one file
 * (`dist/register-engine.cjs`) that the start stage loads at the first guarded
 * call, or on a timer shortly after start-up, whichever comes first: the
 * decision log, the spend guard, the policy watch, and the functions that
 * enforce on the provider SDKs' methods.
 */
import { trace } from '@opentelemetry/api';
import { guardEmbedMethod, type EmbedMethod } from '../../instrumentations/ai-sdk/embedding.js';
import type { ModelMethod } from '../../instrumentations/ai-sdk/guarded-model-call.js';
import { guardModelMethod } from '../../instrumentations/ai-sdk/patch.js';
import { guardFetch } from '../../instrumentations/safety-net/fetch.js';
import { guardRequest } from '../../instrumentations/safety-net/http.js';
import { guardHttp2Connect } from '../../instrumentations/safety-net/http2.js';
import { guardUndiciDispatch } from '../../instrumentations/safety-net/undici.js';
import { PROVIDER as ANTHROPIC } from '../../instrumentations/anthropic/adapter.js';
import { guardCreate as guardAnthropicCreate, type MessagesCreate } from '../../instrumentations/anthropic/guard.js';
import { PROVIDER as BEDROCK } from '../../instrumentations/bedrock/adapter.js';
import { guardSend, type SendFn } from '../../instrumentations/bedrock/guard.js';
import { bindingFromInstrumentationConfig } from '../../instrumentations/common/binding.js';
import { instrumentationScope } from '../../instrumentations/common/scope-name.js';
import { isAPIPromiseClass, registerAPIPromiseClass } from '../../instrumentations/common/stainless.js';
import { PROVIDER as OPENAI } from '../../instrumentations/openai/adapter.js';
import { mergeAzureDeployments, type AzureDeployments } from '../../instrumentations/common/azure-deployments.js';
import { guardCreate as guardOpenAICreate } from '../../instrumentations/openai/guard.js';
import { SpendGuard } from '../engine/guard.js';
import { watchPolicyFile, type PolicyWatch } from '../engine/policy-watch.js';
import { watchPriceFile } from '../engine/price-watch.js';
import { InMemorySpendStore } from '../engine/memory-spend-store.js';
import type { SpendStore } from '../engine/spend-store.js';
import { spendStoreFromUrl } from '../stores/from-url.js';
import type { AiSdkFactories } from './ai-sdk.js';
import type { EnvConfig } from './env-config.js';
import { engineNet, type EngineNet } from './net-engine.js';
import type { NetFactories, SafetyNetSettings } from './safety-net.js';
import { createLogStore, type LogExport, type RegisteredLogStore } from './log-export.js';
import type { GuardFactories, InstrumentationLike } from './provider-patches.js';
import { warmTokenizerLater } from './tokenizer-warmup.js';

export { spendStoreFromUrl };
export { webSocketFrameGuard } from './websocket-engine.js';
export { assertChainSignerSync } from '../../exporters/file/signer-check.js';

/** The default spend store (this process only). */
export function memorySpendStore(): SpendStore {
  return new InMemorySpendStore();
}

/** What the engine stage built. */
export interface Engine {
  guard: SpendGuard;
  logStore: RegisteredLogStore;
  spendStore: SpendStore;
  policyWatch: PolicyWatch;
  /** The Azure deployment map in force: the policy file's (reloaded with it), then `AGENTGUARD_AZURE_DEPLOYMENTS`. */
  azureDeployments(): AzureDeployments | undefined;
  /** Stops the policy watch, flushes and closes the log and the spend store. */
  close(): Promise<void>;
}

/** The instrumentation scope of each provider's spans: the one the provider instrumentations use. */
export const SCOPES = {
  openai: instrumentationScope(OPENAI),
  anthropic: instrumentationScope(ANTHROPIC),
  bedrock: instrumentationScope(BEDROCK),
  'ai-sdk': instrumentationScope('ai-sdk'),
} as const;

/** A tracer from the global provider at each call, so a provider the app registers later is used. */
export function tracerFor(name: keyof typeof SCOPES) {
  return trace.getTracer(SCOPES[name].name, SCOPES[name].version);
}

/**
 * Builds the engine from a configuration the start stage has already validated.
 * Nothing here fails on configuration; a log that cannot be opened is reported
 * through `warn` and fails guarded calls closed.
 */
export function startEngine(config: EnvConfig, logExport: LogExport, spendStore: SpendStore, warn: (line: string) => void, net?: SafetyNetSettings): Engine {
  const logStore = createLogStore(config, logExport, warn);
  const guard = new SpendGuard({
    policies: config.policies,
    signingKeys: config.signingKeys,
    logStore,
    spendStore,
    onUnknownModel: config.onUnknownModel,
    ...(config.defaultMaxOutputTokens !== undefined ? { defaultMaxOutputTokens: config.defaultMaxOutputTokens } : {}),
    ...(config.reservationTtlMs !== undefined ? { reservationTtlMs: config.reservationTtlMs } : {}),
    ...(config.priceOverrides ? { pricing: { overrides: config.priceOverrides } } : {}),
    ...(config.mode === 'shadow' ? { modeOverride: 'shadow' as const } : {}),
  });
  let azureDeployments = config.azureDeployments;
  const policyWatch = watchPolicyFile(config.policyPath, guard, {
    azureDeployments: config.policyAzureDeployments,
    onAzureDeployments: (fromFile) => (azureDeployments = mergeAzureDeployments(fromFile, config.envAzureDeployments)),
    onError: (err) => warn(`agentguard-spend: AGENTGUARD_POLICY: reload of ${config.policyPath} rejected, the policies in force stay: ${err.message}`),
  });
  const priceWatch =
    config.pricesPath && config.priceOverrides
      ? watchPriceFile(config.pricesPath, guard, config.priceOverrides, {
          onError: (err) => warn(`agentguard-spend: AGENTGUARD_PRICES: reload of ${config.pricesPath} rejected, the prices in force stay: ${err.message}`),
        })
      : undefined;
  warmTokenizerLater();
  if (net) activeNet = engineNet(config, net, guard, spendStore, warn);
  const netOpened = activeNet;

  const close = async () => {
    policyWatch.close();
    priceWatch?.close();
    await netOpened?.close().catch(() => undefined);
    try {
      // The guard first waits for outcomes still settling and entries still being signed, then closes the log.
      await guard.close();
    } catch (err) {
      warn(
        `agentguard-spend: ${logExport === 'otel' ? 'AGENTGUARD_LOG_EXPORT' : 'AGENTGUARD_LOG_DIR'}: closing the decision log failed: ${(err as Error).message}`,
      );
    }
    await spendStore.close?.().catch(() => undefined);
  };
  return { guard, logStore, spendStore, policyWatch, azureDeployments: () => azureDeployments, close };
}

type State = { instrumentation: InstrumentationLike };
const bindingOf = (state: State) => () => bindingFromInstrumentationConfig(state.instrumentation.getConfig(), state.instrumentation.tracer);

/** The enforcing functions, as the provider instrumentations build them, configured through the wrapper's state. */
export const guardFactories: GuardFactories = {
  openai(callOriginal, state, endpoint, OpenAI, APIPromise) {
    const apiPromiseClass = isAPIPromiseClass(APIPromise) ? APIPromise : undefined;
    if (apiPromiseClass) registerAPIPromiseClass(OpenAI, apiPromiseClass);
    return guardOpenAICreate(callOriginal, endpoint, {
      binding: bindingOf(state),
      enabled: () => state.instrumentation.isEnabled(),
      apiPromiseClass,
      azureDeployments: () => state.instrumentation.getConfig().azureDeployments,
    });
  },
  anthropic(callOriginal, state) {
    return guardAnthropicCreate(callOriginal as MessagesCreate, bindingOf(state));
  },
  bedrockSend(state, self, callOriginal, command, optionsOrCb, cb) {
    return guardSend(bindingOf(state), self, callOriginal as SendFn, command, optionsOrCb, cb);
  },
};

/** The safety net's configuration of the started engine (one engine per process). */
let activeNet: EngineNet | undefined;
const netConfig = () => {
  if (!activeNet) throw new Error('agentguard-spend: the safety net was called before the engine started');
  return activeNet.config();
};

/** The safety net's guards over the original `fetch`, `http(s).request`/`get`, `http2.connect` and undici's `dispatch`. */
export const netFactories: NetFactories = {
  fetch: (original) => guardFetch(original as typeof fetch, netConfig),
  request: (original, protocol, get) => guardRequest(original as Parameters<typeof guardRequest>[0], protocol, netConfig, get),
  http2Connect: (original) => guardHttp2Connect(original as Parameters<typeof guardHttp2Connect>[0], netConfig),
  undiciDispatch: (original) => guardUndiciDispatch(original as Parameters<typeof guardUndiciDispatch>[0], netConfig),
};

/** The AI SDK providers' guarded `doGenerate`/`doStream`/`doEmbed`, configured through the wrapper's state. */
export const aiSdkFactories: AiSdkFactories = {
  model: (original, stream, state) =>
    guardModelMethod(
      original as ModelMethod,
      stream,
      () => state.instrumentation.getBinding(),
      () => state.instrumentation.azureDeployments?.(),
    ),
  embed: (original, state) =>
    guardEmbedMethod(
      original as EmbedMethod,
      () => state.instrumentation.getBinding(),
      () => state.instrumentation.azureDeployments?.(),
    ),
};

export { bindingFromInstrumentationConfig };
