import { SpendStoreError } from '../engine/errors.js';
import type { ReserveRequest, ReserveResult, SettleRequest, SpendStore } from '../engine/spend-store.js';
import { OPEN_LUA, READ_LUA, RESERVE_LUA, script, SETTLE_LUA, type LuaScript } from './redis-scripts.js';

/**
 * The part of an `ioredis` client (a `Redis` or a `Cluster`) this store uses.
 * Any client with these methods works.
 */
export interface RedisScriptClient {
  evalsha(sha: string, numKeys: number, ...args: string[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
  quit(): Promise<unknown>;
}

/**
 * How counter keys map to a Redis Cluster hash tag. All keys of one
 * reservation must share a tag (a script's keys must live in one slot).
 * - a string: one fixed tag for every key (default `agentguard`): always
 *   correct, but the whole store lives on one cluster shard;
 * - {@link TENANT_HASH_TAG}: the key's
 *   `tenantId=` value, so each tenant's counters live together and tenants
 *   spread over shards. Every policy is scoped to one tenant, so a call's holds
 *   share its tenant; a cap whose `selector` leaves out `tenantId` has no tenant
 *   in its key and is rejected with a {@link SpendStoreError};
 * - a function of the counter key: must return the same tag for a key every
 *   time, and one tag for all holds of a call.
 */
export type RedisHashTag = string | typeof TENANT_HASH_TAG | ((counterKey: string) => string);

/** Hash-tag counters by tenant: see {@link RedisHashTag}. */
export const TENANT_HASH_TAG: unique symbol = Symbol.for('agentguard.hashTag.tenant') as never;

/** Options of {@link RedisSpendStore}. */
export interface RedisSpendStoreOptions {
  /** `redis://` or `rediss://` URL; the store creates (and closes) its own ioredis client. */
  url?: string;
  /** A connected ioredis `Redis` or `Cluster` client to use instead of `url` (not closed by the store). */
  client?: RedisScriptClient;
  /** Key prefix (default `agentguard:`), to share a Redis with other data. */
  prefix?: string;
  /** Cluster hash tag of a counter key (default: one fixed tag). */
  hashTag?: RedisHashTag;
  /**
   * Fail-closed bound: an operation that gets no reply within this long
   * (Redis down, unreachable, or too slow) rejects with a {@link SpendStoreError}
   * (default 1000 ms). Only for the client the store creates from `url`.
   */
  commandTimeoutMs?: number;
  /** How long a counter outlives its window on the server, for clock skew between hosts (default 60 000 ms). */
  graceMs?: number;
}

const DEFAULT_PREFIX = 'agentguard:';
const DEFAULT_TAG = 'agentguard';

/**
 * Spend counters in Redis, for a fleet of hosts (Redis 6 or newer, standalone
 * or Cluster), on `ioredis` (an optional peer dependency, loaded on first use).
 *
 * Reserve, settle and read are each ONE server-side Lua script (EVALSHA, with
 * EVAL when the server lacks the script), so a reservation across every window
 * is atomic and costs one round trip. Counters carry their window end and a
 * PEXPIRE, so ended windows vanish; reservations carry a deadline in a sorted
 * set swept by every script, so a process that dies between reserve and settle
 * gives its budget back after the reservation TTL.
 *
 * Unreachable Redis fails closed: every operation rejects with a
 * {@link SpendStoreError} naming the server (without credentials) within
 * `commandTimeoutMs`, and the guard fails the call rather than letting it
 * spend uncounted. A reserve that timed out may still have been applied by the
 * server; its hold is then given back at its TTL.
 *
 * Cluster: every key of one script shares a hash tag (see {@link RedisHashTag}).
 */
export class RedisSpendStore implements SpendStore {
  readonly #prefix: string;
  readonly #hashTag: (counterKey: string) => string;
  readonly #graceMs: number;
  readonly #label: string;
  readonly #ownsClient: boolean;
  readonly #options: RedisSpendStoreOptions;
  #client: Promise<RedisScriptClient> | null;
  #lastError: Error | undefined;

  constructor(options: RedisSpendStoreOptions) {
    if (!options || (!options.url && !options.client)) throw new TypeError('RedisSpendStore: pass { url } or { client }');
    if (options.url && options.client) throw new TypeError('RedisSpendStore: pass either url or client, not both');
    this.#options = options;
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    if (/[{}]/.test(this.#prefix)) throw new TypeError(`RedisSpendStore: prefix must not contain { or } (it would change the hash tag): ${this.#prefix}`);
    this.#hashTag = hashTagFunction(options.hashTag);
    this.#graceMs = options.graceMs ?? 60_000;
    this.#ownsClient = !options.client;
    this.#label = options.url ? redactUrl(options.url) : 'the given client';
    this.#client = options.client ? Promise.resolve(options.client) : null;
  }

  async reserve(req: ReserveRequest): Promise<ReserveResult> {
    const base = this.#base(req.holds.map((h) => h.key));
    const keys = req.holds.map((h) => `${base}:c:${h.key}`);
    const args = [base, String(req.nowMs), String(req.cents), String(req.ttlMs), req.reservationId, String(this.#graceMs)];
    for (const h of req.holds) args.push(h.limitCents === null ? '' : String(h.limitCents), String(h.expiresAtMs));
    const out = (await this.#run(RESERVE, base, keys, args)) as number[];
    const n = out[1]!;
    const before = out.slice(2, 2 + n);
    if (out[0] === 1) return { ok: true, before };
    return { ok: false, before, exceeded: out.slice(2 + n) };
  }

  async settle(req: SettleRequest): Promise<{ after: number[] }> {
    const base = this.#base(req.holds.map((h) => h.key));
    const keys = req.holds.map((h) => `${base}:c:${h.key}`);
    const args = [base, String(req.nowMs), String(req.actualCents), req.reservationId, String(this.#graceMs), ...req.holds.map((h) => String(h.expiresAtMs))];
    return { after: (await this.#run(SETTLE, base, keys, args)) as number[] };
  }

  async read(keys: string[], nowMs: number): Promise<number[]> {
    // Keys of different tags live in different slots: one script per tag.
    const byBase = new Map<string, number[]>();
    keys.forEach((k, i) => {
      const base = this.#base([k]);
      const list = byBase.get(base) ?? [];
      list.push(i);
      byBase.set(base, list);
    });
    const result = new Array<number>(keys.length).fill(0);
    await Promise.all(
      [...byBase].map(async ([base, idx]) => {
        const values = (await this.#run(READ, base, idx.map((i) => `${base}:c:${keys[i]}`), [base, String(nowMs)])) as number[];
        idx.forEach((i, j) => (result[i] = values[j]!));
      }),
    );
    return result;
  }

  /**
   * Reservations held and not yet expired at `nowMs` under the tag of
   * `counterKey` (diagnostics and tests).
   */
  async openReservations(counterKey: string, nowMs: number = Date.now()): Promise<number> {
    const base = this.#base([counterKey]);
    return (await this.#run(OPEN, base, [], [base, String(nowMs)])) as number;
  }

  /** Closes the client the store created from `url` (a given client is left open). */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    if (!client || !this.#ownsClient) return;
    try {
      await (await client).quit();
    } catch {
      // Already disconnected: nothing to close.
    }
  }

  /** `<prefix>{<tag>}` shared by every key of one script. */
  #base(counterKeys: string[]): string {
    const tags = new Set(counterKeys.map((k) => this.#hashTag(k)));
    if (tags.size > 1) {
      throw new SpendStoreError(
        `redis spend store: the holds of one reservation map to different hash tags (${[...tags].join(', ')}); a Redis script's keys must share one tag — use one fixed hashTag`,
      );
    }
    const tag = tags.size === 1 ? [...tags][0]! : this.#hashTag('');
    return `${this.#prefix}{${tag}}`;
  }

  async #run(s: LuaScript, base: string, counterKeys: string[], args: string[]): Promise<unknown> {
    const keys = [`${base}:rdl`, `${base}:res`, ...counterKeys];
    let client: RedisScriptClient;
    try {
      client = await this.#connect();
    } catch (err) {
      throw this.#error(err);
    }
    try {
      return await client.evalsha(s.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw this.#error(err);
    }
    try {
      // First use on this server (or after SCRIPT FLUSH / failover): EVAL loads the script.
      return await client.eval(s.lua, keys.length, ...keys, ...args);
    } catch (err) {
      throw this.#error(err);
    }
  }

  #connect(): Promise<RedisScriptClient> {
    if (this.#client) return this.#client;
    const url = this.#options.url;
    if (!url) throw new Error('closed');
    this.#client = (async () => {
      let mod: { Redis?: unknown; default?: unknown };
      try {
        mod = (await import('ioredis')) as typeof mod;
      } catch (err) {
        throw new SpendStoreError('RedisSpendStore needs the optional peer dependency ioredis: npm install ioredis', { cause: err });
      }
      const Redis = (mod.Redis ?? mod.default) as new (url: string, options: object) => RedisScriptClient & { on(event: string, fn: (err: Error) => void): void };
      const client = new Redis(url, {
        commandTimeout: this.#options.commandTimeoutMs ?? 1000,
        connectTimeout: this.#options.commandTimeoutMs ?? 1000,
        maxRetriesPerRequest: 1,
        // Keep reconnecting in the background; commands meanwhile fail at commandTimeout.
        retryStrategy: (times: number) => Math.min(50 * times, 1000),
      });
      // ioredis reports connection trouble as events; keep the last for error messages.
      client.on('error', (err) => {
        this.#lastError = err;
      });
      return client;
    })();
    return this.#client;
  }

  #error(err: unknown): SpendStoreError {
    if (err instanceof SpendStoreError) return err;
    const message = (err as Error)?.message ?? String(err);
    const last = this.#lastError && this.#lastError.message !== message ? ` (last connection error: ${this.#lastError.message})` : '';
    return new SpendStoreError(`redis spend store ${this.#label}: ${message}${last}; failing closed`, { cause: err });
  }
}

const RESERVE = script(RESERVE_LUA);
const SETTLE = script(SETTLE_LUA);
const READ = script(READ_LUA);
const OPEN = script(OPEN_LUA);

function hashTagFunction(option: RedisHashTag | undefined): (key: string) => string {
  if (option === undefined) return () => DEFAULT_TAG;
  if (option === TENANT_HASH_TAG) {
    return (key) => {
      if (key === '') return DEFAULT_TAG;
      const m = /\|tenantId=([^,|]*)/.exec(key);
      if (!m) throw new SpendStoreError(`redis spend store: hashTag 'tenant' needs tenantId in every counter key, and ${key} has none (a cap selector without tenantId?); use a fixed hashTag`);
      return safeTag(m[1]!);
    };
  }
  if (typeof option === 'string') {
    if (option === '') throw new TypeError('RedisSpendStore: hashTag must not be empty');
    const tag = safeTag(option);
    return () => tag;
  }
  if (typeof option === 'function') return (key) => safeTag(option(key));
  throw new TypeError(`RedisSpendStore: hashTag must be a string, TENANT_HASH_TAG or a function, got ${typeof option}`);
}

/** Braces would end the tag early and move keys to another slot: escape them. */
function safeTag(tag: string): string {
  return tag.replace(/[{}%]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The URL without its password, for error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable redis url>';
  }
}
