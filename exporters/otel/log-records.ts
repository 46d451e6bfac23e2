import {
  context,
  isValidSpanId,
  isValidTraceId,
  ROOT_CONTEXT,
  SeverityNumber,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type LogRecord,
} from '@opentelemetry/api';
import type { ChainHead, DecisionLogEntry } from '../../src/audit/chain.js';
import { CheckpointWriter, type Checkpoint } from '../../src/audit/checkpoint.js';
import type { Signer } from '../../src/audit/signer.js';
import type { DecisionLogStore } from '../../src/engine/log-store.js';
import { newChainId } from '../file/naming.js';
import { flushProvider, GlobalLoggerSource, type ResolvedLogger } from './global-logger.js';

/** `eventName` of the log records this package emits. */
export const LOG_EVENT = {
  /** A signed decision-log entry; the body is its JSONL line. */
  ENTRY: 'agentguard.decision_log.entry',
  /** A signed checkpoint of the chain; the body is its checkpoint-file line. */
  CHECKPOINT: 'agentguard.decision_log.checkpoint',
} as const;

/**
 * Attributes of a decision-log record. The entry attributes carry the names
 * the guarded call's span uses, so a span and its record join on them. None is
 * signed: the body is the signed truth, and `verify` reads sequence and
 * signer from it; the chain id groups the records of one chain.
 */
export const LOG_RECORD_ATTR = {
  /** The chain the record belongs to (the log file's chain id when the chain is also written to files). */
  CHAIN_ID: 'agentguard.chain.id',
  /** Entry: its sequence. Checkpoint: the sequence it vouches for. */
  SEQUENCE: 'agentguard.decision.sequence',
  /** Entry: its `entryHash`. Checkpoint: the `entryHash` it vouches for. */
  ENTRY_HASH: 'agentguard.decision.entry_hash',
  /** Fingerprint of the key that signed the entry (or the checkpoint). */
  SIGNER: 'agentguard.decision.signer',
} as const;

/** The logger (instrumentation scope) name the records are emitted under. */
export const LOG_RECORD_SCOPE = 'agentguard-spend/decision-log';

/**
 * The JSONL line of an entry as the file store writes it, without the newline:
 * the body of its log record.
 */
export function entryLine(entry: DecisionLogEntry): string {
  return JSON.stringify(entry);
}

/** A store that also flushes and closes (the file store does). */
export interface ClosableDecisionLogStore extends DecisionLogStore {
  flush?(): Promise<void>;
  close?(): Promise<void>;
}

/** Options of an {@link OtelLogRecordStore}. */
export interface OtelLogRecordStoreOptions {
  /**
   * A store that keeps the entries too, e.g. a `FileDecisionLogStore`: its
   * head resumes the chain, `append` resolves when it has the entry, and a
   * record is emitted once it does. Without it, the records are the only copy
   * and each process starts a chain of its own.
   */
  inner?: ClosableDecisionLogStore;
  /**
   * The `agentguard.chain.id` of every record (a string, or read when the
   * first record is emitted). Default: `inner.chainId` when the inner store
   * has one (the file store's chain id), else a new fleet-unique id.
   */
  chainId?: string | (() => string);
  /**
   * Signed checkpoints emitted as records (every `every` entries, default
   * 1000, after a key rotation, and on close). Default: on without `inner`;
   * with `inner`, off: pass {@link OtelLogRecordStore.emitCheckpoint} to the
   * inner store's `onCheckpoint` so its checkpoints travel too.
   */
  checkpoints?: { every?: number } | false;
  /**
   * Most records held while no LoggerProvider takes them (none registered
   * yet, or one whose configuration drops them). Default 10,000. When full,
   * `append` rejects without `inner` (the call fails, as with any log that
   * cannot be written); with `inner`, the oldest held record is dropped and
   * `onWarning` told once (the inner store still has every entry).
   */
  maxPending?: number;
  /** Told about records dropped or left unshipped (default `process.emitWarning`). */
  onWarning?: (message: string) => void;
}

interface PendingRecord {
  record: LogRecord;
  /** The sequence the record names, for messages. */
  sequence: number;
}

