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
 *   write and one fdatasync (group commit).
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
   * Optional: receives the key that signs the chain, for a store that signs
   * checkpoints of it (the file store does). `SpendGuard` calls it before its
   * first entry, and on `rotateSigningKey` with the incoming key right after
   * handing over the `signer_change` entry. Stores without it are unaffected.
   */
  attachSigner?(signer: Signer): void;
}

/** Keeps entries in memory, in order. For tests and short-lived processes. */
export class InMemoryDecisionLogStore implements DecisionLogStore {
  readonly #entries: DecisionLogEntry[] = [];

  head(): ChainHead | null {
    const last = this.#entries.at(-1);
    return last ? { sequence: last.sequence, entryHash: last.entryHash } : null;
  }

  append(entry: DecisionLogEntry): void {
    const last = this.#entries.at(-1);
    const expected = last ? last.sequence + 1 : 0;
    if (entry.sequence !== expected) throw new Error(`log append out of order: expected sequence ${expected}, got ${entry.sequence}`);
    this.#entries.push(entry);
  }

  /** All entries, in sequence order (a copy). */
  entries(): DecisionLogEntry[] {
    return [...this.#entries];
  }
}
