import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { generateKeypair, parsePolicy, SpendGuard, SpendStoreError } from '../../src/index.js';
import { spendStoreFromUrl } from '../../src/stores.js';
import { redactUrl } from '../../src/stores/redis-spend-store.js';

/** Every form a credential can take in a store URL; nothing listens on port 1, so every call fails. */
const FORMS: [string, string, string][] = [
  ['user and password', 'redis://app:s3cretA@127.0.0.1:1/?timeoutMs=300', 's3cretA'],
  ['password only', 'redis://:s3cretB@127.0.0.1:1/?timeoutMs=300', 's3cretB'],
  ['TLS, password only', 'rediss://:s3cretC@127.0.0.1:1/?timeoutMs=300', 's3cretC'],
  ['?password=', 'redis://127.0.0.1:1/?password=s3cretD&timeoutMs=300', 's3cretD'],
  ['?username=&password=', 'redis://127.0.0.1:1/0?username=app&password=s3cretE&timeoutMs=300', 's3cretE'],
  ['a lone token as user', 'redis://s3cretF@127.0.0.1:1/?timeoutMs=300', 's3cretF'],
  ['?sentinelPassword=', 'redis://127.0.0.1:1/?sentinelPassword=s3cretG&timeoutMs=300', 's3cretG'],
  ['percent-encoded password', 'redis://app:p%40ss%3As3cretH@127.0.0.1:1/?timeoutMs=300', 's3cretH'],
];

function leaks(text: string, secret: string): boolean {
  return text.includes(secret) || decodeURIComponent(text.replace(/%(?![0-9A-Fa-f]{2})/g, '%25')).includes(secret);
}

describe('credentials in a store URL never show', () => {
  for (const [form, url, secret] of FORMS) {
    it(`${form}: masked in the failing store's SpendStoreError (message, stack, cause), in a bad-option error, and in the guard's error`, async () => {
      const store = spendStoreFromUrl(url);
      const err = await store
        .reserve({ reservationId: 'r', cents: 1, holds: [{ key: 'k', limitCents: 10, expiresAtMs: Date.now() + 60_000 }], nowMs: Date.now(), ttlMs: 1000 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpendStoreError);
      const text = inspect(err, { depth: 10 });
      expect(text).toMatch(/redis spend store rediss?:\/\//);
      expect(leaks(text, secret)).toBe(false);
      expect(leaks(String(err), secret)).toBe(false);
      await (store as { close?: () => Promise<void> }).close?.();

      // A bad option in the same URL.
      const bad = (() => {
        try {
          spendStoreFromUrl(url.replace('timeoutMs=300', 'timeoutMs=soon'));
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(bad).toBeInstanceOf(SpendStoreError);
      expect((bad as Error).message).toMatch(/timeoutMs must be a positive integer/);
      expect(leaks(inspect(bad, { depth: 10 }), secret)).toBe(false);

      // What a guard (and the span that records its exception) says about the failing store.
      const guardStore = spendStoreFromUrl(url);
      const guard = new SpendGuard({
        signingKeys: generateKeypair(),
        spendStore: guardStore,
        pricing: { overrides: { openai: { m: { inputPerMTok: 1, outputPerMTok: 1 } } } },
        policy: parsePolicy({
          id: 'p',
          name: 'p',
          scope: { tenantId: 't' },
          mode: 'enforce',
          version: 1,
          effectiveFrom: '2020-01-01T00:00:00Z',
          caps: [{ amountCents: 100, window: 'per_day', action: 'block', reason: 'r' }],
        }),
      });
      const guardErr = await guard
        .decide({ provider: 'openai', model: 'm', scope: { tenantId: 't' }, estimatedInputTokens: 1, maxOutputTokens: 1 })
        .catch((e: unknown) => e);
      expect(guardErr).toBeInstanceOf(Error);
      expect(leaks(inspect(guardErr, { depth: 10 }), secret)).toBe(false);
      await (guardStore as { close?: () => Promise<void> }).close?.();
    });
  }

  it('an unsupported scheme and an unparseable URL are masked too', () => {
    expect(() => spendStoreFromUrl('postgres://app:s3cretI@db/x?token=s3cretJ')).toThrow(
      'spend store URL postgres://app:***@db/x?token=*** : unsupported scheme'.replace(' :', ':'),
    );
    expect(redactUrl('redis://app:s3cret@[::1')).toBe('<unparseable URL>');
    expect(redactUrl('redis://cache:6379/0?hashTag=tenant&password=x&db=2')).toBe('redis://cache:6379/0?hashTag=tenant&password=***&db=2');
  });
});