/**
 * A {@link DecisionLogStore} that emits every signed entry as an OpenTelemetry
 * log record through the app's global LoggerProvider (`logs` of
 * `@opentelemetry/api`, or a provider registered with `@opentelemetry/api-logs`),
 * so entries travel through the pipeline the app already runs (an OTLP
 * exporter, a Collector) to the storage it already has. `agentguard-spend
 * verify` reads them back from what a Collector's file exporter wrote.
 *
 * Each record: body = the entry's JSONL line exactly as the file store writes
 * it (without the newline), `eventName` {@link LOG_EVENT.ENTRY}, severity INFO,
 * timestamp = the decision's, attributes {@link LOG_RECORD_ATTR}, and the
 * decision's `traceId`/`spanId` as the record's trace context. A pipeline that
 * drops records of unsampled traces would leave a gap in the chain, so such an
 * entry is emitted without trace context instead (the ids stay in the signed
 * body).
 *
 * Records emitted before the app registers its LoggerProvider (a `--require`
 * preload runs first) are held and emitted in order once one takes them.
 *
 * @example
 * // alongside files
 * const files = new FileDecisionLogStore({ dir, checkpoints: { onCheckpoint: (cp) => store.emitCheckpoint(cp) } });
 * const store = new OtelLogRecordStore({ inner: files });
 * // instead of files
 * const guard = new SpendGuard({ policies, signingKeys, logStore: new OtelLogRecordStore() });
 */
export class OtelLogRecordStore implements DecisionLogStore {
  readonly #inner: ClosableDecisionLogStore | undefined;
  readonly #chainIdOption: string | (() => string) | undefined;
  #chainId: string | null = null;
  readonly #loggers = new GlobalLoggerSource(LOG_RECORD_SCOPE);
  readonly #pending: PendingRecord[] = [];
  readonly #maxPending: number;
  readonly #warn: (message: string) => void;
  readonly #checkpointEvery: number | null;
  #checkpoints: CheckpointWriter | null = null;
  #signer: Signer | null = null;
  #head: ChainHead | null = null;
  #genesisHash: string | null = null;
  #dropped = 0;
  /** Providers that took records since the last flush. */
  readonly #used = new Set<ResolvedLogger['provider']>();

  constructor(options: OtelLogRecordStoreOptions = {}) {
    const maxPending = options.maxPending ?? 10_000;
    if (!Number.isSafeInteger(maxPending) || maxPending < 0)
      throw new TypeError(`maxPending: expected a non-negative integer, got ${JSON.stringify(options.maxPending)}`);
    const cps = options.checkpoints ?? (options.inner ? false : {});
    const every = cps === false ? null : (cps.every ?? 1000);
    if (every !== null && !(Number.isSafeInteger(every) && every >= 1))
      throw new TypeError(`checkpoints.every: expected a positive integer, got ${JSON.stringify(every)}`);
    if (options.chainId !== undefined && typeof options.chainId !== 'string' && typeof options.chainId !== 'function')
      throw new TypeError('chainId: expected a string or a function returning one');
    this.#inner = options.inner;
    this.#chainIdOption = options.chainId;
    this.#maxPending = maxPending;
    this.#checkpointEvery = every;
    this.#warn = options.onWarning ?? ((m) => process.emitWarning(m, { code: 'AGENTGUARD_LOG_EXPORT' }));
  }

