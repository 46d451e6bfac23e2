import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { bindingFromInstrumentationConfig, type SpendGuardInstrumentationConfig } from '../common/binding.js';
import { findCoexistingWrapper, installCoexistingWrapper, uninstallCoexistingWrapper } from '../common/coexisting-wrap.js';
import { instrumentationScope } from '../common/scope-name.js';
import { isAPIPromiseClass, registerAPIPromiseClass, type APIPromiseClass } from '../common/stainless.js';
import { PROVIDER, type OpenAIEndpoint } from './adapter.js';
import { validateAzureDeployments, type AzureDeployments } from './azure.js';
import { guardCreate } from './guard.js';
import { preloadTokenizer } from './estimate.js';

/** The OpenAI instrumentation's configuration: the shared one, plus Azure deployments. */
export interface OpenAISpendGuardInstrumentationConfig extends SpendGuardInstrumentationConfig {
  /**
   * Azure deployment name → the model it serves (`{ 'prod-chat': 'gpt-4o' }`),
   * for calls through `AzureOpenAI` (or Azure's `/openai/v1` API): calls are
   * priced at the deployment's model, and a downgrade goes to a deployment
   * serving the target. See `README.md` ("Azure OpenAI").
   */
  azureDeployments?: AzureDeployments;
}

/** The `openai` versions this instrumentation is tested with (see `test/instrumentations/openai/matrix.json`). */
export const SUPPORTED_OPENAI_VERSIONS = ['>=5.0.0 <8'];
/** The instrumentation scope of the OpenAI instrumentation and wrapper. */
export const OPENAI_SCOPE = instrumentationScope(PROVIDER);

export { guardCreate } from './guard.js';

/** Marks our `create` wrappers (see `../common/coexisting-wrap.ts` and `README.md`). */
const WRAPPER_STATE = Symbol.for('agentguard-spend.openai.create-wrapper');

/**
 * Enforces spend policy on `openai`: patches `OpenAI.Chat.Completions.prototype.create`,
 * `OpenAI.Responses.prototype.create` (plain and `stream: true`; the SDK's
 * `stream()`, `parse()` and `runTools()` helpers go through them) and
 * `OpenAI.Embeddings.prototype.create` (priced by input alone). CommonJS and
 * ESM copies of the SDK are separate classes; each one loaded gets patched.
 */
export class OpenAISpendGuardInstrumentation extends InstrumentationBase<OpenAISpendGuardInstrumentationConfig> {
  constructor(config: OpenAISpendGuardInstrumentationConfig = {}) {
    super(OPENAI_SCOPE.name, OPENAI_SCOPE.version, config);
  }

  /** Sets the configuration; throws a `TypeError` naming the entry when `azureDeployments` is malformed. */
  override setConfig(config: OpenAISpendGuardInstrumentationConfig = {}): void {
    if (config.azureDeployments !== undefined) validateAzureDeployments(config.azureDeployments);
    super.setConfig(config);
  }

  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        'openai',
        SUPPORTED_OPENAI_VERSIONS,
        (moduleExports) => {
          this.patchExports(moduleExports);
          return moduleExports;
        },
        (moduleExports) => {
          this.unpatchExports(moduleExports);
        },
      ),
    ];
  }

  /**
   * Patches an already loaded `openai` module (its CommonJS exports or ESM
   * namespace). The require/import hooks call this; call it yourself for a
   * module loaded before the instrumentation was enabled.
   */
  patchExports(moduleExports: unknown): void {
    const { OpenAI, APIPromise } = resolveExports(moduleExports);
    if (!OpenAI) {
      this._diag.error('openai module has no OpenAI class; not patched (calls are NOT enforced)');
      return;
    }
    if (APIPromise) registerAPIPromiseClass(OpenAI, APIPromise);
    preloadTokenizer();
    const targets = endpoints(OpenAI);
    if (targets.length === 0) this._diag.error('openai module has neither Chat.Completions, Responses nor Embeddings; not patched');
    for (const [endpoint, proto] of targets) this.#install(proto, endpoint, APIPromise);
  }

  /** Removes (or, when another wrapper sits on top of ours, deactivates) our wrappers. */
  unpatchExports(moduleExports: unknown): void {
    const { OpenAI } = resolveExports(moduleExports);
    if (!OpenAI) return;
    for (const [, proto] of endpoints(OpenAI)) this.#uninstall(proto);
  }

  #install(proto: Record<string, unknown>, endpoint: OpenAIEndpoint, APIPromise: APIPromiseClass | undefined): void {
    installCoexistingWrapper(proto, 'create', WRAPPER_STATE, this as OpenAISpendGuardInstrumentation, (original, state) =>
      guardCreate(original, endpoint, {
        binding: () => bindingFromInstrumentationConfig(state.instrumentation.getConfig(), state.instrumentation.tracer),
        enabled: () => state.instrumentation.isEnabled(),
        apiPromiseClass: APIPromise,
        azureDeployments: () => state.instrumentation.getConfig().azureDeployments,
      }),
    );
  }

  #uninstall(proto: Record<string, unknown>): void {
    uninstallCoexistingWrapper(proto, 'create', WRAPPER_STATE);
  }
}

/** Whether `proto.create` reaches our enforcing wrapper (directly or below shimmer wrappers). */
export function isEnforcing(proto: object): boolean {
  return findCoexistingWrapper((proto as Record<string, unknown>).create, WRAPPER_STATE)?.active === true;
}

interface ResolvedExports {
  OpenAI?: {
    Chat?: { Completions?: { prototype: Record<string, unknown> } };
    Responses?: { prototype: Record<string, unknown> };
    Embeddings?: { prototype: Record<string, unknown> };
  };
  APIPromise?: APIPromiseClass;
}

/** The OpenAI class and APIPromise of CommonJS exports or an ESM namespace (`default`). */
function resolveExports(moduleExports: unknown): ResolvedExports {
  if (!moduleExports || (typeof moduleExports !== 'object' && typeof moduleExports !== 'function')) return {};
  const m = moduleExports as Record<string | symbol, unknown>;
  const isNamespace = m[Symbol.toStringTag] === 'Module';
  const base = (isNamespace ? m.default : m) as Record<string, unknown> | undefined;
  const OpenAI = (m.OpenAI ?? base?.OpenAI ?? base) as ResolvedExports['OpenAI'];
  const candidate = m.APIPromise ?? base?.APIPromise;
  return {
    ...(OpenAI && typeof OpenAI === 'function' ? { OpenAI } : {}),
    ...(isAPIPromiseClass(candidate) ? { APIPromise: candidate } : {}),
  };
}

function endpoints(OpenAI: NonNullable<ResolvedExports['OpenAI']>): [OpenAIEndpoint, Record<string, unknown>][] {
  const out: [OpenAIEndpoint, Record<string, unknown>][] = [];
  const chat = OpenAI.Chat?.Completions?.prototype;
  if (chat) out.push(['chat.completions', chat]);
  const responses = OpenAI.Responses?.prototype;
  if (responses) out.push(['responses', responses]);
  const embeddings = OpenAI.Embeddings?.prototype;
  if (embeddings) out.push(['embeddings', embeddings]);
  return out;
}
