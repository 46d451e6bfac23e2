import { AgentGuardBlockedError } from '../../src/engine/errors.js';

/**
 * The {@link AgentGuardBlockedError} behind `error`: the error itself, or the
 * first one on its `cause` chain. SDK stream helpers (`openai`'s
 * `chat.completions.stream()` and `responses.stream()`, `@anthropic-ai/sdk`'s
 * `messages.stream()`) insist on their own error class and reject with one
 * whose `cause` is the block; this finds it. A block from another copy of this
 * package (its ESM and CommonJS builds, `register`'s bundles) passes `instanceof`
 * by its brand (`src/audit/errors.ts`); one from a copy without the brand is
 * recognised by its name (or `code: 'agentguard_blocked'`) and signed decision.
 */
export function agentGuardBlockOf(error: unknown): AgentGuardBlockedError | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = error; e && typeof e === 'object' && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    if (e instanceof AgentGuardBlockedError || isForeignBlock(e)) return e as AgentGuardBlockedError;
  }
  return undefined;
}

/**
 * Whether `error` is a spend-guard block, directly or through its `cause`
 * chain (see {@link agentGuardBlockOf}):
 *
 * ```ts
 * try {
 *   const stream = client.chat.completions.stream({ model, messages });
 *   for await (const chunk of stream) process(chunk);
 * } catch (err) {
 *   if (isAgentGuardBlock(err)) return fallback(agentGuardBlockOf(err)!.reason);
 *   throw err;
 * }
 * ```
 */
export function isAgentGuardBlock(error: unknown): boolean {
  return agentGuardBlockOf(error) !== undefined;
}

/**
 * A block from another copy of the package: its name, or its `code` (a
 * framework may rename an error it rethrows), with a signed decision.
 */
function isForeignBlock(e: object): boolean {
  const { name, code, decision } = e as { name?: unknown; code?: unknown; decision?: { action?: unknown; decisionId?: unknown } };
  return (
    (name === 'AgentGuardBlockedError' || code === 'agentguard_blocked') &&
    !!decision &&
    typeof decision === 'object' &&
    typeof decision.decisionId === 'string'
  );
}
