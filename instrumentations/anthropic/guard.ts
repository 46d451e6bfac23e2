import { decideOnce } from '../common/decide-once.js';
import type { GuardBinding } from '../common/guarded-call.js';
import { guardStainlessCreate } from '../common/stainless.js';
import { anthropicAdapter, anthropicProviderOf, helperSpanContext } from './adapter.js';

// The enforcing `messages.create`, apart from the instrumentation class so that `register`'s
// engine builds the same function without loading `@opentelemetry/instrumentation`.

/** The SDK's `messages.create` (plain or beta). */
export type MessagesCreate = (this: unknown, params: unknown, options?: unknown) => unknown;

/** One decision per call: wrapper over instrumentation (see `../common/decide-once.ts`). */
const once = decideOnce('anthropic');

/**
 * The guarded `messages.create`, used by the instrumentation and the wrapper.
 * The SDK's `parse()` ends its own span, so the inner APIPromise is parsed
 * once, by the outer one; without an APIPromise the SDK's helpers cannot work,
 * so such a client is refused.
 */
export function guardCreate(original: MessagesCreate, binding: () => GuardBinding): MessagesCreate {
  return guardStainlessCreate(original as (this: unknown, ...args: unknown[]) => unknown, {
    adapter: (client) => anthropicAdapter(anthropicProviderOf(client)),
    once,
    binding,
    parse: 'own',
    withoutAPIPromise: 'refuse',
    parentContext: helperSpanContext,
  }) as MessagesCreate;
}
