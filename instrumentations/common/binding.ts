import { trace, type Tracer } from '@opentelemetry/api';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { CapabilityTier } from '../../src/engine/capability.js';
import { AgentGuardError } from '../../src/audit/errors.js';
import { SpendGuard, type SpendGuardConfig } from '../../src/engine/guard.js';
import type { SpendPolicy, SpendScope } from '../../src/engine/policy.js';
import type { GuardBinding } from './guarded-call.js';
import { PACKAGE_VERSION } from './version.js';

/** Configuration shared by the three provider instrumentations. */
export interface SpendGuardInstrumentationConfig extends InstrumentationConfig {
  /** The engine every patched call goes through. Without one, patched calls fail closed. */
  guard?: SpendGuard;
  /** Default scope of calls (per-call overrides via headers or `withSpendScope`). */
  scope?: SpendScope | (() => SpendScope);
  /** Default capability claim of calls. */
  capabilityClaim?: CapabilityTier;
}

/** Options of the explicit `with…SpendGuard` wrappers. */
export interface SpendGuardWrapperOptions {
  /** An existing engine; or give `policy`/`policies` and `config` to build one. */
  guard?: SpendGuard;
  policy?: SpendPolicy;
  policies?: SpendPolicy[];
  /** Engine configuration (signing keys, stores, pricing...). */
  config?: Partial<SpendGuardConfig>;
  scope: SpendScope | (() => SpendScope);
  capabilityClaim?: CapabilityTier;
  tracer?: Tracer;
}

/** The binding of an instrumentation's current config; throws if no guard is configured. */
export function bindingFromInstrumentationConfig(config: SpendGuardInstrumentationConfig, tracer: Tracer): GuardBinding {
  if (!config.guard) throw new AgentGuardError('agentguard-spend: instrumentation has no SpendGuard configured; refusing to send an unguarded call');
  if (!config.scope) throw new AgentGuardError('agentguard-spend: instrumentation has no default scope (scope.tenantId) configured');
  return { guard: config.guard, scope: config.scope, tracer, ...(config.capabilityClaim ? { capabilityClaim: config.capabilityClaim } : {}) };
}

/** The binding of wrapper options, building a SpendGuard when none is given; `scope` names the wrapper's tracer (see `./scope-name.ts`). */
export function bindingFromWrapperOptions(options: SpendGuardWrapperOptions, scope: string | { name: string; version: string }): GuardBinding {
  const { name, version } = typeof scope === 'string' ? { name: scope, version: PACKAGE_VERSION } : scope;
  if (!options || !options.scope) throw new TypeError('spend guard wrapper: options.scope is required');
  let guard = options.guard;
  if (!guard) {
    const cfg = options.config ?? {};
    if (!cfg.signingKeys) throw new TypeError('spend guard wrapper: options.config.signingKeys is required when no guard is given');
    guard = new SpendGuard({
      ...cfg,
      signingKeys: cfg.signingKeys,
      ...(options.policy ? { policy: options.policy } : {}),
      policies: [...(cfg.policies ?? []), ...(options.policies ?? [])],
    });
  }
  return {
    guard,
    scope: options.scope,
    tracer: options.tracer ?? trace.getTracer(name, version),
    ...(options.capabilityClaim ? { capabilityClaim: options.capabilityClaim } : {}),
  };
}
