import { fileURLToPath } from 'node:url';
import { SpendStoreError } from '../engine/errors.js';
import { InMemorySpendStore } from '../engine/memory-spend-store.js';
import type { SpendStore } from '../engine/spend-store.js';
import { REDIS_STATE_LOST_MODES, RedisSpendStore, TENANT_HASH_TAG, redactUrl, type RedisSpendStoreOptions } from './redis-spend-store.js';
import { SqliteSpendStore } from './sqlite-spend-store.js';

/** Query parameters of a `redis://` URL read by {@link spendStoreFromUrl} (and not passed to ioredis). */
const REDIS_PARAMS = ['prefix', 'hashTag', 'timeoutMs', 'onStateLost'] as const;

/**
 * A spend store from one string, as `AGENTGUARD_SPEND_STORE` gives it:
 * - a file path, `file:` URL or `sqlite:<path>` → {@link SqliteSpendStore};
 * - `redis://…` or `rediss://…` → {@link RedisSpendStore}; optional query
 *   parameters `prefix=<key prefix>`, `hashTag=tenant|<fixed tag>`,
 *   `timeoutMs=<fail-closed timeout>`, `onStateLost=fail|reseed` (what to do
 *   when the server lost the counters, see {@link RedisSpendStoreOptions.onStateLost})
 *   (e.g. `redis://cache:6379/0?hashTag=tenant`);
 * - `memory:` → {@link InMemorySpendStore} (this process only).
 *
 * Nothing is connected yet: Redis connects on first use, SQLite opens now
 * (so an unwritable path fails here).
 * @throws SpendStoreError naming the value when it is not one of these.
 */
export function spendStoreFromUrl(url: string): SpendStore {
  if (typeof url !== 'string' || url.trim() === '')
    throw new SpendStoreError(`spend store URL: expected a file path or redis:// URL, got ${JSON.stringify(url)}`);
  const value = url.trim();
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(value)?.[1]?.toLowerCase();
  // No scheme (or a Windows drive letter): a file path.
  if (scheme === undefined || scheme.length === 1) return new SqliteSpendStore(value);
  switch (scheme) {
    case 'file':
      return new SqliteSpendStore(fileURLToPath(value));
    case 'sqlite': {
      const path = value.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
      if (!path) throw new SpendStoreError(`spend store URL ${value}: sqlite: needs a file path, e.g. sqlite:/var/lib/agentguard/spend.db`);
      return new SqliteSpendStore(path);
    }
    case 'redis':
    case 'rediss':
      return redisFromUrl(value);
    case 'memory':
      return new InMemorySpendStore();
    default:
      throw new SpendStoreError(
        `spend store URL ${redactUrl(value)}: unsupported scheme ${scheme}: use a file path, file:, sqlite:, redis://, rediss:// or memory:`,
      );
  }
}

function redisFromUrl(value: string): RedisSpendStore {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new SpendStoreError(`spend store URL ${redactUrl(value)}: not a valid URL`);
  }
  const params = Object.fromEntries(REDIS_PARAMS.map((p) => [p, u.searchParams.get(p)]));
  for (const p of REDIS_PARAMS) u.searchParams.delete(p);
  let commandTimeoutMs: number | undefined;
  if (params.timeoutMs !== null) {
    commandTimeoutMs = Number(params.timeoutMs);
    if (!Number.isSafeInteger(commandTimeoutMs) || commandTimeoutMs <= 0) {
      throw new SpendStoreError(`spend store URL ${redactUrl(value)}: timeoutMs must be a positive integer of milliseconds, got ${params.timeoutMs}`);
    }
  }
  if (params.onStateLost != null && !(REDIS_STATE_LOST_MODES as readonly string[]).includes(params.onStateLost)) {
    throw new SpendStoreError(`spend store URL ${redactUrl(value)}: onStateLost must be fail or reseed, got ${params.onStateLost}`);
  }
  if (params.hashTag === '') throw new SpendStoreError(`spend store URL ${redactUrl(value)}: hashTag must be 'tenant' or a non-empty tag`);
  return new RedisSpendStore({
    url: u.toString(),
    ...(params.prefix !== null ? { prefix: params.prefix } : {}),
    ...(params.hashTag !== null ? { hashTag: params.hashTag === 'tenant' ? TENANT_HASH_TAG : params.hashTag } : {}),
    ...(commandTimeoutMs !== undefined ? { commandTimeoutMs } : {}),
    ...(params.onStateLost != null ? { onStateLost: params.onStateLost as NonNullable<RedisSpendStoreOptions['onStateLost']> } : {}),
  });
}
