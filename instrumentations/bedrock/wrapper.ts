import { bindingFromWrapperOptions, type SpendGuardWrapperOptions } from '../common/binding.js';
import { BEDROCK_SCOPE, guardSend, type SendFn } from './instrumentation.js';

/**
 * Guards one Bedrock Runtime client explicitly: returns a proxy of `client` with the same
 * API and type (`instanceof BedrockRuntimeClient`/`BedrockRuntime` still holds) whose
 * `send` — and therefore `converse()`, `converseStream()`, `invokeModel()`,
 * `invokeModelWithResponseStream()` of the aggregated `BedrockRuntime` client — goes
 * through the spend guard. The client itself is not modified; other commands pass through.
 *
 * Per-call scope: `send(cmd, { agentguard: { scope: { agentId } } })` or `withSpendScope`.
 * If the instrumentation is also active, the call is still decided once (here).
 */
export function withBedrockSpendGuard<T extends object>(client: T, options: SpendGuardWrapperOptions): T {
  const send = (client as { send?: unknown }).send;
  if (typeof send !== 'function') throw new TypeError('withBedrockSpendGuard: expected a BedrockRuntimeClient (no send method)');
  const binding = bindingFromWrapperOptions(options, BEDROCK_SCOPE);
  const resolve = () => binding;
  const guarded = function send(this: unknown, command: unknown, optionsOrCb?: unknown, cb?: unknown): unknown {
    const original = (client as { send: SendFn }).send;
    return guardSend(resolve, client, original, command, optionsOrCb, cb);
  };
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'send') return guarded;
      return Reflect.get(target, prop, receiver);
    },
  });
}
