/**
 * The engine-stage side of `register`'s safety net: the configuration the
 * net's guards read at each request (part of `dist/register-engine.cjs`).
 */
import { trace } from '@opentelemetry/api';
import { FileDecisionLogStore } from '../../exporters/file/file-store.js';
import { newChainId } from '../../exporters/file/naming.js';
import type { GuardBinding } from '../../instrumentations/common/guarded-call.js';
import { instrumentationScope } from '../../instrumentations/common/scope-name.js';
import type { SafetyNetConfig } from '../../instrumentations/safety-net/net-call.js';
import { SpendGuard } from '../engine/guard.js';
import type { SpendStore } from '../engine/spend-store.js';
import type { EnvConfig } from './env-config.js';
import type { SafetyNetSettings } from './safety-net.js';

/** The instrumentation scope of the safety net's spans. */
export const SAFETY_NET_SCOPE = instrumentationScope('safety-net');

/** The net's configuration for the engine's guard, and how to close what it opened. */
export interface EngineNet {
  config(): SafetyNetConfig;
  /** Flushes and closes the `warn` mode's chain, if one was opened. */
  close(): Promise<void>;
}

/**
 * In `decide` mode the net's calls go through the register's engine like any
 * guarded call. In `warn` mode they are recorded by a second engine in shadow
 * mode (signed, settled, never changed; the same policies and spend windows)
 * on its own chain in the log directory, named `unguarded-…`, opened on the
 * first such request.
 */
export function engineNet(config: EnvConfig, settings: SafetyNetSettings, guard: SpendGuard, spendStore: SpendStore, warn: (line: string) => void): EngineNet {
  const binding: GuardBinding = {
    guard,
    scope: config.scope,
    // A tracer from the global provider at each call, so a provider the app registers later is used.
    get tracer() {
      return trace.getTracer(SAFETY_NET_SCOPE.name, SAFETY_NET_SCOPE.version);
    },
    ...(config.capabilityClaim ? { capabilityClaim: config.capabilityClaim } : {}),
  };
  let warnStore: FileDecisionLogStore | undefined;
  let warnBinding: GuardBinding | undefined;
  const warnGuard = (): GuardBinding => {
    if (!warnBinding) {
      warnStore = new FileDecisionLogStore({
        dir: config.logDir,
        durability: config.durability,
        chainId: `unguarded-${config.chainId ?? newChainId()}`.slice(0, 200),
      });
      const shadow = new SpendGuard({
        policies: [...guard.policies],
        signingKeys: config.signingKeys,
        logStore: warnStore,
        spendStore,
        onUnknownModel: 'allow',
        modeOverride: 'shadow',
        ...(config.defaultMaxOutputTokens !== undefined ? { defaultMaxOutputTokens: config.defaultMaxOutputTokens } : {}),
      });
      warnBinding = { ...binding, guard: shadow };
    }
    // The policies in force (hot reload replaces the register engine's).
    (warnBinding.guard as SpendGuard).setPolicies([...guard.policies]);
    return warnBinding;
  };
  const netConfig: SafetyNetConfig = { mode: settings.mode, hosts: settings.hosts, binding: () => binding, warnBinding: warnGuard, warn };
  return {
    config: () => netConfig,
    async close() {
      await warnStore?.close();
    },
  };
}
