import { trace } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, type Instrumentation } from '@opentelemetry/instrumentation';
import { FileDecisionLogStore } from '../../exporters/file/file-store.js';
import { newChainId } from '../../exporters/file/naming.js';
import type { GuardBinding } from '../../instrumentations/common/guarded-call.js';
import { installSafetyNet, SAFETY_NET_BUILTINS, type SafetyNet } from '../../instrumentations/safety-net/install.js';
import { parseProviderHosts, type WatchedHost } from '../../instrumentations/safety-net/endpoints.js';
import { UNGUARDED_MODES, type UnguardedMode } from '../../instrumentations/safety-net/net-call.js';
import { SpendGuard } from '../engine/guard.js';
import type { SpendStore } from '../engine/spend-store.js';
import { ConfigError, type EnvConfig } from './env-config.js';

type Env = Record<string, string | undefined>;

/** Tracer name of the safety net's spans. */
export const SAFETY_NET_TRACER = 'agentguard-spend/safety-net';

/** `AGENTGUARD_UNGUARDED` and `AGENTGUARD_PROVIDER_HOSTS`. */
export interface SafetyNetSettings {
  mode: UnguardedMode;
  hosts: WatchedHost[];
}

/**
 * Reads the safety net's settings: `AGENTGUARD_UNGUARDED` (`decide`, the
 * default; `block`; `warn`) and `AGENTGUARD_PROVIDER_HOSTS` (more hosts to
 * watch, `host[:port][=provider[+provider]]`, comma-separated).
 * @throws ConfigError naming the variable.
 */
export function safetyNetSettingsFromEnv(env: Env): SafetyNetSettings {
  const raw = env.AGENTGUARD_UNGUARDED || 'decide';
  if (!(UNGUARDED_MODES as readonly string[]).includes(raw)) throw new ConfigError('AGENTGUARD_UNGUARDED', `expected one of ${UNGUARDED_MODES.join(', ')}, got ${JSON.stringify(raw)}`);
  let hosts: WatchedHost[];
  try {
    hosts = parseProviderHosts(env.AGENTGUARD_PROVIDER_HOSTS);
  } catch (err) {
    throw new ConfigError('AGENTGUARD_PROVIDER_HOSTS', (err as Error).message);
  }
  return { mode: raw as UnguardedMode, hosts };
}

/** What `register` needs to run the net: the engine, its stores, the settings. */
export interface SafetyNetSetup {
  config: EnvConfig;
  settings: SafetyNetSettings;
  guard: SpendGuard;
  spendStore: SpendStore;
  warn: (line: string) => void;
}

/** The installed net and how to close what it opened. */
export interface RegisteredSafetyNet {
  net: SafetyNet;
  /** Patches `node:http`, `node:https`, `node:http2` when the app first loads each (require or import). */
  instrumentation: Instrumentation;
  /** The builtins to add to the ESM import hook's include list. */
  modules: string[];
  /** Flushes and closes the `warn` mode's chain, if one was opened. */
  shutdown(): Promise<void>;
}

/**
 * Installs the safety net for `register`. In `decide` mode the net's calls go
 * through the register's engine like any guarded call. In `warn` mode they
 * are recorded by a second engine in shadow mode (signed, settled, never
 * changed; the same policies and spend windows) on its own chain in the log
 * directory, named `unguarded-…`, opened on the first such request.
 */
export function registerSafetyNet(s: SafetyNetSetup): RegisteredSafetyNet {
  const tracer = trace.getTracer(SAFETY_NET_TRACER);
  const binding: GuardBinding = { guard: s.guard, scope: s.config.scope, tracer, ...(s.config.capabilityClaim ? { capabilityClaim: s.config.capabilityClaim } : {}) };
  let warnStore: FileDecisionLogStore | undefined;
  let warnBinding: GuardBinding | undefined;
  const warnGuard = (): GuardBinding => {
    if (!warnBinding) {
      warnStore = new FileDecisionLogStore({
        dir: s.config.logDir,
        durability: s.config.durability,
        chainId: `unguarded-${s.config.chainId ?? newChainId()}`.slice(0, 200),
      });
      const shadow = new SpendGuard({ policies: [...s.guard.policies], signingKeys: s.config.signingKeys, logStore: warnStore, spendStore: s.spendStore, onUnknownModel: 'allow', modeOverride: 'shadow' });
      warnBinding = { ...binding, guard: shadow };
    }
    // The policies in force (hot reload replaces the register engine's).
    (warnBinding.guard as SpendGuard).setPolicies([...s.guard.policies]);
    return warnBinding;
  };
  const net = installSafetyNet(() => ({ mode: s.settings.mode, hosts: s.settings.hosts, binding: () => binding, warnBinding: warnGuard, warn: s.warn }), { builtins: 'on-load' });
  return {
    net,
    instrumentation: new SafetyNetBuiltinsInstrumentation(net),
    modules: [...SAFETY_NET_BUILTINS],
    async shutdown() {
      await warnStore?.close();
    },
  };
}

/**
 * Loads nothing itself: when the app first requires or imports `http`,
 * `https` or `http2`, the module hooks hand the module to the net, which
 * patches it (start-up does not pay for loading the three).
 */
class SafetyNetBuiltinsInstrumentation extends InstrumentationBase {
  // Set after the base constructor (which enables the hooks); read only when a module loads.
  #net: SafetyNet | undefined;

  constructor(net: SafetyNet) {
    super(SAFETY_NET_TRACER, '0.1.0', {});
    this.#net = net;
  }

  protected init() {
    return SAFETY_NET_BUILTINS.map(
      (name) =>
        new InstrumentationNodeModuleDefinition(name, ['*'], (moduleExports) => {
          this.#net?.patchBuiltin(name, moduleExports);
          return moduleExports;
        }),
    );
  }
}
