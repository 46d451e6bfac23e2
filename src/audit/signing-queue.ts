import type { DecisionLogEntry } from './chain.js';
import { bytesToHex } from './hex.js';
import { signerKeyObject, type Signer } from './signer.js';
import { sharedSigningWorker, type SigningWorker } from './signing-worker.js';

/** Hands a signed entry on (a log store's `append`); a throw or rejection is retried with the same entry. */
export type DeliverEntry = (entry: DecisionLogEntry) => Promise<void> | void;

interface Item {
  entry: DecisionLogEntry;
  signer: Signer;
  handedOver?: (() => void) | undefined;
  /** Handed on (its hand-over may still be pending). */
  handed?: boolean;
}

interface Batch {
  items: Item[];
  done: boolean;
}

interface FlushWaiter {
  target: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** First wait before handing over an entry again after a failed hand-over; doubles up to {@link RETRY_MAX_MS}. */
const RETRY_FIRST_MS = 50;
/**
 * How long entries gather before a batch goes to the signing thread: each
 * batch costs a wake-up of that thread and a message back, so entries of calls
 * made one after another share one. A flush sends at once; so does a full batch.
 */
const GATHER_MS = 4;
const FULL_BATCH = 256;
/**
 * Entries a queue signs on the caller's thread before it starts the signing
 * thread: starting it costs ~5 ms of this thread and ~40 ms of CPU on its own,
 * more than a short-lived process signing a few entries here would spend.
 */
export const START_THREAD_AFTER_ENTRIES = 64;
const RETRY_MAX_MS = 2_000;

/**
 * Signs entries that were already hashed and linked ({@link ChainWriter.link})
 * off the caller's thread, and hands them on in sequence order once signed.
 *
 * Entries pushed while a batch is out are signed together in the next batch,
 * on the process's one signing thread ({@link SigningWorker}). Until that
 * thread is up (it starts once {@link START_THREAD_AFTER_ENTRIES} entries came), after it died, and for a
 * signer without a node:crypto key, a batch is signed on this thread instead,
 * still after the caller's turn and in order. An entry is never dropped: a
 * failed hand-over is retried, first entry first, until it succeeds.
 */
export class SigningQueue {
  readonly #deliver: DeliverEntry;
  readonly #worker: SigningWorker;
  #waiting: Item[] = [];
  #batches: Batch[] = [];
  #signed: Item[] = [];
  #pushed = 0;
  #delivered = 0;
  #scheduled = false;
  #gatherTimer: NodeJS.Timeout | null = null;
  #workerBatches = 0;
  #draining = false;
  #error: Error | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #retryDelay = RETRY_FIRST_MS;
  #flushes: FlushWaiter[] = [];
  #signedOnThread = 0;

  readonly #startThreadAfter: number;

  constructor(deliver: DeliverEntry, worker: SigningWorker = sharedSigningWorker(), options: { startThreadAfter?: number } = {}) {
    this.#deliver = deliver;
    this.#worker = worker;
    this.#startThreadAfter = options.startThreadAfter ?? START_THREAD_AFTER_ENTRIES;
  }

  /** Whether batches go to the signing thread (asking starts it, once enough entries came to be worth it). */
  get #threadUsable(): boolean {
    return this.#pushed > this.#startThreadAfter && this.#worker.usable;
  }

  /** Entries pushed and not yet handed on. */
  get backlog(): number {
    return this.#pushed - this.#delivered;
  }

  /** The last failed hand-over, until an entry is handed on again. */
  get deliveryError(): Error | null {
    return this.#error;
  }

  /** Entries signed on the signing thread so far (the rest were signed on this one). */
  get signedOffThread(): number {
    return this.#signedOnThread;
  }

  /**
   * Queues a linked, unsigned entry, to be signed by `signer` (the chain's
   * signer when it was linked). Call in sequence order. `handedOver` runs
   * right after the entry is handed on (before its hand-over resolves, and
   * before the next entry is handed on).
   */
  push(entry: DecisionLogEntry, signer: Signer, handedOver?: () => void): void {
    this.#waiting.push({ entry, signer, handedOver });
    this.#pushed++;
    if (!this.#scheduled) {
      this.#scheduled = true;
      // After the caller's turn: entries of the same turn share a batch.
      queueMicrotask(() => {
        this.#scheduled = false;
        this.#dispatch();
      });
    }
  }

  /**
   * Resolves once every entry pushed before the call is signed and handed on
   * (its hand-over resolved). Rejects when a hand-over fails meanwhile; the
   * entries stay queued and are handed on again later.
   */
  flush(): Promise<void> {
    const target = this.#pushed;
    if (this.#delivered >= target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#flushes.push({ target, resolve, reject });
      if (this.#error) this.#retryNow();
      else this.#dispatch(true);
    });
  }

