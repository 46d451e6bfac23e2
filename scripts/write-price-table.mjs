// Writes src/engine/genai-prices-data.ts: the part of @pydantic/genai-prices' bundled
// data that the engine's default price table reads (the providers openai, anthropic
// and aws; each model's match rule and its input, output, cache-read and cache-write
// prices, with their time constraints and long-context tiers), so pricing a call does
// not load the library's ~480 KB bundle. Run by `npm run build`; the file is checked
// in so typecheck and tests work without a build. test/engine/genai-prices-data.test.ts
// proves the table gives the library's prices for every model it covers.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const main = require.resolve('@pydantic/genai-prices');
const { version } = JSON.parse(readFileSync(main.replace(/dist[\\/][^\\/]+$/, 'package.json'), 'utf8'));
const { calcPrice, findProvider } = require('@pydantic/genai-prices');

/** The providers covered: what the engine's providers `openai`, `anthropic` and `bedrock` are priced with. */
const PROVIDERS = ['openai', 'anthropic', 'aws'];
/** The price fields the engine reads (src/engine/pricing.ts). */
const FIELDS = ['input_mtok', 'output_mtok', 'cache_read_mtok', 'cache_write_mtok'];

/**
 * Whether the library's price calculation fails or warns for these prices (it
 * runs it on every lookup): such a variant is marked, and the table leaves
 * its lookups to the library, which fails or warns the same way.
 */
function calculationFails(prices) {
  const warn = console.warn;
  let warned = false;
  console.warn = () => (warned = true);
  try {
    calcPrice({ input_tokens: 0, output_tokens: 0 }, 'probe', {
      provider: { id: 'probe', name: 'probe', api_pattern: 'probe', models: [{ id: 'probe', match: { equals: 'probe' }, prices }] },
    });
    return warned;
  } catch {
    return true;
  } finally {
    console.warn = warn;
  }
}

function reduced(prices) {
  const out = {};
  for (const f of FIELDS) if (prices[f] !== undefined) out[f] = prices[f];
  if (calculationFails(prices)) out.library = 1;
  return out;
}

const providers = PROVIDERS.map((id) => {
  const p = findProvider({ providerId: id });
  if (!p || p.id !== id) throw new Error(`@pydantic/genai-prices@${version} has no provider ${id}`);
  for (const f of p.fallback_model_providers ?? []) {
    if (!PROVIDERS.includes(f)) throw new Error(`provider ${id} falls back to ${f}, which the table does not cover: add it to PROVIDERS`);
  }
  return {
    id,
    ...(p.fallback_model_providers ? { fallback: p.fallback_model_providers } : {}),
    models: p.models.map((m) => [
      m.match,
      Array.isArray(m.prices) ? m.prices.map((c) => ({ ...(c.constraint ? { constraint: c.constraint } : {}), prices: reduced(c.prices) })) : reduced(m.prices),
    ]),
  };
});

const json = JSON.stringify(providers);
const text = `// Generated from @pydantic/genai-prices@${version} by scripts/write-price-table.mjs (run by \`npm run build\`). Do not edit.
/** The version of \`@pydantic/genai-prices\` the data below was taken from. */
export const GENAI_PRICES_DATA_VERSION = '${version}';
/** The covered providers' models (match rule, prices), as JSON: parsed on first use (JSON parses faster than a literal compiles). */
export const GENAI_PRICES_DATA_JSON =
  '${json.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}';
`;
const target = new URL('../src/engine/genai-prices-data.ts', import.meta.url);
let current = '';
try {
  current = readFileSync(target, 'utf8');
} catch {
  // First run.
}
if (current !== text) writeFileSync(target, text);
