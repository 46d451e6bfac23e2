import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { SpendStoreError } from '../engine/errors.js';
import type { ReserveRequest, ReserveResult, SettleRequest, SpendStore } from '../engine/spend-store.js';

/** Options of {@link SqliteSpendStore}. */
export interface SqliteSpendStoreOptions {
  /**
   * How long one operation waits for another process's write transaction
   * before failing with a {@link SpendStoreError} (default 2000 ms). The wait
   * blocks this process's event loop: `node:sqlite` is synchronous.
   */
  busyTimeoutMs?: number;
  /**
   * `NORMAL` (default) survives a process crash but may lose the last
   * transactions on power loss; `FULL` fsyncs every commit.
   */
  synchronous?: 'NORMAL' | 'FULL';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS agentguard_counters (
  key TEXT PRIMARY KEY,
  cents INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS agentguard_counters_expiry ON agentguard_counters(expires_at);
CREATE TABLE IF NOT EXISTS agentguard_reservations (
  id TEXT PRIMARY KEY,
  cents INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  keys TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS agentguard_reservations_expiry ON agentguard_reservations(expires_at);
`;

/** Dead counters are deleted every this many write transactions (reads already treat them as 0). */
const GC_EVERY = 512;

/**
 * Spend counters in one SQLite file shared by every process on a machine,
 * on Node's built-in `node:sqlite` (Node ≥ 22.13 without a flag; no native addon).
 *
 * Each reserve, settle and read runs in a `BEGIN IMMEDIATE` transaction, which
 * takes the database's single write lock before reading: concurrent processes
 * are serialized, so together they can never reserve past a limit. The file is
 * in WAL mode. Reservations not settled within their TTL are given back by the
 * next operation of any process (a crashed holder cannot leak budget); counters
 * read 0 once their window has ended and are garbage-collected later.
 *
 * Errors (file unwritable, database locked longer than `busyTimeoutMs`) are
 * thrown as {@link SpendStoreError} naming the file.
 */
export class SqliteSpendStore implements SpendStore {
  /** Absolute path of the database file. */
  readonly path: string;
  readonly #busyTimeoutMs: number;
  readonly #db: DatabaseSync;
  readonly #stmt: Record<
    | 'begin'
    | 'commit'
    | 'rollback'
    | 'getCounter'
    | 'putCounter'
    | 'decCounter'
    | 'gcCounters'
    | 'getReservation'
    | 'putReservation'
    | 'delReservation'
    | 'expiredReservations',
    StatementSync
  >;
  #writes = 0;
  #closed = false;

  /**
   * Opens (creating if needed, with its parent directory) the database at `path`.
   * @throws SpendStoreError if the file cannot be opened or initialized.
   */
  constructor(path: string, options: SqliteSpendStoreOptions = {}) {
    if (typeof path !== 'string' || path === '') throw new TypeError('SqliteSpendStore: path must be a non-empty string');
    this.path = path === ':memory:' ? path : resolve(path);
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 2000;
    if (!Number.isSafeInteger(this.#busyTimeoutMs) || this.#busyTimeoutMs < 0) {
      throw new TypeError(`SqliteSpendStore: busyTimeoutMs must be a non-negative integer, got ${options.busyTimeoutMs}`);
    }
    const synchronous = options.synchronous ?? 'NORMAL';
    if (synchronous !== 'NORMAL' && synchronous !== 'FULL') throw new TypeError(`SqliteSpendStore: synchronous must be NORMAL or FULL, got ${synchronous}`);
    const sqlite = loadSqlite();
    try {
      if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
      this.#db = new sqlite.DatabaseSync(this.path);
    } catch (err) {
      throw this.#error('cannot open the database file (is its directory writable?)', err);
    }
    try {
      // busy_timeout first: the other pragmas and the schema may wait on a concurrent opener.
      this.#db.exec(`PRAGMA busy_timeout = ${this.#busyTimeoutMs}`);
      this.#db.exec('PRAGMA journal_mode = WAL');
      this.#db.exec(`PRAGMA synchronous = ${synchronous}`);
      this.#db.exec(SCHEMA);
      const p = (sql: string) => this.#db.prepare(sql);
      this.#stmt = {
        begin: p('BEGIN IMMEDIATE'),
        commit: p('COMMIT'),
        rollback: p('ROLLBACK'),
        getCounter: p('SELECT cents, expires_at FROM agentguard_counters WHERE key = ?'),
        putCounter: p(
          'INSERT INTO agentguard_counters (key, cents, expires_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET cents = excluded.cents, expires_at = excluded.expires_at',
        ),
        decCounter: p('UPDATE agentguard_counters SET cents = max(0, cents - ?) WHERE key = ?'),
        gcCounters: p('DELETE FROM agentguard_counters WHERE expires_at <= ?'),
        getReservation: p('SELECT cents FROM agentguard_reservations WHERE id = ?'),
        putReservation: p('INSERT INTO agentguard_reservations (id, cents, expires_at, keys) VALUES (?, ?, ?, ?)'),
        delReservation: p('DELETE FROM agentguard_reservations WHERE id = ?'),
        expiredReservations: p('SELECT id, cents, keys FROM agentguard_reservations WHERE expires_at <= ?'),
      };
    } catch (err) {
      try {
        this.#db.close();
      } catch {
        // already failing; the first error is the one to report
      }
      throw this.#error('cannot initialize the database (unwritable, locked, or not a SQLite file?)', err);
    }
  }

