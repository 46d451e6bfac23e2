import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { bindingFromInstrumentationConfig, type SpendGuardInstrumentationConfig } from '../common/binding.js';
import { installCoexistingWrapper, uninstallCoexistingWrapper } from '../common/coexisting-wrap.js';
import { instrumentationScope } from '../common/scope-name.js';
import { PROVIDER } from './adapter.js';
import { guardCreate, type MessagesCreate } from './guard.js';

/** `@anthropic-ai/sdk` versions this instrumentation is tested against (see test/instrumentations/anthropic/matrix.json). */
export const ANTHROPIC_SUPPORTED_VERSIONS = '>=0.50.1 <2';
/** The instrumentation scope of the Anthropic instrumentation and wrapper. */
export const ANTHROPIC_SCOPE = instrumentationScope(PROVIDER);

export { guardCreate, type MessagesCreate } from './guard.js';

interface MessagesClass {
  prototype: { create: MessagesCreate };
}

/**
 * The `Messages` classes whose `create` we guard, reached from the package's
 * main export: `Anthropic.Messages` and `Anthropic.Beta.Messages`. Works on the
 * CommonJS exports (a function with `default`/`Anthropic` properties) and on an
 * ESM namespace (`default` is the client class).
 */
function anthropicMessagesClasses(moduleExports: unknown): MessagesClass[] {
  const ns = moduleExports as { Anthropic?: unknown; default?: unknown } | undefined;
  const candidates = [ns?.Anthropic, ns?.default, (ns?.default as { Anthropic?: unknown } | undefined)?.Anthropic];
  const client = candidates.find((c) => typeof c === 'function' && typeof (c as { Messages?: unknown }).Messages === 'function') as
    { Messages: MessagesClass; Beta?: { Messages?: MessagesClass } } | undefined;
  if (!client) return [];
  const classes = [client.Messages, client.Beta?.Messages].filter(
    (c): c is MessagesClass => typeof (c as MessagesClass | undefined)?.prototype?.create === 'function',
  );
  return [...new Set(classes)];
}

/**
 * Enforces spend policy on `@anthropic-ai/sdk`: patches
 * `Messages.prototype.create` (and the beta `Messages`), which
 * `messages.create` (plain and `stream: true`), `messages.stream()` and
 * `messages.parse()` all go through. The CommonJS and ESM builds of the SDK are
 * separate copies; each one that gets loaded is patched.
 *
 * Our `create` wrapper carries no shimmer markers, so an instrumentation
 * registered later wraps around it instead of unwrapping it (see
 * `../common/coexisting-wrap.ts` and README, "Coexistence").
 */
export class AnthropicSpendGuardInstrumentation extends InstrumentationBase<SpendGuardInstrumentationConfig> {
  constructor(config: SpendGuardInstrumentationConfig = {}) {
    super(ANTHROPIC_SCOPE.name, ANTHROPIC_SCOPE.version, config);
  }

  protected init() {
    return new InstrumentationNodeModuleDefinition(
      '@anthropic-ai/sdk',
      [ANTHROPIC_SUPPORTED_VERSIONS],
      (moduleExports) => {
        this.patchExports(moduleExports);
        return moduleExports;
      },
      (moduleExports) => {
        if (moduleExports) this.unpatchExports(moduleExports);
      },
    );
  }

  /** Patches the classes of one loaded copy of the SDK (used by the module hook; public for tests). */
  patchExports(moduleExports: unknown): void {
    const classes = anthropicMessagesClasses(moduleExports);
    if (classes.length === 0) {
      this._diag.error('@anthropic-ai/sdk loaded, but no Messages class was found on its exports; calls are NOT guarded');
      return;
    }
    for (const cls of classes) {
      installCoexistingWrapper(cls.prototype, 'create', WRAPPER_STATE, this as AnthropicSpendGuardInstrumentation, (original, state) =>
        guardCreate(original, () => bindingFromInstrumentationConfig(state.instrumentation.getConfig(), state.instrumentation.tracer)),
      );
    }
  }

  /** Removes our wrapper from one loaded copy of the SDK. */
  unpatchExports(moduleExports: unknown): void {
    for (const cls of anthropicMessagesClasses(moduleExports)) uninstallCoexistingWrapper(cls.prototype, 'create', WRAPPER_STATE);
  }
}

/** Marks our `create` wrappers (see `../common/coexisting-wrap.ts`). */
const WRAPPER_STATE = Symbol.for('agentguard-spend.anthropic.create-wrapper');
