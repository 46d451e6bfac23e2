import type { ChainHead, DecisionLogEntry } from '../../src/audit/chain.js';
import { DURABILITIES, type DecisionLogStore, type Durability } from '../../src/engine/log-store.js';
import type { Signer } from '../../src/audit/signer.js';
import { BatchDecisionLogProcessor, type BatchProcessorOptions } from '../common/batch-processor.js';
import { ChainFileWriter, type ChainFileOptions } from './chain-file.js';
import { ChainLockedError } from './lock.js';
import { FileDecisionLogExporter } from './file-exporter.js';
import type { ChainRecovery } from './recovery.js';

interface FailingAppends {
  error: Error;
  appends: { sequence: number; reject: (err: Error) => void }[];
}

function appendFailure(sequence: number, err: Error): Error {
  const failure = new Error(`decision log write failed, entry ${sequence} not written: ${err.message}`, { cause: err });
  return Object.assign(failure, { code: (err as NodeJS.ErrnoException).code });
}

/** Options of a {@link FileDecisionLogStore}. */
export interface FileDecisionLogStoreOptions extends Omit<ChainFileOptions, 'fsync'> {
  /** Default `write`. */
  durability?: Durability;
  /** Batch mode tuning. */
  batch?: Omit<BatchProcessorOptions, 'onError'>;
}

/**
 * A {@link DecisionLogStore} on local files, for `SpendGuard`'s `logStore`:
 * one chain per instance, JSONL, rotated by size and UTC day, resumed after a
 * restart from the last intact entry (a torn last line is set aside in a
 * `.torn` sidecar and reported). The constructor returns at once; the chain
 * is opened in the background and `head()` / `append()` wait for it.
 *
 * Checkpoints: with a signer attached (a `SpendGuard` attaches its own), the
 * store writes a signed checkpoint every `checkpoints.every` entries (default
 * 1000), when a file is rotated, after a key rotation and on {@link close}, to
 * `<chainId>.checkpoints.jsonl` next to the chain, each only once the entry it
 * names is as durable as {@link durability} promises, and hands each to
 * `checkpoints.onCheckpoint` if given (e.g. {@link checkpointSpanEvents}).
 */
export class FileDecisionLogStore implements DecisionLogStore {
  readonly durability: Durability;
  readonly #options: FileDecisionLogStoreOptions;
  #opening: Promise<void>;
  #writer: ChainFileWriter | null = null;
  #processor: BatchDecisionLogProcessor | null = null;
  #openError: Error | null = null;
  /** A batch write failure whose kept entries were written since. */
  #recovered: Error | null = null;
  /** A background retry of a failed batch write. */
  #retryFlush: Promise<void> | null = null;
  /** Appends waiting for their write (write and fsync modes). */
  readonly #waiting = new Set<{ sequence: number; reject: (err: Error) => void }>();
  /** Appends failed by the last drop, rejected together on the next turn of the event loop. */
  #failing: FailingAppends | null = null;
  /** Signers attached before the chain was open, in order. */
  #signers: Signer[] = [];

  constructor(options: FileDecisionLogStoreOptions) {
    const durability = options?.durability ?? 'write';
    if (!DURABILITIES.includes(durability)) {
      throw new TypeError(`durability: expected one of ${DURABILITIES.join(', ')}, got ${JSON.stringify(durability)}`);
    }
    this.durability = durability;
    this.#options = options;
    this.#opening = this.#openChain();
  }

  #openChain(): Promise<void> {
    const options = this.#options;
    const durability = this.durability;
    this.#openError = null;
    // A failed append fails its call (write, fsync): its entry must never reach the file later.
    // In batch mode the call already went ahead: its entry is kept and written by the next flush.
    const onWriteFailure = durability === 'batch' ? 'keep' : 'drop';
    return ChainFileWriter.open({ ...options, fsync: durability === 'fsync', onWriteFailure }).then(
      async (writer) => {
        try {
          for (const s of this.#signers) writer.attachSigner(s);
        } catch (err) {
          // A key the chain is not signed by: refuse the chain, and let it go.
          await writer.close().catch(() => undefined);
          this.#openError = err as Error;
          return;
        }
        this.#writer = writer;
        this.#signers = [];
        if (durability === 'batch') this.#processor = new BatchDecisionLogProcessor(FileDecisionLogExporter.fromWriter(writer), options.batch);
      },
      (err: Error) => {
        this.#openError = err;
      },
    );
  }

