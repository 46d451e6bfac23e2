import { FileDecisionLogStore } from '../../exporters/file/file-store.js';
import { OtelLogRecordStore } from '../../exporters/otel/log-records.js';
import { ConfigError, type EnvConfig } from './env-config.js';

type Env = Record<string, string | undefined>;

/**
 * Where `register` sends signed entries (`AGENTGUARD_LOG_EXPORT`):
 * `file` (default) JSONL files in `AGENTGUARD_LOG_DIR`; `otel` log records
 * through the app's global OpenTelemetry LoggerProvider only; `both`.
 */
export const LOG_EXPORTS = ['file', 'otel', 'both'] as const;
export type LogExport = (typeof LOG_EXPORTS)[number];

/** The store `register` hands the guard: the file store, or the OpenTelemetry one (wrapping the file store for `both`). */
export type RegisteredLogStore = FileDecisionLogStore | OtelLogRecordStore;

/**
 * Reads `AGENTGUARD_LOG_EXPORT`. `otel` with `AGENTGUARD_CHAIN_ID` is refused:
 * that variable resumes a chain from its files, and without files a
 * restarted process would start a second chain under the same id.
 * @throws ConfigError naming the variable.
 */
export function logExportFromEnv(env: Env = process.env): LogExport {
  const v = env.AGENTGUARD_LOG_EXPORT?.trim().toLowerCase() || 'file';
  if (!(LOG_EXPORTS as readonly string[]).includes(v)) {
    throw new ConfigError('AGENTGUARD_LOG_EXPORT', `expected one of ${LOG_EXPORTS.join(', ')}, got ${JSON.stringify(env.AGENTGUARD_LOG_EXPORT)}`);
  }
  if (v === 'otel' && env.AGENTGUARD_CHAIN_ID) {
    throw new ConfigError(
      'AGENTGUARD_CHAIN_ID',
      'resumes a chain from its files in AGENTGUARD_LOG_DIR, and AGENTGUARD_LOG_EXPORT=otel writes none (each process starts a chain of its own); use AGENTGUARD_LOG_EXPORT=both to resume',
    );
  }
  return v as LogExport;
}

/**
 * Builds the decision log for `register`. With files (`file`, `both`) a
 * failure to open them is reported through `warn` (guarded calls fail until
 * the log can be written). With `both`, the file store's checkpoints are
 * emitted as records too.
 */
export function createLogStore(config: EnvConfig, logExport: LogExport, warn: (line: string) => void): RegisteredLogStore {
  if (logExport === 'otel') return new OtelLogRecordStore({ onWarning: warn });
  let otel: OtelLogRecordStore | null = null;
  const files = new FileDecisionLogStore({
    dir: config.logDir,
    durability: config.durability,
    // The chain's next entry must be signed by this key: a restart with another one is refused at open.
    signerPublicKey: config.signingKeys.publicKey,
    ...(config.chainId ? { chainId: config.chainId } : {}),
    ...(logExport === 'both' ? { checkpoints: { onCheckpoint: (cp) => otel?.emitCheckpoint(cp) } } : {}),
  });
  files.ready().catch((err: Error) => {
    warn(`agentguard-spend: AGENTGUARD_LOG_DIR: cannot open the decision log in ${config.logDir}: ${err.message}; guarded calls fail until it can be written`);
  });
  if (logExport === 'file') return files;
  otel = new OtelLogRecordStore({ inner: files, onWarning: warn });
  return otel;
}
