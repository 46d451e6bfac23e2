import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped } from '@opentelemetry/instrumentation';
import { bindingFromInstrumentationConfig, type SpendGuardInstrumentationConfig } from '../common/binding.js';
import { guardMessagesCreate, type MessagesCreate } from './adapter.js';

/** `@anthropic-ai/sdk` versions this instrumentation is tested against (see test/providers/anthropic/matrix.json). */
export const ANTHROPIC_SUPPORTED_VERSIONS = '>=0.50.1 <2';
export const ANTHROPIC_INSTRUMENTATION_NAME = 'agentguard-spend/instrumentation-anthropic';
export const ANTHROPIC_INSTRUMENTATION_VERSION = '0.1.0';

interface MessagesClass {
  prototype: { create: MessagesCreate };
}

/**
 * The `Messages` classes whose `create` we guard, reached from the package's
 * main export: `Anthropic.Messages` and `Anthropic.Beta.Messages`. Works on the
 * CommonJS exports (a function with `default`/`Anthropic` properties) and on an
 * ESM namespace (`default` is the client class).
 */
export function anthropicMessagesClasses(moduleExports: unknown): MessagesClass[] {
  const ns = moduleExports as { Anthropic?: unknown; default?: unknown } | undefined;
  const candidates = [ns?.Anthropic, ns?.default, (ns?.default as { Anthropic?: unknown } | undefined)?.Anthropic];
  const client = candidates.find((c) => typeof c === 'function' && typeof (c as { Messages?: unknown }).Messages === 'function') as
    | { Messages: MessagesClass; Beta?: { Messages?: MessagesClass } }
    | undefined;
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
 * Our `create` wrapper is not marked as shimmer-wrapped to other
 * instrumentations, so one registered later wraps around it instead of
 * unwrapping it (see README, "Coexistence").
 */
export class AnthropicSpendGuardInstrumentation extends InstrumentationBase<SpendGuardInstrumentationConfig> {
  constructor(config: SpendGuardInstrumentationConfig = {}) {
    super(ANTHROPIC_INSTRUMENTATION_NAME, ANTHROPIC_INSTRUMENTATION_VERSION, config);
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
    const getBinding = () => bindingFromInstrumentationConfig(this.getConfig(), this.tracer);
    for (const cls of classes) {
      const proto = cls.prototype;
      if (isOurs(proto.create)) continue;
      // A wrapper another instrumentation put there first stays: hide its marker so `_wrap` wraps it instead of unwrapping it.
      const below = proto.create as MessagesCreate & { __wrapped?: boolean };
      const hidden = isWrapped(below);
      if (hidden) below.__wrapped = false;
      try {
        this._wrap(proto, 'create', (original: MessagesCreate) => markOurs(guardMessagesCreate(original, getBinding)));
      } finally {
        if (hidden) below.__wrapped = true;
      }
      // Other instrumentations' `_wrap` unwraps anything marked wrapped: ours is not marked, so they wrap around it.
      const ours = proto.create as MessagesCreate & { __wrapped?: boolean; __unwrap?: () => void };
      if (isOurs(ours)) {
        ours.__wrapped = false;
        // Only our own disable() may take enforcement off; another instrumentation's `_unwrap` is refused.
        const unwrap = ours.__unwrap;
        const diag = this._diag;
        if (typeof unwrap === 'function') {
          Object.defineProperty(ours, '__unwrap', {
            configurable: true,
            writable: true,
            value: () => {
              if (unwrapping) unwrap();
              else diag.warn('another instrumentation tried to unwrap Messages.create; spend enforcement stays in place');
            },
          });
        }
      }
    }
  }

  /** Removes our wrapper from one loaded copy of the SDK. */
  unpatchExports(moduleExports: unknown): void {
    for (const cls of anthropicMessagesClasses(moduleExports)) {
      const proto = cls.prototype as { create: MessagesCreate & { __unwrap?: () => void } };
      if (!isOurs(proto.create)) continue;
      unwrapping = true;
      try {
        this._unwrap(proto, 'create');
      } finally {
        unwrapping = false;
      }
    }
  }
}

let unwrapping = false;
const OURS = Symbol.for('agentguard-spend.anthropic.create');

function markOurs(fn: MessagesCreate): MessagesCreate {
  Object.defineProperty(fn, OURS, { value: true });
  return fn;
}

function isOurs(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as unknown as Record<symbol, unknown>)[OURS] === true;
}
