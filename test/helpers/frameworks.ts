import { createRequire } from 'node:module';
import { createFakeProvider } from '../../fake-provider/all.js';
import type { FakeProvider } from '../../fake-provider/server.js';
import {
  generateKeypair,
  InMemoryDecisionLogStore,
  parsePolicy,
  SpendGuard,
  type DecisionLogEntry,
  type SpendDecision,
  type SpendPolicy,
} from '../../src/index.js';
import { verifyChain } from '../../src/audit/verify.js';

/**
 * Helpers for tests that drive a real agent framework (LangChain.js, the
 * OpenAI Agents SDK) against the fake provider, with the provider SDK copy the
 * framework itself loads patched by our instrumentation.
 */

const require = createRequire(import.meta.url);

/**
 * The CommonJS exports of `sdk` as `framework` loads it (frameworks often pin
 * their own copy of a provider SDK, installed under their own node_modules).
 */
export function sdkOf<T = unknown>(framework: string, sdk: string): T {
  return createRequire(require.resolve(framework))(sdk) as T;
}

/** Fixed prices (USD per million tokens) for both providers, whatever the price table's version. */
export const FRAMEWORK_PRICES = {
  openai: {
    'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10 },
    'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6 },
  },
  anthropic: {
    'claude-sonnet-4-5': { inputPerMTok: 3, outputPerMTok: 15 },
  },
};

/** One policy: every call above one cent is blocked. */
export function oneCentBlock(): SpendPolicy {
  return parsePolicy({
    id: 'p-frameworks',
    name: 'frameworks',
    scope: { tenantId: 't1' },
    mode: 'enforce',
    version: 1,
    effectiveFrom: '2026-01-01T00:00:00Z',
    caps: [{ amountCents: 1, window: 'per_call', action: 'block', reason: 'one cent per call' }],
  });
}

export interface FrameworkGuard {
  guard: SpendGuard;
  log: InMemoryDecisionLogStore;
  decisions(): SpendDecision[];
  /** Every entry verifies against the guard's public key. */
  verified(): boolean;
}

export function frameworkGuard(policies: SpendPolicy[] = [oneCentBlock()]): FrameworkGuard {
  const keys = generateKeypair();
  const log = new InMemoryDecisionLogStore();
  const guard = new SpendGuard({ signingKeys: keys, logStore: log, policies, pricing: { overrides: FRAMEWORK_PRICES } });
  const entries = () => log.entries() as DecisionLogEntry<SpendDecision>[];
  return {
    guard,
    log,
    decisions: () =>
      entries()
        .map((e) => e.decision)
        .filter((d) => d.entryType === 'decision'),
    verified: () => verifyChain(entries(), keys.publicKey).ok,
  };
}

/** A fake provider speaking the OpenAI, Azure OpenAI and Anthropic APIs. */
export async function startFrameworkFake(): Promise<FakeProvider> {
  const fake = createFakeProvider(['openai', 'azure', 'anthropic']);
  await fake.listen();
  return fake;
}

/** The rejection of `run()`, and how long it took to come. */
export async function rejectionOf(run: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const start = performance.now();
  try {
    await run();
  } catch (error) {
    return { error, ms: performance.now() - start };
  }
  throw new Error('expected the call to be rejected');
}
