import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { bindingFromInstrumentationConfig, type SpendGuardInstrumentationConfig } from '../../instrumentations/common/binding.js';
import { AI_SDK_INSTRUMENTATION_NAME } from '../../instrumentations/ai-sdk/middleware.js';
import { AI_SDK_PROVIDER_MODULES, AI_SDK_SUPPORTED_VERSIONS, patchAiSdkProvider, unpatchAiSdkProvider, type AiSdkPatchTarget } from '../../instrumentations/ai-sdk/patch.js';

/**
 * Hooks the AI SDK provider packages for `register`: when the app loads
 * `@ai-sdk/openai`, `@ai-sdk/anthropic` or `@ai-sdk/amazon-bedrock`
 * (`require`, `require(esm)` or `import`), their language-model classes are
 * patched by `patchAiSdkProvider`. The module hooks are OpenTelemetry's
 * (require-in-the-middle, import-in-the-middle); the patch itself knows
 * nothing of them.
 */
export class AiSdkSpendGuardInstrumentation extends InstrumentationBase<SpendGuardInstrumentationConfig> {
  readonly #target: AiSdkPatchTarget = { getBinding: () => bindingFromInstrumentationConfig(this.getConfig(), this.tracer) };

  constructor(config: SpendGuardInstrumentationConfig = {}) {
    super(AI_SDK_INSTRUMENTATION_NAME, '0.1.0', config);
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