  /** The `agentguard.chain.id` the records carry. */
  get chainId(): string {
    if (this.#chainId) return this.#chainId;
    const opt = this.#chainIdOption;
    const fromInner = (this.#inner as { chainId?: unknown } | undefined)?.chainId;
    const id = typeof opt === 'function' ? opt() : (opt ?? (typeof fromInner === 'string' ? fromInner : newChainId()));
    if (typeof id !== 'string' || id === '') throw new TypeError('chainId: expected a non-empty string');
    return (this.#chainId = id);
  }

  /** Records waiting for a LoggerProvider to take them. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  head(): Promise<ChainHead | null> | ChainHead | null {
    return this.#inner ? this.#inner.head() : this.#head;
  }

  attachSigner(signer: Signer): void {
    this.#inner?.attachSigner?.(signer);
    if (this.#checkpointEvery === null) return;
    this.#signer = signer;
    if (this.#checkpoints) this.#checkpoints.setSigner(signer);
    else {
      this.#checkpoints = new CheckpointWriter({
        signer,
        every: this.#checkpointEvery,
        head: this.#head,
        ...(this.#genesisHash ? { chainId: this.#genesisHash } : {}),
      });
    }
  }

  /**
   * Without an inner store, true: a record is only handed to the app's
   * LoggerProvider when `append` resolves (its processor exports it later),
   * so `SpendGuard` signs entries off the caller's thread and appends them
   * once signed. With one, the inner store's (the file store: true in `batch`
   * durability only). See {@link DecisionLogStore.acceptsDeferred}.
   */
  get acceptsDeferred(): boolean {
    return this.#inner ? this.#inner.acceptsDeferred === true : true;
  }

  /**
   * Emits the entry's record. With an inner store: once the inner store has
   * the entry (and rejects when it does). Without: at once, or held until a
   * LoggerProvider takes it; rejects, emitting nothing, when the hold is full.
   */
  append(entry: DecisionLogEntry): Promise<void> | void {
    const record = this.#entryRecord(entry);
    if (this.#inner) {
      return Promise.resolve(this.#inner.append(entry)).then(() => {
        this.#ship({ record, sequence: entry.sequence });
      });
    }
    const expected = this.#head ? this.#head.sequence + 1 : 0;
    if (entry.sequence !== expected) throw new Error(`decision log append out of order: expected sequence ${expected}, got ${entry.sequence}`);
    if (!this.#ship({ record, sequence: entry.sequence }, 'reject')) {
      throw new Error(
        `decision log: ${this.#pending.length} records wait for an OpenTelemetry LoggerProvider that takes them (none is registered, or it drops ${LOG_RECORD_SCOPE} records at INFO): entry ${entry.sequence} not accepted`,
      );
    }
    this.#head = { sequence: entry.sequence, entryHash: entry.entryHash };
    if (entry.sequence === 0) this.#genesisHash = entry.entryHash;
    const cp = this.#checkpoints?.observe(entry);
    if (cp) this.emitCheckpoint(cp);
  }

  /**
   * Emits a signed checkpoint as a record ({@link LOG_EVENT.CHECKPOINT}, body
   * = its checkpoint-file line). The `onCheckpoint` of an inner file store.
   */
  emitCheckpoint(checkpoint: Checkpoint): void {
    const time = Date.parse(checkpoint.timestamp);
    this.#ship({
      sequence: checkpoint.sequence,
      record: {
        eventName: LOG_EVENT.CHECKPOINT,
        severityNumber: SeverityNumber.INFO,
        severityText: 'INFO',
        ...(Number.isFinite(time) ? { timestamp: time } : {}),
        body: JSON.stringify(checkpoint),
        attributes: {
          [LOG_RECORD_ATTR.CHAIN_ID]: '',
          [LOG_RECORD_ATTR.SEQUENCE]: checkpoint.sequence,
          [LOG_RECORD_ATTR.ENTRY_HASH]: checkpoint.entryHash,
          [LOG_RECORD_ATTR.SIGNER]: checkpoint.signerFingerprint,
        },
        context: ROOT_CONTEXT,
      },
    });
  }

  /**
   * Flushes the inner store, emits held records if a LoggerProvider takes
   * them now, and flushes the providers that took records (their exporters
   * send what they hold).
   */
  async flush(): Promise<void> {
    await this.#inner?.flush?.();
    this.#drain();
    await this.#flushProviders();
  }