  /** After a failure to take the chain's lock, tries again (the holder may be gone now). */
  #retryOpen(): Promise<void> {
    if (this.#openError instanceof ChainLockedError && !this.#writer) this.#opening = this.#openChain();
    return this.#opening;
  }

  /** Opens a store and waits until its chain is open (resumed, torn tail set aside). */
  static async open(options: FileDecisionLogStoreOptions): Promise<FileDecisionLogStore> {
    const store = new FileDecisionLogStore(options);
    await store.ready();
    return store;
  }

  /**
   * Resolves when the chain is open; rejects with the reason it could not be.
   * When the chain's lock was held by a live owner ({@link ChainLockedError}),
   * each later call (`ready`, `head`, `append`) tries to take it again, so the
   * store starts working once the holder is gone.
   */
  async ready(): Promise<void> {
    await this.#retryOpen();
    if (this.#openError) throw this.#openError;
  }

  /** The chain's id (the file-name prefix), once open. */
  get chainId(): string {
    return this.#open().chainId;
  }

  /** What opening found, once open. */
  get recovery(): ChainRecovery {
    return this.#open().recovery;
  }

  /** Files of the chain so far, once open. */
  get files(): readonly string[] {
    return this.#open().files;
  }

  /** The chain's checkpoint file (`<chainId>.checkpoints.jsonl`), once open; null when checkpoints are off or go to `onCheckpoint` only. */
  get checkpointFile(): string | null {
    return this.#open().checkpointFile;
  }

  /**
   * The {@link DecisionLogStore} hook through which `SpendGuard` hands over
   * its signer (at its first decision and on `rotateSigningKey`), so that the
   * store signs checkpoints with the key that signs the chain. See
   * {@link ChainFileWriter.attachSigner}.
   */
  attachSigner(signer: Signer): void {
    if (this.#writer) this.#writer.attachSigner(signer);
    else this.#signers.push(signer);
  }

  /**
   * True in `batch` durability: an entry is only queued when `append`
   * resolves, so `SpendGuard` signs entries off the caller's thread and
   * appends them once signed (see {@link DecisionLogStore.acceptsDeferred}).
   */
  get acceptsDeferred(): boolean {
    return this.durability === 'batch';
  }

  async head(): Promise<ChainHead | null> {
    await this.ready();
    return this.#writer!.head;
  }

  /**
   * Appends the next entry. Synchronous calls keep their order. Resolves when
   * the entry is as durable as {@link durability} promises; rejects (so the
   * guard fails the call) when the log cannot be written, in batch mode also
   * while the last background write has failed. A rejected entry is never
   * written later, and the chain's head returns to the last entry written, so
   * appends continue from there as soon as the disk takes writes again.
   */
  append(entry: DecisionLogEntry): Promise<void> {
    if (this.#writer) return this.#append(entry);
    return this.#retryOpen().then(() => {
      if (this.#openError) throw this.#openError;
      return this.#append(entry);
    });
  }

  #append(entry: DecisionLogEntry): Promise<void> {
    if (this.#processor) {
      const error = this.#batchError();
      if (error) {
        // Not queued: the call fails, so its entry must never be written. Retry
        // the kept entries in the background, so appends resume once the disk can take them.
        if (!this.#retryFlush) {
          this.#retryFlush = this.#flushBatch()
            .catch(() => undefined)
            .finally(() => {
              this.#retryFlush = null;
            });
        }
        return Promise.reject(
          Object.assign(new Error(`decision log write failed: ${error.message}`, { cause: error }), { code: (error as NodeJS.ErrnoException).code }),
        );
      }
      return this.#processor.onEntry(entry);
    }
    const writer = this.#writer!;
    // Linked to an entry a failed write just dropped: fails with it.
    if (this.#failing && !writer.follows(entry)) return this.#failWith(this.#failing, entry.sequence);
    try {
      writer.enqueue(entry);
    } catch (err) {
      return Promise.reject(err);
    }
    const drops = writer.drops;
    const flushed = writer.flush(); // writes now (synchronously); in fsync mode waits for the fdatasync
    if (writer.drops !== drops) {
      flushed.catch(() => undefined);
      return this.#failWith(this.#openFailing(writer, writer.dropError!), entry.sequence);
    }
    return new Promise<void>((resolve, reject) => {
      const waiting = { sequence: entry.sequence, reject };
      this.#waiting.add(waiting);
      flushed.then(
        () => {
          this.#waiting.delete(waiting);
          resolve();
        },
        (err: Error) => {
          this.#openFailing(writer, err);
          // Not dropped, yet not written as promised: fails alone.
          if (this.#waiting.delete(waiting)) reject(appendFailure(entry.sequence, err));
        },
      );
    });
  }

  /**
   * After a failed write dropped entries: the appends whose entries it
   * dropped, and those that arrive linked to them before the next turn of the
   * event loop, are rejected together then, latest first. A caller that takes
   * back its entry when its append fails (`SpendGuard` rewinds its chain one
   * entry at a time, and only from its head) then ends on the last entry the
   * file holds, and its next entry links to it.
   */
  #openFailing(writer: ChainFileWriter, err: Error): FailingAppends {
    let failing = this.#failing;
    if (!failing) {
      const opened: FailingAppends = { error: err, appends: [] };
      failing = this.#failing = opened;
      setImmediate(() => {
        if (this.#failing === opened) this.#failing = null;
        for (const w of opened.appends.sort((a, b) => b.sequence - a.sequence)) w.reject(appendFailure(w.sequence, opened.error));
      });
    }
    const last = writer.writtenHead?.sequence ?? -1;
    for (const w of this.#waiting) {
      if (w.sequence <= last) continue;
      this.#waiting.delete(w);
      failing.appends.push(w);
    }
    return failing;
  }

  #failWith(failing: FailingAppends, sequence: number): Promise<void> {
    return new Promise<void>((_resolve, reject) => failing.appends.push({ sequence, reject }));
  }

  /** Waits until every appended entry is written (batch mode: exported). */
  async flush(): Promise<void> {
    await this.ready();
    if (this.#processor) await this.#flushBatch();
    else await this.#writer!.flush();
  }

  /**
   * For a process that is exiting now (an `exit` listener, after
   * `process.exit()`, where nothing asynchronous runs any more): writes the
   * entries still queued (batch mode) with synchronous writes (and, in fsync
   * mode, a synchronous `fdatasync`; see {@link ChainFileWriter.writePendingSync}).
   * `SpendGuard.flushSync()` calls it after handing over its own pending entries.
   */
  flushSync(): void {
    const writer = this.#writer;
    if (!writer) return;
    if (this.#processor && !this.#batchError()) {
      for (const entry of this.#processor.takeQueued()) writer.enqueue(entry);
    }
    writer.writePendingSync();
  }

  /** The last failed batch write, until the entries it kept are written. */
  #batchError(): Error | null {
    const error = this.#processor!.lastError;
    return error && error !== this.#recovered ? error : null;
  }

  /**
   * Exports the queue; after a failed write, also writes the entries the file
   * writer kept, and once they are written the failure is over.
   */
  async #flushBatch(): Promise<void> {
    const processor = this.#processor!;
    try {
      await processor.forceFlush();
    } catch (err) {
      const failed = processor.lastError;
      if (!failed) throw err;
      await this.#writer!.flush();
      this.#recovered = failed;
    }
  }

  /**
   * Flushes, writes a last checkpoint, and closes the current file. Call on
   * exit (SIGTERM, SIGINT, beforeExit): entries after the last checkpoint are
   * the only ones whose loss a verifier cannot detect.
   */
  async close(): Promise<void> {
    await this.ready();
    if (this.#processor) await this.#processor.shutdown();
    else await this.#writer!.close();
  }

  #open(): ChainFileWriter {
    if (!this.#writer)
      throw new Error(this.#openError ? `decision log could not be opened: ${this.#openError.message}` : 'decision log is still opening: await store.ready()');
    return this.#writer;
  }
}
