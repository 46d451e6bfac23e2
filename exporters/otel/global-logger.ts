import { logs, type Logger, type LoggerProvider } from '@opentelemetry/api';

/**
 * Where `@opentelemetry/api-logs` (the logs API before it moved into
 * `@opentelemetry/api` 1.10) keeps its global provider: a getter taking the
 * API's compatibility version (1). Apps on an older logs SDK register there.
 */
const LEGACY_LOGS_API_KEY = Symbol.for('io.opentelemetry.js.api.logs');
const LEGACY_LOGS_API_VERSION = 1;

type LegacyGlobal = typeof globalThis & { [LEGACY_LOGS_API_KEY]?: (version: number) => LoggerProvider | undefined };

/** The provider a logger came from, to flush it. */
export interface ResolvedLogger {
  logger: Logger;
  provider: LoggerProvider;
}

/**
 * Looks up the app's global LoggerProvider on every call (it may be
 * registered after the guard was built, as `--require` preloads run before
 * the app's SDK starts) and hands out a logger named `name`, re-created only
 * when the provider changes. Prefers the provider registered with
 * `@opentelemetry/api`, then one registered with the older
 * `@opentelemetry/api-logs`.
 */
export class GlobalLoggerSource {
  readonly #name: string;
  readonly #version: string | undefined;
  #provider: LoggerProvider | null = null;
  #logger: Logger | null = null;
  #legacyProvider: LoggerProvider | null = null;
  #legacyLogger: Logger | null = null;

  constructor(name: string, version?: string) {
    this.#name = name;
    this.#version = version;
  }

  /** The logger of the `@opentelemetry/api` global provider (a proxy until one is registered). */
  current(): ResolvedLogger {
    const provider = logs.getLoggerProvider();
    if (provider !== this.#provider || !this.#logger) {
      this.#provider = provider;
      this.#logger = provider.getLogger(this.#name, this.#version);
    }
    return { logger: this.#logger, provider };
  }

  /** The logger of a provider registered through `@opentelemetry/api-logs`, if any. */
  legacy(): ResolvedLogger | null {
    const getter = (globalThis as LegacyGlobal)[LEGACY_LOGS_API_KEY];
    const provider = typeof getter === 'function' ? getter(LEGACY_LOGS_API_VERSION) : undefined;
    if (!provider || typeof provider.getLogger !== 'function') return null;
    if (provider !== this.#legacyProvider || !this.#legacyLogger) {
      this.#legacyProvider = provider;
      this.#legacyLogger = provider.getLogger(this.#name, this.#version);
    }
    return { logger: this.#legacyLogger, provider };
  }
}

/** Calls the provider's `forceFlush` when it has one (SDK providers do; the API's proxy does not). */
export async function flushProvider(provider: LoggerProvider): Promise<void> {
  const flush = (provider as { forceFlush?: () => Promise<unknown> }).forceFlush;
  if (typeof flush === 'function') await flush.call(provider);
}
