import { GENAI_PRICES_DATA_JSON } from './genai-prices-data.js';

/**
 * The model prices of `@pydantic/genai-prices` for the providers its data was
 * taken for (`genai-prices-data.ts`), found the way the library's `calcPrice`
 * finds them: the provider by id, the first model whose match rule accepts the
 * lower-cased model name (then the provider's fallback providers, then the name
 * with a `-YYYYMMDD` date written `-YYYY-MM-DD`), and of a model's dated or
 * time-of-day prices the ones in force at `at`. Loading the library's bundle
 * costs ~30 ms of CPU; this lookup parses ~40 KB of JSON once.
 * test/engine/genai-prices-data.test.ts holds it to the library.
 */

/** A model's prices the engine reads, in USD per million tokens (a number, or long-context tiers). */
export type DataModelPrice = Record<string, number | { base: number; tiers: { start: number; price: number }[] } | undefined>;

type MatchLogic =
  | { and: MatchLogic[] }
  | { or: MatchLogic[] }
  | { equals: string }
  | { starts_with: string }
  | { ends_with: string }
  | { contains: string }
  | { regex: string };
type Constraint = { type: 'start_date'; start_date: string } | { type: 'time_of_date'; start_time: string; end_time: string };
/** `library: 1` marks prices the library's calculation fails or warns on: their lookups stay with the library. */
type DataPrices = DataModelPrice & { library?: number };
type DataProvider = { id: string; fallback?: string[]; models: [MatchLogic, DataPrices | { constraint?: Constraint; prices: DataPrices }[]][] };

/** Answer of {@link dataModelPrice} when the data cannot answer like the library: ask the library. */
export const ASK_LIBRARY = Symbol('ask @pydantic/genai-prices');

let providers: Map<string, DataProvider> | undefined;
function dataProviders(): Map<string, DataProvider> {
  return (providers ??= new Map((JSON.parse(GENAI_PRICES_DATA_JSON) as DataProvider[]).map((p) => [p.id, p])));
}

/**
 * The prices `calcPrice(usage, model, { providerId, timestamp: at })` of the
 * library would report as `model_price` (only the fields the engine reads),
 * null when it would find no price, or {@link ASK_LIBRARY} for a provider the
 * data does not cover.
 */
export function dataModelPrice(providerId: string, model: string, at: Date): DataModelPrice | null | typeof ASK_LIBRARY {
  const provider = dataProviders().get(providerId.toLowerCase().trim());
  if (!provider) return ASK_LIBRARY;
  const name = model.toLowerCase().trim();
  let found = findModel(provider, name);
  if (!found) {
    const dated = withDashedDates(name);
    if (dated !== name) found = findModel(provider, dated);
  }
  if (!found) return null;
  const prices = pricesAt(found, at);
  if (prices === ASK_LIBRARY || prices.library) return ASK_LIBRARY;
  return prices;
}

type DataModel = DataProvider['models'][number];

function findModel(provider: DataProvider, name: string, withFallback = true): DataModel | undefined {
  const model = provider.models.find(([match]) => matches(match, name));
  if (model || !withFallback || !provider.fallback) return model;
  for (const id of provider.fallback) {
    const other = dataProviders().get(id);
    // The library looks a fallback provider up without its own fallbacks.
    const m = other && findModel(other, name, false);
    if (m) return m;
  }
  return undefined;
}

function matches(m: MatchLogic, name: string): boolean {
  if ('or' in m) return m.or.some((x) => matches(x, name));
  if ('and' in m) return m.and.every((x) => matches(x, name));
  if ('equals' in m) return name === m.equals.toLowerCase();
  if ('starts_with' in m) return name.startsWith(m.starts_with.toLowerCase());
  if ('ends_with' in m) return name.endsWith(m.ends_with.toLowerCase());
  if ('contains' in m) return name.includes(m.contains.toLowerCase());
  if ('regex' in m) return new RegExp(m.regex).test(name);
  return false;
}

const COMPACT_DATE = /(-)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)/g;

/** `-20240806` → `-2024-08-06` where it is a real calendar date. */
function withDashedDates(name: string): string {
  return name.replace(COMPACT_DATE, (whole: string, dash: string, y: string, mo: string, d: string) => {
    const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
    return date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d) ? whole : `${dash}${y}-${mo}-${d}`;
  });
}

/** Of a model's prices, the last whose constraint holds at `at` (the first when none does). */
function pricesAt([, prices]: DataModel, at: Date): DataPrices | typeof ASK_LIBRARY {
  if (!Array.isArray(prices)) return prices;
  if (Number.isNaN(at.getTime())) throw new RangeError('Invalid time value');
  for (let i = prices.length - 1; i >= 0; i--) {
    const { constraint, prices: p } = prices[i]!;
    if (constraint === undefined) return p;
    if (constraint.type === 'start_date') {
      if (at >= new Date(constraint.start_date)) return p;
    } else {
      // Time-of-day prices: none in the covered providers' data today; the library decides them.
      return ASK_LIBRARY;
    }
  }
  return prices[0]!.prices;
}