  /**
   * For a process that is exiting (`process.exit()`): signs everything still
   * waiting or out on the signing thread here, now, and hands every entry not
   * yet handed on over synchronously, in order (without waiting for the
   * hand-overs to resolve). Stops at a hand-over that throws.
   */
  drainSync(): void {
    if (this.#gatherTimer) {
      clearTimeout(this.#gatherTimer);
      this.#gatherTimer = null;
    }
    for (const batch of this.#batches) if (!batch.done) this.#signHere(batch);
    const items = this.#waiting;
    this.#waiting = [];
    for (const run of runsBySigner(items)) {
      const batch: Batch = { items: run, done: false };
      this.#signHere(batch);
      this.#batches.push(batch);
    }
    while (this.#batches.length > 0) for (const item of this.#batches.shift()!.items) this.#signed.push(item);
    for (const item of this.#signed) {
      if (item.handed) continue;
      try {
        const handed = this.#deliver(item.entry);
        if (handed) handed.catch(() => undefined);
      } catch {
        return;
      }
      item.handed = true;
      item.handedOver?.();
      item.handedOver = undefined;
    }
  }

  /** Sends what is waiting: to the signing thread when it is up and no batch is out there, else signs it here. */
  #dispatch(now = false): void {
    if (this.#waiting.length === 0) return;
    // One batch out on the thread at a time: what arrives meanwhile goes in the next, bigger batch.
    if (this.#workerBatches > 0) return;
    if (!now && this.#waiting.length < FULL_BATCH && this.#threadUsable) {
      this.#gatherTimer ??= setTimeout(() => {
        this.#gatherTimer = null;
        this.#dispatch(true);
      }, GATHER_MS);
      // Never what keeps a process up: beforeExit and exit flush what is waiting.
      this.#gatherTimer.unref();
      return;
    }
    if (this.#gatherTimer) {
      clearTimeout(this.#gatherTimer);
      this.#gatherTimer = null;
    }
    const items = this.#waiting;
    this.#waiting = [];
    for (const run of runsBySigner(items)) {
      const batch: Batch = { items: run, done: false };
      this.#batches.push(batch);
      const key = signerKeyObject(run[0]!.signer);
      if (key && this.#threadUsable) this.#signOffThread(batch, key);
      else this.#signHere(batch);
    }
    this.#collect();
  }

  #signOffThread(batch: Batch, key: Parameters<SigningWorker['sign']>[0]): void {
    const hashes = new Uint8Array(batch.items.length * 32);
    batch.items.forEach((item, i) => hashes.set(Buffer.from(item.entry.entryHash, 'hex'), i * 32));
    this.#workerBatches++;
    this.#worker.sign(key, hashes).then(
      (signatures) => {
        this.#workerBatches--;
        batch.items.forEach((item, i) => {
          item.entry.signature = bytesToHex(signatures.subarray(i * 64, i * 64 + 64));
        });
        this.#signedOnThread += batch.items.length;
        batch.done = true;
        this.#collect();
        this.#dispatch(this.#flushes.length > 0);
      },
      () => {
        // The thread failed or died: this batch (and every later one) is signed here, in order.
        this.#workerBatches--;
        this.#signHere(batch);
        this.#collect();
        this.#dispatch(true);
      },
    );
  }

  #signHere(batch: Batch): void {
    for (const { entry, signer } of batch.items) {
      if (entry.signature === '') entry.signature = bytesToHex(signer.sign(Buffer.from(entry.entryHash, 'hex')));
    }
    batch.done = true;
  }

  /** Moves finished batches, in order, to the hand-over queue. */
  #collect(): void {
    while (this.#batches.length > 0 && this.#batches[0]!.done) {
      for (const item of this.#batches.shift()!.items) this.#signed.push(item);
    }
    if (this.#signed.length > 0) void this.#drain();
  }

  async #drain(): Promise<void> {
    if (this.#draining || this.#retryTimer) return;
    this.#draining = true;
    try {
      while (this.#signed.length > 0) {
        const item = this.#signed[0]!;
        try {
          if (!item.handed) {
            const handed = this.#deliver(item.entry);
            item.handed = true;
            item.handedOver?.();
            item.handedOver = undefined;
            if (handed) await handed;
          }
        } catch (err) {
          item.handed = false;
          this.#failed(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        this.#signed.shift();
        this.#delivered++;
        this.#error = null;
        this.#retryDelay = RETRY_FIRST_MS;
        this.#settleFlushes();
      }
    } finally {
      this.#draining = false;
    }
  }

  #failed(error: Error): void {
    this.#error = error;
    const waiting = this.#flushes;
    this.#flushes = [];
    for (const w of waiting) w.reject(error);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.#drain();
    }, this.#retryDelay);
    this.#retryTimer.unref();
    this.#retryDelay = Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
  }

  #retryNow(): void {
    if (this.#retryTimer) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
    void this.#drain();
  }

  #settleFlushes(): void {
    if (this.#flushes.length === 0) return;
    const still: FlushWaiter[] = [];
    for (const w of this.#flushes) {
      if (this.#delivered >= w.target) w.resolve();
      else still.push(w);
    }
    this.#flushes = still;
  }
}

/** Splits items into runs signed by one signer each (a key rotation starts a new run), keeping order. */
function runsBySigner(items: Item[]): Item[][] {
  const runs: Item[][] = [];
  let run: Item[] = [];
  for (const item of items) {
    if (run.length > 0 && run[0]!.signer !== item.signer) {
      runs.push(run);
      run = [];
    }
    run.push(item);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
