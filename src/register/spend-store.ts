import { ConfigError } from '../env-config.js';
import { InMemorySpendStore } from '../memory-spend-store.js';
import type { SpendStore } from '../spend-store.js';

/**
 * The spend store `AGENTGUARD_SPEND_STORE` names. `memory` (the default) keeps
 * window counters in this process.
 * @throws ConfigError naming `AGENTGUARD_SPEND_STORE` for anything else it cannot build.
 */
export function spendStoreFromEnv(value: string): SpendStore {
  if (value === 'memory' || value === 'memory:') return new InMemorySpendStore();
  throw new ConfigError('AGENTGUARD_SPEND_STORE', `unsupported value ${JSON.stringify(value)}: this build supports memory`);
}
