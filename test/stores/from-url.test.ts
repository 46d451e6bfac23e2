import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InMemorySpendStore, SpendStoreError } from '../../src/index.js';
import { RedisSpendStore, spendStoreFromUrl, SqliteSpendStore } from '../../src/stores.js';
import { testRedis } from '../helpers/redis-server.js';

const dir = mkdtempSync(join(tmpdir(), 'agentguard-url-'));
const redis = await testRedis();
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const hold = { key: 'k', limitCents: 10, expiresAtMs: Date.now() + 60_000 };

describe('spendStoreFromUrl', () => {
  it.each([
    ['a plain path', (p: string) => p],
    ['a file: URL', (p: string) => pathToFileURL(p).href],
    ['a sqlite: path', (p: string) => `sqlite:${p}`],
    ['a sqlite:// URL', (p: string) => `sqlite://${p}`],
  ])('opens a SqliteSpendStore from %s', async (_what, toUrl) => {
    const path = join(dir, `${Math.random().toString(36).slice(2)}.db`);
    const store = spendStoreFromUrl(toUrl(path));
    expect(store).toBeInstanceOf(SqliteSpendStore);
    expect((store as SqliteSpendStore).path).toBe(path);
    expect((await store.reserve({ reservationId: 'r', cents: 4, holds: [hold], nowMs: Date.now(), ttlMs: 1_000 })).ok).toBe(true);
    await store.close?.();
  });

  it('opens an InMemorySpendStore from memory:', () => {
    expect(spendStoreFromUrl('memory:')).toBeInstanceOf(InMemorySpendStore);
  });

  it.skipIf(!redis)('opens a RedisSpendStore from redis:// with prefix and hashTag parameters that reach the store, not ioredis', async () => {
    const prefix = `agtest:${Math.random().toString(36).slice(2)}:`;
    const store = spendStoreFromUrl(`${redis!.url}/0?prefix=${encodeURIComponent(prefix)}&hashTag=tenant&timeoutMs=500`);
    expect(store).toBeInstanceOf(RedisSpendStore);
    const key = 'p:0|tenantId=acme|per_day@2026-11-25';
    expect((await store.reserve({ reservationId: 'r', cents: 4, holds: [{ ...hold, key }], nowMs: Date.now(), ttlMs: 1_000 })).ok).toBe(true);
    const { Redis } = await import('ioredis');
    const admin = new Redis(redis!.url);
    expect(await admin.hget(`${prefix}{acme}:c:${key}`, 'v')).toBe('4');
    await admin.quit();
    await store.close?.();
  });

  it('returns a RedisSpendStore without connecting (the first operation connects)', async () => {
    const store = spendStoreFromUrl('rediss://user:pw@127.0.0.1:1/2?timeoutMs=100');
    expect(store).toBeInstanceOf(RedisSpendStore);
    await expect(store.read(['k'], Date.now())).rejects.toThrow(/rediss:\/\/user:\*\*\*@127\.0\.0\.1:1\/2.*failing closed/);
    await store.close?.();
  });

  it.each([
    ['', /expected a file path or redis:\/\/ URL/],
    ['http://example.invalid/x', /unsupported scheme http/],
    ['sqlite:', /sqlite: needs a file path/],
    ['redis://h:6379?timeoutMs=soon', /timeoutMs must be a positive integer/],
    ['redis://h:6379?hashTag=', /hashTag must be 'tenant' or a non-empty tag/],
    ['postgres://u:hunter2@db/x', /unsupported scheme postgres/],
  ])('rejects %j with a SpendStoreError that says what is wrong', (url, message) => {
    expect(() => spendStoreFromUrl(url)).toThrow(SpendStoreError);
    expect(() => spendStoreFromUrl(url)).toThrow(message);
    if (url.includes('hunter2')) expect(() => spendStoreFromUrl(url)).not.toThrow(/hunter2/);
  });
});
