import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENAI_PRICES_DATA_JSON, GENAI_PRICES_DATA_VERSION } from '../../src/engine/genai-prices-data.js';
import { ASK_LIBRARY, dataModelPrice } from '../../src/engine/genai-prices-lookup.js';
import { GenaiPricesTable } from '../../src/engine/pricing.js';

// Differential: the package's copy of @pydantic/genai-prices' data, looked up by
// dataModelPrice, against the library's own calcPrice, for every model of every
// covered provider, under names each match rule accepts (and near misses), at the
// instants around every dated price change.

const req = createRequire(import.meta.url);
const lib = req('@pydantic/genai-prices') as typeof import('@pydantic/genai-prices');
const installed = (JSON.parse(readFileSync(req.resolve('@pydantic/genai-prices').replace(/dist[\\/][^\\/]+$/, 'package.json'), 'utf8')) as { version: string })
  .version;
const FIELDS = ['input_mtok', 'output_mtok', 'cache_read_mtok', 'cache_write_mtok'] as const;
const COVERED = ['openai', 'anthropic', 'aws'];

type Match = Record<string, unknown>;
/** Model names a match rule is about: its strings, with and without dates and suffixes, in other cases. */
function namesOf(match: Match, out: Set<string>): void {
  for (const [kind, value] of Object.entries(match)) {
    if (kind === 'or' || kind === 'and') {
      for (const m of value as Match[]) namesOf(m, out);
      continue;
    }
    let s = value as string;
    if (kind === 'regex')
      s = s
        .replace(/^\^|\$$/g, '')
        .replace(/\\d\{8\}/g, '20260115')
        .replace(/\\d\{4\}/g, '2026')
        .replace(/\\d\{2\}/g, '01')
        .replace(/\\\./g, '.');
    for (const v of [
      s,
      `${s}-20240806`,
      `${s}-2024-08-06`,
      `${s}-latest`,
      `x-${s}`,
      s.toUpperCase(),
      ` ${s} `,
      s.slice(0, -1),
      `us.anthropic.${s}`,
      `${s}:0`,
      `${s}-v1:0`,
    ])
      out.add(v);
  }
}

function libraryPrice(providerId: string, name: string, at: Date): Record<string, unknown> | null {
  const r = lib.calcPrice({ input_tokens: 0, output_tokens: 0 }, name, { providerId, timestamp: at });
  if (!r) return null;
  return Object.fromEntries(FIELDS.filter((f) => r.model_price[f] !== undefined).map((f) => [f, r.model_price[f]]));
}

/** A price at an input size: a number, or the tier in force (the engine's rule). */
function tierAt(v: unknown, inputTokens: number): number | undefined {
  if (v === undefined || typeof v === 'number') return v;
  const t = v as { base: number; tiers: { start: number; price: number }[] };
  let chosen = t.base;
  for (const x of t.tiers) if (inputTokens >= x.start) chosen = x.price;
  return chosen;
}