  /** For a process that is exiting: the inner store's synchronous flush (records are handed to the LoggerProvider at append). */
  flushSync(): void {
    (this.#inner as { flushSync?: () => void } | undefined)?.flushSync?.();
  }

  /**
   * Emits a last checkpoint, closes the inner store, and flushes the
   * LoggerProviders (it does not shut them down: they are the app's). Rejects
   * when records are still held: nothing took them.
   */
  async close(): Promise<void> {
    if (this.#checkpoints && this.#head && this.#signer) {
      const cp = this.#checkpoints.checkpoint();
      if (cp) this.emitCheckpoint(cp);
    }
    await this.#inner?.close?.();
    this.#drain();
    await this.#flushProviders();
    if (this.#pending.length > 0) {
      const first = this.#pending[0]!.sequence;
      throw new Error(
        `decision log: ${this.#pending.length} records (from sequence ${first}) were never emitted: no OpenTelemetry LoggerProvider took ${LOG_RECORD_SCOPE} records`,
      );
    }
  }

  #entryRecord(entry: DecisionLogEntry): LogRecord {
    const decision = entry.decision as { timestamp?: unknown; traceId?: unknown; spanId?: unknown };
    const time = typeof decision.timestamp === 'string' ? Date.parse(decision.timestamp) : NaN;
    const attributes: Attributes = {
      [LOG_RECORD_ATTR.CHAIN_ID]: '', // set when shipped: an inner file store is open by then
      [LOG_RECORD_ATTR.SEQUENCE]: entry.sequence,
      [LOG_RECORD_ATTR.ENTRY_HASH]: entry.entryHash,
      [LOG_RECORD_ATTR.SIGNER]: entry.signerFingerprint,
    };
    return {
      eventName: LOG_EVENT.ENTRY,
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      ...(Number.isFinite(time) ? { timestamp: time } : {}),
      body: entryLine(entry),
      attributes,
      context: traceContextOf(decision.traceId, decision.spanId),
    };
  }

  /**
   * Emits what is held, then `item`, or holds it. When the hold is full:
   * `reject` returns false, holding nothing; `drop` drops the oldest held
   * record (warning once) to make room.
   */
  #ship(item: PendingRecord, whenFull: 'reject' | 'drop' = this.#inner ? 'drop' : 'reject'): boolean {
    item.record.attributes![LOG_RECORD_ATTR.CHAIN_ID] = this.chainId;
    this.#drain();
    if (this.#pending.length === 0 && this.#emit(item.record)) return true;
    if (this.#pending.length >= this.#maxPending) {
      if (whenFull === 'reject') return false;
      if (this.#dropped++ === 0) {
        this.#warn(
          `decision log: no OpenTelemetry LoggerProvider takes ${LOG_RECORD_SCOPE} records; over ${this.#maxPending} held, dropping the oldest (the log files keep every entry)`,
        );
      }
      this.#pending.shift();
      if (this.#maxPending === 0) return true;
    }
    this.#pending.push(item);
    return true;
  }

  /** Emits held records, in order, while a provider takes them. */
  #drain(): void {
    while (this.#pending.length > 0 && this.#emit(this.#pending[0]!.record)) this.#pending.shift();
  }

  /** Emits one record if a provider takes it; false when none does. */
  #emit(record: LogRecord): boolean {
    for (const resolved of [this.#loggers.current(), this.#loggers.legacy()]) {
      if (!resolved) continue;
      const { logger } = resolved;
      const check = (ctx: Context) =>
        typeof logger.enabled !== 'function' || logger.enabled({ context: ctx, severityNumber: SeverityNumber.INFO, eventName: record.eventName! });
      let ctx = record.context ?? ROOT_CONTEXT;
      if (!check(ctx)) {
        // A pipeline dropping unsampled traces' records: ship without trace context rather than leave a gap.
        if (ctx === ROOT_CONTEXT || !check(ROOT_CONTEXT)) continue;
        ctx = ROOT_CONTEXT;
      }
      logger.emit(ctx === record.context ? record : { ...record, context: ctx });
      this.#used.add(resolved.provider);
      return true;
    }
    return false;
  }

  async #flushProviders(): Promise<void> {
    const providers = [...this.#used];
    this.#used.clear();
    await Promise.all(providers.map((p) => flushProvider(p)));
  }
}

/**
 * The decision's trace context: its `traceId`/`spanId`, with the sampling
 * flag of the active span when that is the decision's span (else unsampled:
 * the decision does not record it). No ids: the root context (no trace).
 */
function traceContextOf(traceId: unknown, spanId: unknown): Context {
  if (typeof traceId !== 'string' || typeof spanId !== 'string' || !isValidTraceId(traceId) || !isValidSpanId(spanId)) return ROOT_CONTEXT;
  const active = trace.getSpanContext(context.active());
  const traceFlags = active && active.traceId === traceId && active.spanId === spanId ? active.traceFlags : TraceFlags.NONE;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags, isRemote: false });
}
