import { ConfigError } from './env-config.js';
import { InMemorySpendStore } from '../engine/memory-spend-store.js';
import type { SpendStore } from '../engine/spend-store.js';
import { spendStoreFromUrl } from '../stores/from-url.js';

/**
 * The spend store `AGENTGUARD_SPEND_STORE` names: `memory` (the default: this
 * process only), a SQLite file path (`file:`/`sqlite:` too; shared by the
 * processes of one machine), or a `redis://`/`rediss://` URL (a fleet).
 * @throws ConfigError naming `AGENTGUARD_SPEND_STORE` when it cannot be built.
 */
export function spendStoreFromEnv(value: string): SpendStore {
  if (value === 'memory') return new InMemorySpendStore();
  try {
    return spendStoreFromUrl(value);
  } catch (err) {
    throw new ConfigError('AGENTGUARD_SPEND_STORE', (err as Error).message);
  }
}
