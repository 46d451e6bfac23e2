import {
  InMemoryDecisionLogStore,
  InMemorySpendStore,
  parsePolicy,
  signingKeysFromHex,
  SpendGuard,
  type CallRequest,
  type SpendCap,
  type SpendGuardConfig,
  type SpendPolicy,
} from '../../src/index.js';
import { bytesToHex } from '../../src/audit/hex.js';

/** Seed bytes 0..31: the key the Python port's golden chain was signed with. */
export const SEED = Uint8Array.from({ length: 32 }, (_, i) => i);
export const KEYS = signingKeysFromHex(bytesToHex(SEED));

/** 2026-05-24T18:00:00.000Z */
export const T0 = Date.UTC(2026, 4, 24, 18, 0, 0);

/** A validated policy with sensible defaults for tests. */
export function policy(fields: Partial<Omit<SpendPolicy, 'caps'>> & { caps?: Partial<SpendCap>[] } = {}): SpendPolicy {
  return parsePolicy({
    id: 'p-1',
    name: 'test policy',
    scope: { tenantId: 'acme' },
    mode: 'enforce',
    version: 1,
    effectiveFrom: '2026-01-01T00:00:00Z',
    ...fields,
    caps: (fields.caps ?? []).map((c) => ({ reason: 'test cap', ...c })),
  });
}

/** A call to openai/gpt-4o for tenant acme; override any field. */
export function call(fields: Partial<CallRequest> = {}): CallRequest {
  return { provider: 'openai', model: 'gpt-4o', scope: { tenantId: 'acme' }, estimatedInputTokens: 0, maxOutputTokens: 0, ...fields };
}

/** A settable clock. */
export class TestClock {
  constructor(public nowMs = T0) {}
  readonly fn = () => this.nowMs;
  set(iso: string) {
    this.nowMs = Date.parse(iso);
  }
}

/** A guard with in-memory stores and a test clock, plus handles on them. */
export function makeGuard(config: Partial<SpendGuardConfig> = {}) {
  const clock = new TestClock();
  const spendStore = (config.spendStore as InMemorySpendStore | undefined) ?? new InMemorySpendStore();
  const logStore = (config.logStore as InMemoryDecisionLogStore | undefined) ?? new InMemoryDecisionLogStore();
  const guard = new SpendGuard({ signingKeys: KEYS, clock: clock.fn, ...config, spendStore, logStore });
  return { guard, clock, spendStore, logStore };
}

/**
 * Nanocents per token for a USD-per-million-token price, as the providers
 * publish it: $1/Mtok = 100 cents / 1e6 tokens = 1e-4 cent = 1e5 nanocents.
 */
export const usd = (perMTok: number) => perMTok * 100_000;

/** Deep copy of a JSON value, as a log reader would see it (no shared references). */
export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
