import { diag } from '@opentelemetry/api';
import { watchFile, type FileWatch } from './file-watch.js';
import type { SpendGuard } from './guard.js';
import { loadPriceFile, type PriceOverrides } from './price-file.js';

/** Options of {@link watchPriceFile}. */
export interface PriceWatchOptions {
  /** Called with the new prices after a valid change took effect. */
  onReload?: (overrides: PriceOverrides) => void;
  /** Called when a changed file is invalid; the prices in force stay. */
  onError?: (error: Error) => void;
  debounceMs?: number;
}

/**
 * Hot reload of a price file, like the policy file's: the next decisions are
 * priced with the new overrides over the bundled table (each entry records the
 * overrides' hash in `costBasis`); an invalid new file is rejected and the
 * prices in force stay.
 */
export function watchPriceFile(path: string, guard: SpendGuard, initial: PriceOverrides, options: PriceWatchOptions = {}): FileWatch {
  const onError = options.onError ?? ((err: Error) => diag.error(`agentguard-spend: price reload rejected: ${err.message}`));
  let lastText = JSON.stringify(initial);
  const reload = (): boolean => {
    let overrides: PriceOverrides;
    try {
      overrides = loadPriceFile(path);
    } catch (err) {
      onError(err as Error);
      return false;
    }
    const text = JSON.stringify(overrides);
    if (text === lastText) return false;
    lastText = text;
    guard.setPricing({ overrides });
    options.onReload?.(overrides);
    return true;
  };
  return watchFile(path, reload, onError, options.debounceMs);
}
