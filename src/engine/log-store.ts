import type { ChainHead, DecisionLogEntry } from '../audit/chain.js';
import type { Signer } from '../audit/signer.js';

/**
 * How durable an entry is when `append` resolves, i.e. before the guarded
 * provider call proceeds:
 * - `batch`: queued in memory, written by a `BatchDecisionLogProcessor` (exporters)
 *   within `scheduledDelayMillis` (default 1 s) or as soon as a batch is full.
 *   A crash loses the entries still queued: at most that delay's worth.
 * - `write`: written to the file (in the OS page cache) before `append`
 *   resolves. Survives the process being killed; an OS crash or power loss
 *   can still lose what the kernel had not flushed.
 * - `fsync`: written and `fdatasync`'d before `append` resolves. Survives power
 *   loss, as far as the disk honours flushes. Concurrent appends share one
 *   fdatasync (group commit).
 */
export type Durability = 'batch' | 'write' | 'fsync';

/** The modes, for validation. */
export const DURABILITIES: readonly Durability[] = ['batch', 'write', 'fsync'];

/**
 * Where signed entries go. `append` is called in sequence order, synchronously
 * one after another (the returned promise may settle later), and the store
 * must keep that order. `head` lets a restarted guard resume the chain.
 */
export interface DecisionLogStore {
  /** The last intact entry's position, or null for an empty log. */
  head(): Promise<ChainHead | null> | ChainHead | null;
  /** Records an entry; resolves when it is as durable as the store promises. */
  append(entry: DecisionLogEntry): Promise<void> | void;
  /**
   * Optional: true when the store does not promise that an entry is durable
   * when `append` resolves (it queues it), so it may as well receive the entry
   * after the call it records has proceeded. `SpendGuard` then hashes and
   * links each entry at decide time, signs entries in batches off the
   * caller's thread, and appends them in sequence order once signed; outcomes
   * are settled after the caller resumes. `SpendGuard.flush()` / `close()`
   * wait for them. Stores that make the call wait for the entry (the file
   * store's `write` and `fsync`) leave it unset.
   */
  readonly acceptsDeferred?: boolean;
  /**
   * Optional: receives the key that signs the chain, for a store that signs
   * checkpoints of it (the file store does). `SpendGuard` calls it before its
   * first entry, and on `rotateSigningKey` with the incoming key right after
   * handing over the `signer_change` entry. Stores without it are unaffected.
   */
  attachSigner?(signer: Signer): void;
}

/** Options of {@link InMemoryDecisionLogStore}. */
export interface InMemoryDecisionLogStoreOptions {
  /**
   * Let `SpendGuard` hand entries over after their calls proceed, signed off
   * the caller's thread ({@link DecisionLogStore.acceptsDeferred}); default
   * false: an entry is in the store when `decide` resolves. The store
   * `SpendGuard` makes when none is configured sets it.
   */
  deferred?: boolean;
  /**
   * How many of the most recent entries to keep (default 10 000, about 10 MB).
   * Older entries are dropped, oldest first. `Infinity` keeps every entry: for
   * tests and short-lived processes only.
   */
  capacity?: number;
}

/** Entries {@link InMemoryDecisionLogStore} keeps unless told otherwise. */
export const DEFAULT_IN_MEMORY_LOG_CAPACITY = 10_000;

/**
 * Keeps the most recent entries in memory, in order: `SpendGuard`'s log store
 * when none is configured. Bounded (see {@link InMemoryDecisionLogStoreOptions.capacity}),
 * so a long-running process does not grow with every call; what it drops is
 * gone, so configure a durable store (the file store) to keep an auditable log.
 * `head()` and the sequence check always follow the last entry appended, kept or not.
 */
export class InMemoryDecisionLogStore implements DecisionLogStore {
  readonly #capacity: number;
  readonly acceptsDeferred: boolean;
  /** Ring buffer: `#count` entries starting at `#start`. */
  readonly #ring: DecisionLogEntry[] = [];
  #start = 0;
  #count = 0;
  #last: DecisionLogEntry | undefined;
  #dropped = 0;

  constructor(options: InMemoryDecisionLogStoreOptions = {}) {
    const capacity = options.capacity ?? DEFAULT_IN_MEMORY_LOG_CAPACITY;
    if (!(capacity === Infinity || (Number.isSafeInteger(capacity) && capacity > 0))) {
      throw new TypeError(`InMemoryDecisionLogStore: capacity: expected a positive integer or Infinity, got ${JSON.stringify(capacity)}`);
    }
    this.#capacity = capacity;
    this.acceptsDeferred = options.deferred === true;
  }

  /** The most entries kept at once. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Entries dropped so far to stay within `capacity` (the oldest ones). */
  get dropped(): number {
    return this.#dropped;
  }

  head(): ChainHead | null {
    const last = this.#last;
    return last ? { sequence: last.sequence, entryHash: last.entryHash } : null;
  }

  append(entry: DecisionLogEntry): void {
    const expected = this.#last ? this.#last.sequence + 1 : 0;
    if (entry.sequence !== expected) throw new Error(`log append out of order: expected sequence ${expected}, got ${entry.sequence}`);
    this.#last = entry;
    if (this.#count < this.#capacity) {
      this.#ring.push(entry);
      this.#count++;
      return;
    }
    // Full: the new entry takes the oldest one's place.
    this.#ring[this.#start] = entry;
    this.#start = (this.#start + 1) % this.#count;
    this.#dropped++;
  }

  /** The entries kept (the most recent `capacity`), in sequence order (a copy). */
  entries(): DecisionLogEntry[] {
    return this.#start === 0 ? [...this.#ring] : [...this.#ring.slice(this.#start), ...this.#ring.slice(0, this.#start)];
  }
}
