import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { validateAzureDeployments, type AzureDeployments } from '../common/azure-deployments.js';
import { bindingFromInstrumentationConfig, type SpendGuardInstrumentationConfig } from '../common/binding.js';
import { instrumentationScope } from '../common/scope-name.js';
import { patchAiSdkProvider, unpatchAiSdkProvider, type AiSdkPatchTarget } from './patch.js';
import { AI_SDK_PROVIDER_MODULES, AI_SDK_SUPPORTED_VERSIONS } from './prototypes.js';

/** The instrumentation scope of the AI SDK integration (the load-time patch and `spendGuardMiddleware`). */
export const AI_SDK_SCOPE = instrumentationScope('ai-sdk');

/** Configuration of {@link AiSdkSpendGuardInstrumentation}. */
export interface AiSdkInstrumentationConfig extends SpendGuardInstrumentationConfig {
  /** Azure deployment name → model, for `@ai-sdk/azure` models (see `spendGuardMiddleware`'s option of the same name). */
  azureDeployments?: AzureDeployments;
}

/**
 * Enforces spend policy on the Vercel AI SDK's providers for an app that
 * enables its instrumentations itself (`registerInstrumentations`, the
 * OpenTelemetry NodeSDK): when the app loads `@ai-sdk/openai`,
 * `@ai-sdk/anthropic`, `@ai-sdk/amazon-bedrock`, `@ai-sdk/azure` or
 * `@ai-sdk/openai-compatible`, their language- and
 * embedding-model classes are patched by `patchAiSdkProvider`, so every
 * `generateText`, `streamText`, `generateObject`, tool loop, agent and
 * `embed` call on their models is decided once. `agentguard-spend/register`
 * does the same without this class.
 */
export class AiSdkSpendGuardInstrumentation extends InstrumentationBase<AiSdkInstrumentationConfig> {
  readonly #target: AiSdkPatchTarget = {
    getBinding: () => bindingFromInstrumentationConfig(this.getConfig(), this.tracer),
    azureDeployments: () => this.getConfig().azureDeployments,
  };

  constructor(config: AiSdkInstrumentationConfig = {}) {
    super(AI_SDK_SCOPE.name, AI_SDK_SCOPE.version, config);
  }

  /** Sets the configuration; throws a `TypeError` naming the entry when `azureDeployments` is malformed. */
  override setConfig(config: AiSdkInstrumentationConfig = {}): void {
    if (config.azureDeployments !== undefined) validateAzureDeployments(config.azureDeployments);
    super.setConfig(config);
  }

  protected init() {
    return AI_SDK_PROVIDER_MODULES.map(
      (name) =>
        new InstrumentationNodeModuleDefinition(
          name,
          [AI_SDK_SUPPORTED_VERSIONS[name]],
          (moduleExports) => {
            patchAiSdkProvider(moduleExports, this.#target);
            return moduleExports;
          },
          (moduleExports) => {
            if (moduleExports) unpatchAiSdkProvider(moduleExports);
          },
        ),
    );
  }
}
