import { diag } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { bindingFromInstrumentationConfig, type SpendGuardInstrumentationConfig } from '../common/binding.js';
import { installCoexistingWrapper, uninstallCoexistingWrapper } from '../common/coexisting-wrap.js';
import { instrumentationScope } from '../common/scope-name.js';
import { PROVIDER } from './adapter.js';
import { guardSend, type SendFn } from './guard.js';

/** The package this instrumentation patches. */
export const BEDROCK_MODULE = '@aws-sdk/client-bedrock-runtime';

/**
 * Tested range: 3.587.0 is the oldest release with `ConverseCommand` and
 * `ConverseStreamCommand`; test/instrumentations/bedrock/matrix.json lists the oldest and
 * newest versions the suite runs against.
 */
export const BEDROCK_SUPPORTED_VERSIONS = ['>=3.587.0 <4'];

/** The instrumentation scope of the Bedrock instrumentation and wrapper. */
export const BEDROCK_SCOPE = instrumentationScope(PROVIDER);

/** Marks our `send` wrapper (see `../common/coexisting-wrap.ts`). */
const PATCH = Symbol.for('agentguard-spend.bedrock.send-patch');

export { guardSend, type SendFn } from './guard.js';

/**
 * Enforces spend policies on `@aws-sdk/client-bedrock-runtime`: wraps
 * `BedrockRuntimeClient.prototype.send` (own property shadowing the inherited
 * `@smithy/core` `Client.prototype.send`; the aggregated `BedrockRuntime` class and its
 * `converse()`/`invokeModel()` methods go through it too) and guards
 * `ConverseCommand`, `ConverseStreamCommand`, `InvokeModelCommand` and
 * `InvokeModelWithResponseStreamCommand`. Every other command passes through unguarded.
 *
 * The package has no ESM build that Node loads (its `module` field is for bundlers), so
 * `import` and `require` reach the same CommonJS classes; the ESM namespace's `default`
 * is resolved too, and a class is only ever patched once.
 *
 * Coexistence (`../common/coexisting-wrap.ts`): another instrumentation's `_wrap` of the
 * same method wraps ours instead of silently removing it; and as `send` is inherited, the
 * inherited implementation is looked up at call time, so a later patch of the base
 * `Client.prototype.send` (e.g. `@opentelemetry/instrumentation-aws-sdk`) still runs below us. Enforcement happens once per call: a send already inside a guarded call
 * (the explicit wrapper over an instrumented client) passes through.
 */
export class BedrockSpendGuardInstrumentation extends InstrumentationBase<SpendGuardInstrumentationConfig> {
  constructor(config: SpendGuardInstrumentationConfig = {}) {
    super(BEDROCK_SCOPE.name, BEDROCK_SCOPE.version, config);
  }

  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        BEDROCK_MODULE,
        BEDROCK_SUPPORTED_VERSIONS,
        (moduleExports: unknown) => {
          for (const proto of clientPrototypes(moduleExports)) this.patchPrototype(proto);
          return moduleExports;
        },
        (moduleExports: unknown) => {
          for (const proto of clientPrototypes(moduleExports)) this.unpatchPrototype(proto);
        },
      ),
    ];
  }

  /**
   * Patches a `BedrockRuntimeClient.prototype` directly (for a module loaded before the
   * instrumentation was enabled). Idempotent.
   */
  patchPrototype(proto: Record<PropertyKey, unknown>): void {
    const patched = installCoexistingWrapper(
      proto,
      'send',
      PATCH,
      this as BedrockSpendGuardInstrumentation,
      (callOriginal, state) =>
        function send(this: unknown, command: unknown, optionsOrCb?: unknown, cb?: unknown): unknown {
          const instrumentation = state.instrumentation;
          return guardSend(
            () => bindingFromInstrumentationConfig(instrumentation.getConfig(), instrumentation.tracer),
            this,
            callOriginal as SendFn,
            command,
            optionsOrCb,
            cb,
          );
        },
    );
    if (!patched) diag.warn(`${BEDROCK_SCOPE.name}: BedrockRuntimeClient.prototype.send not found; not patched`);
  }

  /** Undoes {@link patchPrototype}; a wrapper layered above ours stays and ours passes through. */
  unpatchPrototype(proto: Record<PropertyKey, unknown>): void {
    uninstallCoexistingWrapper(proto, 'send', PATCH);
  }
}

/** `BedrockRuntimeClient.prototype` of a module namespace (CommonJS exports or ESM namespace with `default`). */
function clientPrototypes(moduleExports: unknown): Record<PropertyKey, unknown>[] {
  const out = new Set<Record<PropertyKey, unknown>>();
  const visit = (m: unknown) => {
    if (!m || (typeof m !== 'object' && typeof m !== 'function')) return;
    const cls = (m as { BedrockRuntimeClient?: unknown }).BedrockRuntimeClient;
    if (typeof cls === 'function' && cls.prototype) out.add(cls.prototype as Record<PropertyKey, unknown>);
  };
  visit(moduleExports);
  visit((moduleExports as { default?: unknown } | undefined)?.default);
  return [...out];
}
