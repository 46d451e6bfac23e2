import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { PriceTable } from '../../src/index.js';
import { canonicalJson } from '../../src/audit/canonical-json.js';
import {
  GenaiPricesTable,
  nanocentsToCentsCeil,
  NANOCENTS_PER_CENT,
  OverridePriceTable,
  projectNanocents,
  ratesFromUsd,
  usageNanocents,
} from '../../src/engine/pricing.js';
import { call, makeGuard, policy, usd } from '../helpers/engine.js';

const req = createRequire(import.meta.url);
const genaiVersion = (
  JSON.parse(readFileSync(req.resolve('@pydantic/genai-prices').replace(/dist[\\/][^\\/]+$/, 'package.json'), 'utf8')) as { version: string }
).version;

const table = new GenaiPricesTable();

describe('price table: @pydantic/genai-prices', () => {
  it('basis names the package and its installed version', () => {
    expect(genaiVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(table.basis).toBe(`@pydantic/genai-prices@${genaiVersion}`);
  });

  // Published prices, USD per million tokens (input / cached input / cache write / output).
  const known: [string, string, { input: number; cachedInput: number; cacheWrite: number; output: number }][] = [
    ['openai', 'gpt-4o', { input: 2.5, cachedInput: 1.25, cacheWrite: 2.5, output: 10 }],
    ['openai', 'gpt-4o-mini', { input: 0.15, cachedInput: 0.075, cacheWrite: 0.15, output: 0.6 }],
    ['openai', 'o3', { input: 2, cachedInput: 0.5, cacheWrite: 2, output: 8 }],
    ['anthropic', 'claude-sonnet-4-20250514', { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 }],
    ['anthropic', 'claude-3-5-haiku-latest', { input: 0.8, cachedInput: 0.08, cacheWrite: 1, output: 4 }],
    ['bedrock', 'anthropic.claude-3-5-sonnet-20240620-v1:0', { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 }],
    ['bedrock', 'amazon.nova-pro-v1:0', { input: 0.8, cachedInput: 0.2, cacheWrite: 0.8, output: 3.2 }],
  ];
  it.each(known)('%s %s: rates in nanocents per token', (provider, model, p) => {
    expect(table.rates(provider, model, 1000)).toEqual({
      input: usd(p.input),
      cachedInput: usd(p.cachedInput),
      cacheWrite: usd(p.cacheWrite),
      output: usd(p.output),
      reasoning: usd(p.output),
    });
  });

  it('long-context tiers apply by input size (claude-sonnet-4-5: $3 → $6 input, $15 → $22.50 output above 200k)', () => {
    expect(table.rates('anthropic', 'claude-sonnet-4-5', 100_000)).toMatchObject({
      input: usd(3),
      output: usd(15),
      cachedInput: usd(0.3),
      cacheWrite: usd(3.75),
    });
    expect(table.rates('anthropic', 'claude-sonnet-4-5', 250_000)).toMatchObject({
      input: usd(6),
      output: usd(22.5),
      cachedInput: usd(0.6),
      cacheWrite: usd(7.5),
    });
  });

  it('embedding models, priced by input alone, are known and cost nothing per output token', () => {
    expect(table.rates('openai', 'text-embedding-3-small', 1000)).toMatchObject({ input: usd(0.02), output: 0 });
    expect(table.rates('bedrock', 'amazon.titan-embed-text-v2:0', 1000)).toMatchObject({ input: usd(0.1), output: 0 });
  });

  it('unknown model or provider → null', () => {
    expect(table.rates('openai', 'gpt-99-imaginary', 0)).toBeNull();
    expect(table.rates('anthropic', 'gpt-4o', 0)).toBeNull();
  });
});

describe('money arithmetic', () => {
  it('nanocents round up to whole cents, never down', () => {
    expect(NANOCENTS_PER_CENT).toBe(1e9);
    expect(nanocentsToCentsCeil(0)).toBe(0);
    expect(nanocentsToCentsCeil(1)).toBe(1);
    expect(nanocentsToCentsCeil(1e9)).toBe(1);
    expect(nanocentsToCentsCeil(1e9 + 1)).toBe(2);
    expect(nanocentsToCentsCeil(87.5e9)).toBe(88);
  });

  it('ratesFromUsd: defaults for cached, cache-write and reasoning', () => {
    expect(ratesFromUsd({ inputPerMTok: 2.5, outputPerMTok: 10 })).toEqual({
      input: 250_000,
      output: 1_000_000,
      cachedInput: 250_000,
      cacheWrite: 250_000,
      reasoning: 1_000_000,
    });
    expect(ratesFromUsd({ inputPerMTok: 0.1, outputPerMTok: 0.3, cachedInputPerMTok: 0.025, cacheWritePerMTok: 0.125, reasoningPerMTok: 0.6 })).toEqual({
      input: 10_000,
      output: 30_000,
      cachedInput: 2_500,
      cacheWrite: 12_500,
      reasoning: 60_000,
    });
  });

  const gpt4o = ratesFromUsd({ inputPerMTok: 2.5, cachedInputPerMTok: 1.25, outputPerMTok: 10 });
  it('gpt-4o usage: cached input at $1.25, not billed again at $2.50; reasoning counted once inside output', () => {
    // 200k input of which 100k cached, 50k output of which 20k reasoning:
    // 100k × $2.50/M = 25c; 100k × $1.25/M = 12.5c; 50k × $10/M = 50c → 87.5c.
    const n = usageNanocents(gpt4o, { inputTokens: 200_000, cachedInputTokens: 100_000, outputTokens: 50_000, reasoningTokens: 20_000 });
    expect(n).toBe(87.5e9);
    expect(nanocentsToCentsCeil(n)).toBe(88);
    // Reasoning tokens do not change the cost when billed at the output rate.
    expect(usageNanocents(gpt4o, { inputTokens: 200_000, cachedInputTokens: 100_000, outputTokens: 50_000 })).toBe(n);
  });

  it('cache write billed at its own rate (Anthropic $3.75 on claude-sonnet-4)', () => {
    const sonnet = table.rates('anthropic', 'claude-sonnet-4-20250514', 0)!;
    // 1M input = 200k uncached ($0.60) + 600k cache read ($0.18) + 200k cache write ($0.75); 10k output ($0.15).
    const n = usageNanocents(sonnet, { inputTokens: 1_000_000, cachedInputTokens: 600_000, cacheWriteTokens: 200_000, outputTokens: 10_000 });
    expect(n).toBe(168e9);
  });

  it('reasoning billed at its own rate when the table has one, once', () => {
    const r = ratesFromUsd({ inputPerMTok: 1, outputPerMTok: 10, reasoningPerMTok: 20 });
    // 1000 output tokens of which 400 reasoning: 600 × 1000nc + 400 × 2000nc
    expect(usageNanocents(r, { inputTokens: 0, outputTokens: 1000, reasoningTokens: 400 })).toBe(600 * 1_000_000 + 400 * 2_000_000);
    // The worst-case projection prices every output token at the dearer of the two.
    expect(projectNanocents(r, 0, 1000)).toBe(1000 * 2_000_000);
  });

  it('projection: every input token at the full input rate plus every allowed output token', () => {
    expect(projectNanocents(gpt4o, 1_000_000, 100_000)).toBe(350e9);
  });
});

describe('pricing inside the guard', () => {
  const exact: [string, string, number, number, number][] = [
    // provider, model, estimated input, max output, expected cents (hand-computed from the published prices)
    ['openai', 'gpt-4o', 1_000_000, 100_000, 350], // $2.50 + $1.00
    ['openai', 'gpt-4o-mini', 100_000, 10_000, 3], // 1.5c + 0.6c = 2.1c → 3c
    ['anthropic', 'claude-sonnet-4-20250514', 10_000, 2_000, 6], // 3c + 3c
    ['anthropic', 'claude-sonnet-4-5', 250_000, 1_000, 153], // long context: $1.50 + 2.25c = 152.25c → 153c
    ['anthropic', 'claude-sonnet-4-5', 100_000, 1_000, 32], // 30c + 1.5c → 32c
    ['bedrock', 'amazon.nova-pro-v1:0', 10_000, 1_000, 2], // 0.8c + 0.32c = 1.12c → 2c
    ['bedrock', 'anthropic.claude-3-5-sonnet-20240620-v1:0', 100_000, 4_000, 36], // 30c + 6c
  ];
  it.each(exact)('%s %s: %d in / %d max out → %d cents projected', async (provider, model, inTok, outTok, cents) => {
    const { guard } = makeGuard({ policy: policy() });
    const r = await guard.decide(call({ provider, model, estimatedInputTokens: inTok, maxOutputTokens: outTok }));
    expect(r.action).toBe('allow');
    expect(r.decision.projectedCents).toBe(cents);
    expect(r.decision.costBasis).toBe(`@pydantic/genai-prices@${genaiVersion}`);
  });

  it('settle prices actual usage with cached, cache-write and reasoning tokens', async () => {
    const { guard } = makeGuard({ policy: policy() });
    const r = await guard.decide(call({ estimatedInputTokens: 200_000, maxOutputTokens: 60_000 }));
    expect(r.decision.projectedCents).toBe(110);
    const o = await guard.settle(r, { inputTokens: 200_000, cachedInputTokens: 100_000, outputTokens: 50_000, reasoningTokens: 20_000 });
    expect(o.decision).toMatchObject({ actualCents: 88, deltaCents: 88 - 110, actualCachedInputTokens: 100_000, actualReasoningTokens: 20_000 });
    const a = await guard.decide({
      provider: 'anthropic',
      model: 'claude-sonnet-4-20250514',
      scope: { tenantId: 'acme' },
      estimatedInputTokens: 1_000_000,
      maxOutputTokens: 10_000,
    });
    const ao = await guard.settle(a, { inputTokens: 1_000_000, cachedInputTokens: 600_000, cacheWriteTokens: 200_000, outputTokens: 10_000 });
    expect(ao.decision).toMatchObject({ actualCents: 168, actualCacheWriteTokens: 200_000 });
  });

  it('settle prices the long-context tier from the actual input size, not the estimate', async () => {
    const { guard } = makeGuard({ policy: policy() });
    const r = await guard.decide(call({ provider: 'anthropic', model: 'claude-sonnet-4-5', estimatedInputTokens: 100_000, maxOutputTokens: 1_000 }));
    expect(r.decision.projectedCents).toBe(32); // base tier: 30c + 1.5c
    // The provider reports 250k input: above 200k the whole call is billed at $6 / $22.50.
    const o = await guard.settle(r, { inputTokens: 250_000, outputTokens: 1_000 });
    expect(o.decision.actualCents).toBe(153); // 150c + 2.25c, not 75c + 1.5c
    const small = await guard.decide(call({ provider: 'anthropic', model: 'claude-sonnet-4-5', estimatedInputTokens: 250_000, maxOutputTokens: 1_000 }));
    expect(small.decision.projectedCents).toBe(153);
    expect((await guard.settle(small, { inputTokens: 100_000, outputTokens: 1_000 })).decision.actualCents).toBe(32);
  });

  it('one nanocent is charged as one cent', async () => {
    const tiny: PriceTable = { basis: 'tiny', rates: () => ({ input: 1, output: 1, cachedInput: 1, cacheWrite: 1, reasoning: 1 }) };
    const { guard } = makeGuard({ pricing: tiny, policy: policy() });
    const r = await guard.decide(call({ estimatedInputTokens: 1, maxOutputTokens: 0 }));
    expect(r.decision.projectedCents).toBe(1);
    expect(r.decision.costBasis).toBe('tiny');
    expect((await guard.settle(r, { inputTokens: 1, outputTokens: 0 })).decision.actualCents).toBe(1);
    const z = await guard.decide(call({ estimatedInputTokens: 0, maxOutputTokens: 0 }));
    expect(z.decision.projectedCents).toBe(0);
  });

  it('overrides: price models the table lacks or replace its price; costBasis names base and overrides', async () => {
    const overrides = { openai: { 'ft:gpt-4o:acme': { inputPerMTok: 5, outputPerMTok: 20 }, 'gpt-4o': { inputPerMTok: 100, outputPerMTok: 100 } } };
    const { guard } = makeGuard({ pricing: { overrides }, policy: policy() });
    const digest = createHash('sha256').update(canonicalJson(overrides)).digest('hex').slice(0, 12);
    expect(guard.costBasis).toBe(`@pydantic/genai-prices@${genaiVersion}+overrides:${digest}`);
    const ft = await guard.decide(call({ model: 'ft:gpt-4o:acme', estimatedInputTokens: 10_000, maxOutputTokens: 10_000 }));
    expect(ft.decision.projectedCents).toBe(25); // 5c + 20c
    expect(ft.decision.costBasis).toBe(guard.costBasis);
    const replaced = await guard.decide(call({ estimatedInputTokens: 10_000, maxOutputTokens: 10_000 }));
    expect(replaced.decision.projectedCents).toBe(200);
    const fromBase = await guard.decide(call({ model: 'gpt-4o-mini', maxOutputTokens: 100_000 }));
    expect(fromBase.decision.projectedCents).toBe(6);
  });

  it('a bad override is rejected naming the field', () => {
    expect(() => makeGuard({ pricing: { overrides: { openai: { m: { inputPerMTok: -1, outputPerMTok: 1 } } } } })).toThrow(
      'pricing.overrides.openai.m.inputPerMTok: expected a non-negative number of USD per million tokens, got -1',
    );
    expect(() => new OverridePriceTable({ openai: { m: { inputPerMTok: 1, outputPerMTok: Number.NaN } } }, null)).toThrow(/outputPerMTok.*got null/);
  });

  it('overrides over no base: only the overridden models are known', () => {
    const t = new OverridePriceTable({ openai: { a: { inputPerMTok: 1, outputPerMTok: 2 } } }, null);
    expect(t.basis).toMatch(/^none\+overrides:[0-9a-f]{12}$/);
    expect(t.rates('openai', 'a', 0)).toMatchObject({ input: 100_000, output: 200_000 });
    expect(t.rates('openai', 'gpt-4o', 0)).toBeNull();
  });
});

describe('review: prices that are not numbers never reach a spend counter', () => {
  it('an override without outputPerMTok (or inputPerMTok) is rejected naming the field', () => {
    expect(() => new OverridePriceTable({ openai: { m: { inputPerMTok: 1 } as never } }, null)).toThrow(
      'pricing.overrides.openai.m.outputPerMTok: expected a non-negative number of USD per million tokens, got undefined',
    );
    expect(() => new OverridePriceTable({ openai: { m: { outputPerMTok: 1 } as never } }, null)).toThrow(/pricing\.overrides\.openai\.m\.inputPerMTok/);
  });

  it('a custom price table returning NaN rates fails the call, and later calls are still held to the cap', async () => {
    let broken = true;
    const real = new GenaiPricesTable();
    const table: PriceTable = {
      basis: 'custom',
      rates: (p, m, n) => (broken ? { input: Number.NaN, output: Number.NaN, cachedInput: 0, cacheWrite: 0, reasoning: 0 } : real.rates(p, m, n)),
    };
    const { guard } = makeGuard({ pricing: table, policy: policy({ caps: [{ amountCents: 100, window: 'per_day', action: 'block' }] }) });
    await expect(guard.decide(call({ estimatedInputTokens: 10, maxOutputTokens: 10 }))).rejects.toThrow(/price table custom.*openai\/gpt-4o.*input/);
    broken = false;
    // Before the fix the NaN reservation poisoned the day's counter and this 100 $ call passed a 1 $ cap.
    const big = await guard.decide(call({ estimatedInputTokens: 10, maxOutputTokens: 10_000_000 }));
    expect(big.action).toBe('block');
  });
});
