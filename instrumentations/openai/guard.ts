import { decideOnce } from '../common/decide-once.js';
import type { GuardBinding } from '../common/guarded-call.js';
import { guardStainlessCreate, type APIPromiseClass } from '../common/stainless.js';
import { openaiAdapter, type OpenAIEndpoint } from './adapter.js';
import { embeddingsAdapter } from './embeddings.js';
import { azureAdapter, azureShapeOf, type AzureDeployments } from './azure.js';

// The enforcing `create`, apart from the instrumentation class so that `register`'s
// engine builds the same function without loading `@opentelemetry/instrumentation`.

/** One decision per call: wrapper over instrumentation (see `../common/decide-once.ts`). */
const once = decideOnce('openai');

type CreateFn = (this: unknown, ...args: unknown[]) => unknown;

/**
 * The guarded `create` of one endpoint, used by the instrumentation (patched
 * onto the prototypes) and by the wrapper (an own property of the wrapped
 * client's resources). The inner APIPromise's parse is shared: anyone else
 * holding it (contrib instrumentation-openai) reads the body once with us.
 */
export function guardCreate(
  original: CreateFn,
  endpoint: OpenAIEndpoint,
  source: { binding(): GuardBinding; enabled?(): boolean; apiPromiseClass?: APIPromiseClass | undefined; azureDeployments?(): AzureDeployments | undefined },
): CreateFn {
  const adapter = endpoint === 'embeddings' ? embeddingsAdapter : openaiAdapter(endpoint);
  return guardStainlessCreate(original, {
    adapter: (client) => {
      const azure = azureShapeOf(client);
      return azure ? azureAdapter(adapter, endpoint, azure, source.azureDeployments?.()) : adapter;
    },
    once,
    binding: source.binding,
    ...(source.enabled ? { enabled: source.enabled } : {}),
    apiPromiseClass: source.apiPromiseClass,
    parse: 'shared',
    withoutAPIPromise: 'plain-promise',
  });
}
