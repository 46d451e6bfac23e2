import { bindingFromWrapperOptions, type SpendGuardWrapperOptions } from '../common/binding.js';
import type { GuardBinding } from '../common/guarded-call.js';
import { ANTHROPIC_SCOPE, guardCreate, type MessagesCreate } from './instrumentation.js';

/**
 * Returns `client` with every `messages.create` (plain and `stream: true`),
 * `messages.stream()`, `messages.parse()` and the same on `beta.messages`
 * going through the spend guard. The result is a Proxy of the client: same
 * API, same types, `instanceof Anthropic` still holds, and `withOptions()`
 * returns a guarded copy. Per-call scope: `x-agentguard-*` request headers
 * (stripped before sending) or `withSpendScope(...)`.
 *
 * ```ts
 * const client = withAnthropicSpendGuard(new Anthropic(), { guard, scope: { tenantId: 'acme', agentId: 'planner' } });
 * await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 512, messages });
 * ```
 */
export function withAnthropicSpendGuard<T extends object>(client: T, options: SpendGuardWrapperOptions): T {
  if (!client || typeof client !== 'object') throw new TypeError('withAnthropicSpendGuard: expected an Anthropic client');
  return guardClient(client, bindingFromWrapperOptions(options, ANTHROPIC_SCOPE));
}

const GUARDED_RESOURCES = new Set<PropertyKey>(['messages', 'beta']);

function guardClient<T extends object>(client: T, binding: GuardBinding): T {
  const resources = new WeakMap<object, object>();
  const bound = new WeakMap<(...args: unknown[]) => unknown, unknown>();
  let proxy: T;
  const guardResource = (resource: object): object => {
    let guarded = resources.get(resource);
    if (!guarded) {
      guarded = guardResourceObject(resource, binding, () => proxy);
      resources.set(resource, guarded);
    }
    return guarded;
  };
  proxy = new Proxy(client, {
    get(target, prop) {
      if (prop === 'withOptions') {
        const withOptions = Reflect.get(target, prop, target) as ((...args: unknown[]) => object) | undefined;
        if (typeof withOptions !== 'function') return withOptions;
        return (...args: unknown[]) => guardClient(withOptions.apply(target, args), binding);
      }
      // Getters run on the real client (it keeps #private state).
      const value = Reflect.get(target, prop, target) as unknown;
      if (GUARDED_RESOURCES.has(prop) && value && typeof value === 'object') return guardResource(value);
      if (typeof value === 'function' && prop !== 'constructor') {
        const fn = value as (...args: unknown[]) => unknown;
        let b = bound.get(fn);
        if (!b) {
          b = fn.bind(target);
          bound.set(fn, b);
        }
        return b;
      }
      return value;
    },
  });
  return proxy;
}

/**
 * A resource (`messages`, `beta`, `beta.messages`): `create` is guarded;
 * `stream()`/`parse()` run on the proxy so they call the guarded `create`;
 * `_client` is the guarded client so helpers built on it stay guarded.
 */
function guardResourceObject(resource: object, binding: GuardBinding, guardedClient: () => object): object {
  const nested = new WeakMap<object, object>();
  let create: { original: MessagesCreate; guarded: MessagesCreate } | undefined;
  return new Proxy(resource, {
    get(target, prop, receiver) {
      if (prop === '_client') return guardedClient();
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'create' && typeof value === 'function' && isMessagesResource(target)) {
        if (!create || create.original !== value) create = { original: value as MessagesCreate, guarded: guardCreate(value as MessagesCreate, () => binding) };
        return create.guarded;
      }
      if (prop === 'messages' && value && typeof value === 'object') {
        let guarded = nested.get(value);
        if (!guarded) {
          guarded = guardResourceObject(value, binding, guardedClient);
          nested.set(value, guarded);
        }
        return guarded;
      }
      return value;
    },
  });
}

/** `messages` and `beta.messages` have `create` and `stream`; `beta` itself has neither. */
function isMessagesResource(resource: object): boolean {
  const r = resource as { create?: unknown; stream?: unknown };
  return typeof r.create === 'function' && typeof r.stream === 'function';
}