describe('genai-prices data: the same prices as the library', () => {
  it('is taken from the installed version of the library', () => {
    expect(GENAI_PRICES_DATA_VERSION).toBe(installed);
  });

  it('covers openai, anthropic and aws with every model of the library', () => {
    const data = JSON.parse(GENAI_PRICES_DATA_JSON) as { id: string; models: unknown[] }[];
    expect(data.map((p) => p.id)).toEqual(COVERED);
    for (const p of data) expect(p.models).toHaveLength(lib.findProvider({ providerId: p.id })!.models.length);
  });

  it('gives the library model price for every model name of every covered provider, at every dated price change', () => {
    // Every instant around a dated price change, for the names of every model (a name may match a dated model first).
    const instants = new Set<number>([Date.now(), Date.parse('2020-01-01T00:00:00Z'), Date.parse('2030-01-01T00:00:00Z')]);
    const names = new Set<string>([
      '',
      'gpt-4o',
      'claude-sonnet-4-6',
      'anthropic.claude-3-5-sonnet-20240620-v1:0',
      'gpt-99-imaginary',
      'gpt-4o-20240806',
      'gpt-4o-20241399',
    ]);
    for (const id of COVERED) {
      for (const model of lib.findProvider({ providerId: id })!.models) {
        namesOf(model.match as Match, names);
        names.add(model.id);
        for (const c of Array.isArray(model.prices) ? model.prices : []) {
          const start = (c.constraint as { start_date?: string } | undefined)?.start_date;
          if (start) for (const d of [-1, 0, 1]) instants.add(Date.parse(`${start}T00:00:00Z`) + d);
        }
      }
    }
    let compared = 0;
    let priced = 0;
    const sorted = [...instants].sort((a, b) => a - b);
    const compare = (provider: string, name: string, t: number) => {
      const at = new Date(t);
      const ours = dataModelPrice(provider, name, at);
      expect(ours, `${provider} ${name}`).not.toBe(ASK_LIBRARY);
      const theirs = libraryPrice(provider, name, at);
      expect(ours, `${provider} ${JSON.stringify(name)} at ${at.toISOString()}`).toEqual(theirs);
      compared++;
      if (theirs) priced++;
    };
    for (const provider of [...COVERED, 'OpenAI', ' aws ']) {
      for (const name of names) {
        compare(provider, name, Date.now());
        // A name the library prices with a dated model: every instant around every change.
        const model = lib.calcPrice({ input_tokens: 0, output_tokens: 0 }, name, { providerId: provider })?.model;
        if (model && Array.isArray(model.prices)) for (const t of sorted) compare(provider, name, t);
      }
    }
    // The comparison is not vacuous: thousands of names, most of them priced.
    expect(names.size).toBeGreaterThan(1_500);
    expect(priced).toBeGreaterThan(2_000);
    expect(compared).toBeGreaterThan(names.size * 5);
  });

  it('leaves providers it does not cover to the library', () => {
    expect(dataModelPrice('google', 'gemini-2.5-pro', new Date())).toBe(ASK_LIBRARY);
    expect(dataModelPrice('litellm', 'openai/gpt-4o', new Date())).toBe(ASK_LIBRARY);
    // …which GenaiPricesTable then asks: the same rates as before.
    const table = new GenaiPricesTable();
    const google = lib.calcPrice({ input_tokens: 0, output_tokens: 0 }, 'gemini-2.5-pro', { providerId: 'google' })!;
    for (const inputTokens of [0, 1_000_000]) {
      expect(table.rates('google', 'gemini-2.5-pro', inputTokens)?.input).toBe(Math.round(tierAt(google.model_price.input_mtok, inputTokens)! * 100_000));
    }
  });

  it('GenaiPricesTable prices the covered providers with the data: the rates of the library, tiers included', () => {
    const table = new GenaiPricesTable();
    expect(table.basis).toBe(`@pydantic/genai-prices@${installed}`);
    for (const [provider, providerId, model] of [
      ['openai', 'openai', 'gpt-4o'],
      ['openai', 'openai', 'gpt-4.1-mini'],
      ['anthropic', 'anthropic', 'claude-sonnet-4-6'],
      ['anthropic', 'anthropic', 'claude-sonnet-4-20250514'],
      ['bedrock', 'aws', 'anthropic.claude-3-5-sonnet-20240620-v1:0'],
      ['bedrock', 'aws', 'amazon.nova-pro-v1:0'],
    ] as const) {
      const price = lib.calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { providerId })!.model_price;
      for (const inputTokens of [0, 199_999, 200_000, 1_000_000]) {
        const tier = (v: unknown) => tierAt(v, inputTokens);
        const input = tier(price.input_mtok)!;
        const r = table.rates(provider, model, inputTokens);
        expect(r, `${provider}/${model}`).toEqual({
          input: Math.round(input * 100_000),
          output: Math.round((tier(price.output_mtok) ?? 0) * 100_000),
          cachedInput: Math.round((tier(price.cache_read_mtok) ?? input) * 100_000),
          cacheWrite: Math.round((tier(price.cache_write_mtok) ?? input) * 100_000),
          reasoning: Math.round((tier(price.output_mtok) ?? 0) * 100_000),
        });
      }
    }
    expect(table.rates('openai', 'gpt-99-imaginary', 0)).toBeNull();
  });
});
