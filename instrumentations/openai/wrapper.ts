import { bindingFromWrapperOptions, type SpendGuardWrapperOptions } from '../common/binding.js';
import type { GuardBinding } from '../common/guarded-call.js';
import type { OpenAIEndpoint } from './adapter.js';
import { preloadTokenizer } from './estimate.js';
import { guardCreate, OPENAI_SCOPE } from './instrumentation.js';
import { validateAzureDeployments, type AzureDeployments } from './azure.js';

/** Options of {@link withSpendGuard}: the shared ones, plus Azure deployments. */
export interface OpenAISpendGuardWrapperOptions extends SpendGuardWrapperOptions {
  /**
   * Azure deployment name → the model it serves (`{ 'prod-chat': 'gpt-4o' }`),
   * for an `AzureOpenAI` client: calls are priced at the deployment's model,
   * and a downgrade goes to a deployment serving the target. See `README.md`.
   */
  azureDeployments?: AzureDeployments;
}

/**
 * Returns a spend-guarded OpenAI client with the same API and class as
 * `client` (`instanceof OpenAI` holds; TypeScript type unchanged).
 *
 * It is a copy made with the SDK's own `client.withOptions({})` whose
 * `chat.completions.create`, `responses.create` and `embeddings.create` are guarded; every helper
 * (`chat.completions.stream/parse/runTools`, `responses.stream/parse`) goes
 * through them because the SDK calls `create` on the client the resource
 * belongs to. `withOptions()` on the guarded client returns a guarded client.
 * The original `client` is left untouched.
 *
 * Per-call scope: `x-agentguard-*` request headers (stripped before sending),
 * or `withSpendScope(...)`.
 */
export function withSpendGuard<C extends object>(client: C, options: OpenAISpendGuardWrapperOptions): C {
  const binding = bindingFromWrapperOptions(options, OPENAI_SCOPE);
  const azureDeployments = options.azureDeployments === undefined ? undefined : validateAzureDeployments(options.azureDeployments);
  preloadTokenizer();
  return guardClient(client, binding, azureDeployments);
}

function guardClient<C extends object>(client: C, binding: GuardBinding, azureDeployments: AzureDeployments | undefined): C {
  const withOptions = (client as { withOptions?: (o: object) => C }).withOptions;
  if (typeof withOptions !== 'function') {
    throw new TypeError('withSpendGuard: expected an OpenAI client from the openai package (>=5), which has withOptions()');
  }
  const copy = withOptions.call(client, {});
  const resources: [OpenAIEndpoint, unknown][] = [
    ['chat.completions', (copy as { chat?: { completions?: unknown } }).chat?.completions],
    ['responses', (copy as { responses?: unknown }).responses],
    ['embeddings', (copy as { embeddings?: unknown }).embeddings],
  ];
  for (const [endpoint, resource] of resources) {
    if (!resource || typeof (resource as { create?: unknown }).create !== 'function') continue;
    // The prototype's current method at call time, so instrumentations applied later still see the call.
    const original = function (this: unknown, ...args: unknown[]) {
      const proto = Object.getPrototypeOf(resource) as { create: (...a: unknown[]) => unknown };
      return proto.create.apply(this, args);
    };
    Object.defineProperty(resource, 'create', {
      configurable: true,
      writable: true,
      enumerable: false,
      value: guardCreate(original, endpoint, { binding: () => binding, azureDeployments: () => azureDeployments }),
    });
  }
  Object.defineProperty(copy, 'withOptions', {
    configurable: true,
    writable: true,
    enumerable: false,
    value: (o: object) => guardClient(withOptions.call(copy, o) as C, binding, azureDeployments),
  });
  return copy;
}
