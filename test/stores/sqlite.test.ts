import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SpendStoreError } from '../../src/index.js';
import { SqliteSpendStore } from '../../src/stores.js';
import { spendStoreConformance } from '../helpers/store-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'agentguard-sqlite-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

spendStoreConformance('SqliteSpendStore', () => new SqliteSpendStore(join(dir, `conf-${n++}.db`)));

describe('SqliteSpendStore', () => {
  const hold = { key: 'k', limitCents: 100, expiresAtMs: Date.now() + 3_600_000 };

  it('keeps the database in WAL mode in the file it names, creating its directory', async () => {
    const path = join(dir, 'nested', 'deeper', 'spend.db');
    const s = new SqliteSpendStore(path);
    expect(s.path).toBe(path);
    await s.reserve({ reservationId: 'r', cents: 5, holds: [hold], nowMs: Date.now(), ttlMs: 60_000 });
    await s.close();
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(path);
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(db.prepare('SELECT key, cents FROM agentguard_counters').all()).toEqual([{ key: 'k', cents: 5 }]);
    db.close();
  });

  it("a second store on the same file sees the first one's reservations", async () => {
    const path = join(dir, 'shared.db');
    const a = new SqliteSpendStore(path);
    const b = new SqliteSpendStore(path);
    const nowMs = Date.now();
    expect((await a.reserve({ reservationId: 'a1', cents: 60, holds: [hold], nowMs, ttlMs: 60_000 })).ok).toBe(true);
    expect(await b.reserve({ reservationId: 'b1', cents: 60, holds: [hold], nowMs, ttlMs: 60_000 })).toEqual({ ok: false, before: [60], exceeded: [0] });
    expect(await b.openReservations(nowMs)).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('an unwritable path fails with a SpendStoreError naming the file', () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'not a directory');
    const path = join(file, 'spend.db'); // a path under a regular file: unwritable even for root
    expect(() => new SqliteSpendStore(path)).toThrow(SpendStoreError);
    expect(() => new SqliteSpendStore(path)).toThrow(path);
  });

  it('a file that is not a SQLite database fails with a SpendStoreError naming it', () => {
    const path = join(dir, 'garbage.db');
    writeFileSync(path, 'x'.repeat(4096));
    expect(() => new SqliteSpendStore(path)).toThrow(new RegExp(`sqlite spend store ${path}: cannot initialize`));
  });

  it('a database locked longer than busyTimeoutMs fails with a SpendStoreError naming the file and the lock', async () => {
    const path = join(dir, 'locked.db');
    const s = new SqliteSpendStore(path, { busyTimeoutMs: 150 });
    const { DatabaseSync } = await import('node:sqlite');
    const holder = new DatabaseSync(path);
    holder.exec('BEGIN IMMEDIATE'); // another connection takes the write lock and keeps it
    const started = Date.now();
    const err = await s.reserve({ reservationId: 'r', cents: 1, holds: [hold], nowMs: Date.now(), ttlMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpendStoreError);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toMatch(/database is locked.*busyTimeoutMs=150 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    holder.exec('ROLLBACK');
    holder.close();
    // The lock is gone: the store works again.
    expect((await s.reserve({ reservationId: 'r', cents: 1, holds: [hold], nowMs: Date.now(), ttlMs: 1_000 })).ok).toBe(true);
    await s.close();
  });

  it('rejects use after close with a SpendStoreError', async () => {
    const s = new SqliteSpendStore(join(dir, 'closed.db'));
    await s.close();
    await expect(s.read(['k'], Date.now())).rejects.toThrow(/closed/);
  });
});