  async reserve(req: ReserveRequest): Promise<ReserveResult> {
    return this.#transaction(() => {
      this.#expire(req.nowMs);
      const before = req.holds.map((h) => this.#value(h.key, req.nowMs));
      const exceeded: number[] = [];
      req.holds.forEach((h, i) => {
        if (h.limitCents !== null && before[i]! + req.cents > h.limitCents) exceeded.push(i);
      });
      if (exceeded.length > 0) return { ok: false, before, exceeded };
      if (this.#stmt.getReservation.get(req.reservationId)) throw new SpendStoreError(`reservation ${req.reservationId} already exists`);
      req.holds.forEach((h, i) => this.#stmt.putCounter.run(h.key, before[i]! + req.cents, h.expiresAtMs));
      this.#stmt.putReservation.run(req.reservationId, req.cents, req.nowMs + req.ttlMs, JSON.stringify(req.holds.map((h) => h.key)));
      return { ok: true, before };
    });
  }

  async settle(req: SettleRequest): Promise<{ after: number[] }> {
    return this.#transaction(() => {
      this.#expire(req.nowMs);
      const row = this.#stmt.getReservation.get(req.reservationId) as { cents: number } | undefined;
      if (row) this.#stmt.delReservation.run(req.reservationId);
      const delta = req.actualCents - (row?.cents ?? 0);
      const after = req.holds.map((h) => {
        // A window that ended while the call ran is not charged again.
        if (h.expiresAtMs <= req.nowMs) return 0;
        const next = Math.max(0, this.#value(h.key, req.nowMs) + delta);
        this.#stmt.putCounter.run(h.key, next, h.expiresAtMs);
        return next;
      });
      return { after };
    });
  }

  async read(keys: string[], nowMs: number): Promise<number[]> {
    // A write transaction: reading must first give back expired reservations.
    return this.#transaction(() => {
      this.#expire(nowMs);
      return keys.map((k) => this.#value(k, nowMs));
    });
  }

  /** Reservations held and not yet expired at `nowMs` (diagnostics and tests). */
  async openReservations(nowMs: number = Date.now()): Promise<number> {
    return this.#transaction(() => {
      this.#expire(nowMs);
      return (this.#db.prepare('SELECT count(*) AS n FROM agentguard_reservations').get() as { n: number }).n;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #value(key: string, nowMs: number): number {
    const row = this.#stmt.getCounter.get(key) as { cents: number; expires_at: number } | undefined;
    return row && row.expires_at > nowMs ? row.cents : 0;
  }

  /** Gives back reservations whose holder never settled (a crash, a lost stream). */
  #expire(nowMs: number): void {
    const rows = this.#stmt.expiredReservations.all(nowMs) as { id: string; cents: number; keys: string }[];
    for (const r of rows) {
      for (const key of JSON.parse(r.keys) as string[]) this.#stmt.decCounter.run(r.cents, key);
      this.#stmt.delReservation.run(r.id);
    }
    if (++this.#writes % GC_EVERY === 0) this.#stmt.gcCounters.run(nowMs);
  }

  #transaction<T>(fn: () => T): T {
    if (this.#closed) throw new SpendStoreError(`sqlite spend store ${this.path}: closed`);
    try {
      this.#stmt.begin.run();
    } catch (err) {
      throw this.#error('cannot start a write transaction', err);
    }
    try {
      const result = fn();
      this.#stmt.commit.run();
      return result;
    } catch (err) {
      try {
        this.#stmt.rollback.run();
      } catch {
        // SQLite may already have rolled back (e.g. after SQLITE_FULL)
      }
      if (err instanceof SpendStoreError) throw err;
      throw this.#error('transaction failed', err);
    }
  }

  #error(what: string, err: unknown): SpendStoreError {
    const e = err as { message?: string; errcode?: number };
    // SQLITE_BUSY (5) and SQLITE_LOCKED (6), including extended codes.
    const code = typeof e?.errcode === 'number' ? e.errcode & 0xff : undefined;
    const detail =
      code === 5 || code === 6
        ? `database is locked: another process held the write lock for more than busyTimeoutMs=${this.#busyTimeoutMs} ms`
        : (e?.message ?? String(err));
    return new SpendStoreError(`sqlite spend store ${this.path}: ${what}: ${detail}`, { cause: err });
  }
}

/** `node:sqlite`, loaded only when a SQLite store is created (importing this package never loads it). */
function loadSqlite(): typeof import('node:sqlite') {
  let mod: typeof import('node:sqlite') | undefined;
  try {
    mod = process.getBuiltinModule('node:sqlite');
  } catch {
    mod = undefined;
  }
  if (!mod?.DatabaseSync) {
    throw new SpendStoreError(`SqliteSpendStore needs node:sqlite (Node.js 22.13 or newer without flags); this is Node ${process.version}`);
  }
  return mod;
}
