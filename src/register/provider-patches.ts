import { installCoexistingWrapper, type CoexistingWrapperState } from '../../instrumentations/common/coexisting-wrap.js';
import type { SpendGuardInstrumentationConfig } from '../../instrumentations/common/binding.js';
import type { SdkInstrumentationName } from './env-config.js';
import type { AzureDeployments } from '../../instrumentations/common/azure-deployments.js';

/**
 * Patches a loaded copy of a provider package for `register` without loading
 * the engine: the wrapper installed on the SDK method builds the enforcing
 * function (from the engine bundle) on its first call. Installed with the
 * same markers as the provider instrumentations (`Symbol.for` keys of
 * `instrumentations/<provider>/instrumentation.ts`), so that an
 * instrumentation class enabled as well re-activates this wrapper instead of
 * stacking a second one, and an app's own instrumentation of the same method
 * wraps over it (see `instrumentations/common/coexisting-wrap.ts`).
 */

/**
 * The shape the provider instrumentations' wrappers read their configuration
 * through (`state.instrumentation`): an `InstrumentationBase` has it; register
 * provides it without one.
 */
export interface InstrumentationLike {
  getConfig(): SpendGuardInstrumentationConfig & { azureDeployments?: AzureDeployments | undefined };
  readonly tracer: import('@opentelemetry/api').Tracer;
  isEnabled(): boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (this: any, ...args: any[]) => any;
type State = CoexistingWrapperState<InstrumentationLike>;

/** What the engine bundle provides to build the enforcing functions. */
export interface GuardFactories {
  openai(callOriginal: AnyFn, state: State, endpoint: 'chat.completions' | 'responses' | 'embeddings', OpenAI: unknown, APIPromise: unknown): AnyFn;
  anthropic(callOriginal: AnyFn, state: State): AnyFn;
  bedrockSend(state: State, self: unknown, callOriginal: AnyFn, command: unknown, optionsOrCb?: unknown, cb?: unknown): unknown;
}

const MARKERS = {
  openai: Symbol.for('agentguard-spend.openai.create-wrapper'),
  anthropic: Symbol.for('agentguard-spend.anthropic.create-wrapper'),
  bedrock: Symbol.for('agentguard-spend.bedrock.send-patch'),
} as const;

/** Patches one loaded copy of `provider`'s package; returns how many methods were wrapped (0: nothing recognised). */
export function patchProvider(
  provider: SdkInstrumentationName,
  moduleExports: unknown,
  instrumentation: InstrumentationLike,
  factories: () => GuardFactories,
): number {
  switch (provider) {
    case 'openai':
      return patchOpenAI(moduleExports, instrumentation, factories);
    case 'anthropic':
      return patchAnthropic(moduleExports, instrumentation, factories);
    case 'bedrock':
      return patchBedrock(moduleExports, instrumentation, factories);
  }
}

/** Builds `build()` on the first call and calls it from then on. */
function lazy(build: () => AnyFn): AnyFn {
  let fn: AnyFn | undefined;
  return function (this: unknown, ...args: unknown[]) {
    return (fn ??= build()).apply(this, args);
  };
}

type Proto = Record<string, unknown>;

function patchOpenAI(moduleExports: unknown, instrumentation: InstrumentationLike, factories: () => GuardFactories): number {
  if (!isObjectLike(moduleExports)) return 0;
  const m = moduleExports as Record<string | symbol, unknown>;
  const base = (m[Symbol.toStringTag] === 'Module' ? m.default : m) as Record<string, unknown> | undefined;
  const candidate: unknown = m.OpenAI ?? base?.OpenAI ?? base;
  if (typeof candidate !== 'function') return 0;
  const OpenAI = candidate as unknown as { Chat?: { Completions?: { prototype: Proto } }; Responses?: { prototype: Proto }; Embeddings?: { prototype: Proto } };
  const APIPromise = m.APIPromise ?? base?.APIPromise;
  const targets: ['chat.completions' | 'responses' | 'embeddings', Proto | undefined][] = [
    ['chat.completions', OpenAI.Chat?.Completions?.prototype],
    ['responses', OpenAI.Responses?.prototype],
    ['embeddings', OpenAI.Embeddings?.prototype],
  ];
  let n = 0;
  for (const [endpoint, proto] of targets) {
    if (!proto) continue;
    const done = installCoexistingWrapper(proto, 'create', MARKERS.openai, instrumentation, (callOriginal, state) =>
      lazy(() => factories().openai(callOriginal, state, endpoint, OpenAI, APIPromise)),
    );
    if (done) n++;
  }
  return n;
}

function patchAnthropic(moduleExports: unknown, instrumentation: InstrumentationLike, factories: () => GuardFactories): number {
  const ns = moduleExports as { Anthropic?: unknown; default?: unknown } | undefined;
  const candidates = [ns?.Anthropic, ns?.default, (ns?.default as { Anthropic?: unknown } | undefined)?.Anthropic];
  const client = candidates.find((c) => typeof c === 'function' && typeof (c as { Messages?: unknown }).Messages === 'function') as
    { Messages: { prototype: Proto }; Beta?: { Messages?: { prototype: Proto } } } | undefined;
  if (!client) return 0;
  const protos = new Set([client.Messages?.prototype, client.Beta?.Messages?.prototype].filter((p): p is Proto => typeof p?.create === 'function'));
  let n = 0;
  for (const proto of protos) {
    const done = installCoexistingWrapper(proto, 'create', MARKERS.anthropic, instrumentation, (callOriginal, state) =>
      lazy(() => factories().anthropic(callOriginal, state)),
    );
    if (done) n++;
  }
  return n;
}

function patchBedrock(moduleExports: unknown, instrumentation: InstrumentationLike, factories: () => GuardFactories): number {
  const protos = new Set<Proto>();
  for (const m of [moduleExports, (moduleExports as { default?: unknown } | undefined)?.default]) {
    const cls: unknown = isObjectLike(m) ? (m as { BedrockRuntimeClient?: unknown }).BedrockRuntimeClient : undefined;
    const proto = typeof cls === 'function' ? (cls.prototype as Proto | undefined) : undefined;
    if (proto) protos.add(proto);
  }
  let n = 0;
  for (const proto of protos) {
    const done = installCoexistingWrapper(
      proto,
      'send',
      MARKERS.bedrock,
      instrumentation,
      (callOriginal, state) =>
        function send(this: unknown, command: unknown, optionsOrCb?: unknown, cb?: unknown): unknown {
          return factories().bedrockSend(state, this, callOriginal, command, optionsOrCb, cb);
        },
    );
    if (done) n++;
  }
  return n;
}

function isObjectLike(v: unknown): boolean {
  return !!v && (typeof v === 'object' || typeof v === 'function');
}
