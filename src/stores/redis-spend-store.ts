import { SpendStoreError } from '../engine/errors.js';
import type { ReserveRequest, ReserveResult, SettleRequest, SpendStore } from '../engine/spend-store.js';
import { randomUUID } from 'node:crypto';
import { EPOCH_LUA, OPEN_LUA, READ_LUA, RESEED_LUA, RESERVE_LUA, script, SETTLE_LUA, type LuaScript } from './redis-scripts.js';

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
  /**
   * What to do when the server lost this store's counters while the store was
   * using them (its `<prefix>{<tag>}:epoch` marker vanished or changed: a
   * restart without persistence, FLUSHALL, or an eviction):
   * - `fail` (default): every later operation on those counters fails closed
   *   with a {@link SpendStoreError} until the process restarts;
   * - `reseed`: raise each counter to at least the value this process last
   *   saw it at (its own and other processes' spend, as of its last reserve or
   *   settle), set a new marker, and go on. Spend the server counted after
   *   that moment is lost; reservations held then are charged again when
   *   settled (an over-count, never an under-count).
   * A process that starts after the loss cannot tell: configure Redis to
   * persist (see docs/stores.md).
   */
  onStateLost?: 'fail' | 'reseed';
}

/** The values {@link RedisSpendStoreOptions.onStateLost} takes. */
export const REDIS_STATE_LOST_MODES = ['fail', 'reseed'] as const;

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
  readonly #onStateLost: 'fail' | 'reseed';
  /** The marker of each tag, as first seen or set by this store. */
  readonly #epochs = new Map<string, Promise<string>>();
  /** The last value seen of each live counter (full key), with its window end: what `reseed` restores. */
  readonly #known = new Map<string, { base: string; cents: number; endMs: number }>();
  #sinceSweep = 0;

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
    const lost = options.onStateLost ?? 'fail';
    if (!REDIS_STATE_LOST_MODES.includes(lost)) throw new TypeError(`RedisSpendStore: onStateLost must be fail or reseed, got ${JSON.stringify(lost)}`);
    this.#onStateLost = lost;
  }

  async reserve(req: ReserveRequest): Promise<ReserveResult> {
    const base = this.#base(req.holds.map((h) => h.key));
    const keys = req.holds.map((h) => `${base}:c:${h.key}`);
    const args = [base, String(req.nowMs), String(req.cents), String(req.ttlMs), req.reservationId, String(this.#graceMs)];
    for (const h of req.holds) args.push(h.limitCents === null ? '' : String(h.limitCents), String(h.expiresAtMs));
    const out = (await this.#run(RESERVE, base, keys, args)) as number[];
    const n = out[1]!;
    const before = out.slice(2, 2 + n);
    if (out[0] === 1) {
      req.holds.forEach((h, i) => this.#remember(base, keys[i]!, before[i]! + req.cents, h.expiresAtMs, req.nowMs));
      return { ok: true, before };
    }
    return { ok: false, before, exceeded: out.slice(2 + n) };
  }

  async settle(req: SettleRequest): Promise<{ after: number[] }> {
    const base = this.#base(req.holds.map((h) => h.key));
    const keys = req.holds.map((h) => `${base}:c:${h.key}`);
    const args = [base, String(req.nowMs), String(req.actualCents), req.reservationId, String(this.#graceMs), ...req.holds.map((h) => String(h.expiresAtMs))];
    const after = (await this.#run(SETTLE, base, keys, args)) as number[];
    req.holds.forEach((h, i) => this.#remember(base, keys[i]!, after[i]!, h.expiresAtMs, req.nowMs));
    return { after };
  }

  /** Keeps the last value seen of a counter (bounded by the live windows: ended ones are dropped). */
  #remember(base: string, key: string, cents: number, endMs: number, nowMs: number): void {
    if (this.#onStateLost !== 'reseed') return;
    if (endMs > nowMs) this.#known.set(key, { base, cents, endMs });
    if (++this.#sinceSweep >= 1024) {
      this.#sinceSweep = 0;
      for (const [k, v] of this.#known) if (v.endMs <= nowMs) this.#known.delete(k);
    }
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
        const values = (await this.#run(
          READ,
          base,
          idx.map((i) => `${base}:c:${keys[i]}`),
          [base, String(nowMs)],
        )) as number[];
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

  async #run(s: LuaScript, base: string, counterKeys: string[], args: string[], reseeded = false): Promise<unknown> {
    const keys = [`${base}:rdl`, `${base}:res`, ...counterKeys, `${base}:epoch`];
    let client: RedisScriptClient;
    let epoch: string;
    try {
      client = await this.#connect();
      epoch = await this.#epoch(client, base);
    } catch (err) {
      throw this.#error(err);
    }
    try {
      return await this.#eval(client, s, keys, [...args, epoch]);
    } catch (err) {
      const found = /^AGENTGUARD_EPOCH (\S+)/.exec(String((err as Error)?.message))?.[1];
      if (found === undefined) throw this.#error(err);
      if (this.#onStateLost === 'fail' || reseeded) throw this.#stateLost(base, found);
      await this.#reseed(client, base, Number(args[1]));
      return this.#run(s, base, counterKeys, args, true);
    }
  }

  async #eval(client: RedisScriptClient, s: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await client.evalsha(s.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err;
    }
    // First use on this server (or after SCRIPT FLUSH / failover): EVAL loads the script.
    return await client.eval(s.lua, keys.length, ...keys, ...args);
  }

  /** The tag's marker: set by the first store that uses the tag, learnt by the others. */
  #epoch(client: RedisScriptClient, base: string): Promise<string> {
    let p = this.#epochs.get(base);
    if (!p) {
      p = this.#eval(client, EPOCH, [`${base}:epoch`], [randomUUID()]).then(String);
      p.catch(() => this.#epochs.delete(base));
      this.#epochs.set(base, p);
    }
    return p;
  }

  async #reseed(client: RedisScriptClient, base: string, nowMs: number): Promise<void> {
    const counters: string[] = [];
    const args = [base, String(nowMs), String(this.#graceMs)];
    for (const [key, v] of this.#known) {
      if (v.base !== base || v.endMs <= nowMs) continue;
      counters.push(key);
      args.push(String(v.cents), String(v.endMs));
    }
    try {
      const epoch = String(await this.#eval(client, RESEED, [`${base}:rdl`, `${base}:res`, ...counters, `${base}:epoch`], [...args, randomUUID()]));
      this.#epochs.set(base, Promise.resolve(epoch));
    } catch (err) {
      throw this.#error(err);
    }
  }

  #stateLost(base: string, found: string): SpendStoreError {
    const what = found === 'none' ? 'is gone' : 'was replaced';
    return new SpendStoreError(
      `redis spend store ${this.#label}: the server lost the spend counters under ${base} (its marker ${base}:epoch ${what}: a restart without persistence, FLUSHALL or eviction); failing closed. Make Redis persist (appendonly yes) and never evict (maxmemory-policy noeviction), then restart this process, or set onStateLost=reseed`,
    );
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
      const Redis = (mod.Redis ?? mod.default) as new (
        url: string,
        options: object,
      ) => RedisScriptClient & { on(event: string, fn: (err: Error) => void): void };
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
      // The connection must never keep the application alive: an idle socket
      // and a pending reconnect are unref'd (a command in flight still is, by
      // its commandTimeout timer).
      const unref = () => {
        const c = client as unknown as { stream?: { unref?: () => void }; reconnectTimeout?: { unref?: () => void } | null };
        c.stream?.unref?.();
        c.reconnectTimeout?.unref?.();
      };
      for (const event of ['connect', 'ready', 'reconnecting', 'close', 'end']) client.on(event, unref);
      unref();
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
const EPOCH = script(EPOCH_LUA);
const RESEED = script(RESEED_LUA);

function hashTagFunction(option: RedisHashTag | undefined): (key: string) => string {
  if (option === undefined) return () => DEFAULT_TAG;
  if (option === TENANT_HASH_TAG) {
    return (key) => {
      if (key === '') return DEFAULT_TAG;
      const m = /\|tenantId=([^,|]*)/.exec(key);
      if (!m)
        throw new SpendStoreError(
          `redis spend store: hashTag 'tenant' needs tenantId in every counter key, and ${key} has none (a cap selector without tenantId?); use a fixed hashTag`,
        );
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

/** Query parameters that may carry a credential (ioredis reads any query parameter as an option). */
const SECRET_PARAM = /pass|secret|token|key|auth|cred|sig/i;

/**
 * The URL with every credential masked, for messages: the password of the
 * user info (`redis://user:***@`, `rediss://:***@`), a user name standing
 * alone (it may be a token: `redis://***@`), and every query parameter whose
 * name looks like a credential (`?password=***`, `sentinelPassword`, `token`,
 * …). Unparseable input is not echoed at all.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    else if (u.username) u.username = '***';
    for (const key of [...new Set(u.searchParams.keys())]) if (SECRET_PARAM.test(key)) u.searchParams.set(key, '***');
    return u.toString().replaceAll('%2A%2A%2A', '***');
  } catch {
    return '<unparseable URL>';
  }
}
