import { bindingFromWrapperOptions, type SpendGuardWrapperOptions } from '../common/binding.js';
import type { GuardBinding } from '../common/guarded-call.js';
import type { OpenAIEndpoint } from './adapter.js';
import { preloadTokenizer } from './estimate.js';
import { guardCreate, OPENAI_SCOPE } from './instrumentation.js';

/**
 * Returns a spend-guarded OpenAI client with the same API and class as
 * `client` (`instanceof OpenAI` holds; TypeScript type unchanged).
 *
 * It is a copy made with the SDK's own `client.withOptions({})` whose
 * `chat.completions.create` and `responses.create` are guarded; every helper
 * (`chat.completions.stream/parse/runTools`, `responses.stream/parse`) goes
 * through them because the SDK calls `create` on the client the resource
 * belongs to. `withOptions()` on the guarded client returns a guarded client.
 * The original `client` is left untouched.
 *
 * Per-call scope: `x-agentguard-*` request headers (stripped before sending),
 * or `withSpendScope(...)`.
 */
export function withSpendGuard<C extends object>(client: C, options: SpendGuardWrapperOptions): C {
  const binding = bindingFromWrapperOptions(options, OPENAI_SCOPE);
  preloadTokenizer();
  return guardClient(client, binding);
}

function guardClient<C extends object>(client: C, binding: GuardBinding): C {
  const withOptions = (client as { withOptions?: (o: object) => C }).withOptions;
  if (typeof withOptions !== 'function') {
    throw new TypeError('withSpendGuard: expected an OpenAI client from the openai package (>=5), which has withOptions()');
  }
  const copy = withOptions.call(client, {});
  const resources: [OpenAIEndpoint, unknown][] = [
    ['chat.completions', (copy as { chat?: { completions?: unknown } }).chat?.completions],
    ['responses', (copy as { responses?: unknown }).responses],
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
      value: guardCreate(original, endpoint, { binding: () => binding }),
    });
  }
  Object.defineProperty(copy, 'withOptions', {
    configurable: true,
    writable: true,
    enumerable: false,
    value: (o: object) => guardClient(withOptions.call(copy, o) as C, binding),
  });
  return copy;
}

