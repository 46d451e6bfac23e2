import { closeSync, fdatasync, fdatasyncSync, fstatSync, fsyncSync, openSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GENESIS_HASH, type ChainHead, type DecisionLogEntry } from '../../src/audit/chain.js';
import { signerFingerprint } from '../../src/audit/keys.js';
import { MAX_LOG_LINE_LENGTH } from '../../src/audit/log-line.js';
import type { Signer } from '../../src/audit/signer.js';
import { ChainCheckpointer, type CheckpointOptions } from './checkpoints.js';
import { lockChain } from './lock.js';
import { recoverChain, type ChainRecovery, type DecisionLogWarning } from './recovery.js';
import { assertChainId, chainFileName, newChainId, utcDay } from './naming.js';

/**
 * Thrown when a chain is resumed with a key other than the one that signs it
 * at its head: every later entry would fail verification (`wrong_signer`).
 * Change keys with a `signer_change` entry instead (`agentguard-spend
 * rotate-key`, or `SpendGuard.rotateSigningKey`), or start a new chain.
 */
export class ChainSignerMismatchError extends Error {
  override readonly name = 'ChainSignerMismatchError';
  readonly code = 'AGENTGUARD_CHAIN_SIGNER_MISMATCH';
  constructor(
    readonly chainId: string,
    /** Fingerprint of the key the chain's next entry must be signed with. */
    readonly expected: string,
    /** Fingerprint of the key given. */
    readonly actual: string,
    readonly headSequence: number,
  ) {
    super(
      `decision log chain ${chainId} is signed by key ${expected} at its head (sequence ${headSequence}), not by this process's key ${actual}; change keys with rotate-key (a signer_change entry), or use another chainId`,
    );
  }
}

/** Where and how one chain is written. */
export interface ChainFileOptions {
  /** Log directory (created if missing). */
  dir: string;
  /**
   * Chain to write. Omitted: a new chain with a fleet-unique id (see
   * {@link newChainId}). Given: that chain is resumed if it has files in
   * `dir` (from its last intact entry), or started under that id. A chain is
   * written by one process at a time: `<chainId>.lock` in `dir` is taken on
   * open (a lock left by a dead process on this host is taken over) and
   * removed on close.
   */
  chainId?: string;
  /**
   * While another live process holds the chain's lock, keep trying this long
   * (ms) before failing with `ChainLockedError` (default 0: fail at once).
   * A lock whose owner is gone is taken over at once either way.
   */
  lockWaitMs?: number;
  /**
   * Public key (or its fingerprint) of the key this process signs with: open
   * fails with {@link ChainSignerMismatchError} when the chain is signed by
   * another key at its head (and its head does not hand over to this one).
   * Without it the check happens at the first {@link ChainFileWriter.attachSigner}.
   */
  signerPublicKey?: Uint8Array | string;
  /** Rotate to a new file before a line would take the file past this size (default 64 MiB). */
  maxFileBytes?: number;
  /** Rotate when an entry's UTC day (from its decision `timestamp`) is later than the file's (default true). */
  rotateDaily?: boolean;
  /** `fdatasync` after every write, and sync the directory when a file is created (default false). */
  fsync?: boolean;
  /** Told about torn tails set aside on open (default: `process.emitWarning`). */
  onWarning?: (warning: DecisionLogWarning) => void;
  /** Clock for entries without a timestamp, and for checkpoint timestamps (default `Date.now`). */
  clock?: () => number;
  /**
   * Signed checkpoints of the chain (default on, every 1000 entries, to
   * `<chainId>.checkpoints.jsonl`); `false` turns them off. They are made only
   * once a signer is attached ({@link ChainFileWriter.attachSigner}; a
   * `SpendGuard` does it through `FileDecisionLogStore`).
   */
  checkpoints?: CheckpointOptions | false;
  /**
   * What a failed write does to the entries not yet written (default `keep`):
   * - `keep`: they stay queued and the next flush writes them (for entries
   *   already acknowledged, as in batch mode: the calls they record happened).
   * - `drop`: they are dropped, the file is cut back to its last whole line
   *   (before the next write, if it cannot be at once), and the chain's head
   *   goes back to the last entry written, so the next entry continues from
   *   there. For a log whose append makes the call wait: a failed append
   *   fails its call, so its entry must never be written later.
   */
  onWriteFailure?: 'keep' | 'drop';
}

interface PendingLine {
  sequence: number;
  entryHash: string;
  part: number;
  day: string;
  bytes: Buffer;
}

/** Where the chain stood after a write: entries written so far, the last one, its part, and the file's size. */
interface WriteMark {
  count: number;
  head: ChainHead | null;
  part: number;
  day: string;
  bytes: number;
}

const DEFAULT_MAX_FILE_BYTES = 64 << 20;

/**
 * Appends one hash chain to JSONL files: `<chainId>.<YYYYMMDD>.<part>.jsonl`,
 * one entry per line. Rotates on size and UTC day; the chain simply continues
 * in the next part (sequence and `previousHash` carry on), and a reopened chain
 * always continues in a new part after its last file.
 *
 * {@link enqueue} is synchronous and keeps order; {@link flush} writes
 * everything enqueued so far at once with `writeSync` (one call per file),
 * and in fsync mode waits for an `fdatasync` that is a group commit: one runs
 * at a time on the threadpool, and entries written meanwhile share the next.
 * After a failed write the unwritten entries stay queued for the next flush,
 * or are dropped and the chain returns to the last entry written
 * ({@link ChainFileOptions.onWriteFailure}).
 */
export class ChainFileWriter {
  readonly dir: string;
  readonly chainId: string;
  /** What opening found (resumed head, torn tails set aside). */
  readonly recovery: ChainRecovery;
  readonly #maxFileBytes: number;
  readonly #rotateDaily: boolean;
  readonly #fsync: boolean;
  readonly #clock: () => number;
  #head: ChainHead | null;
  readonly #dropFailed: boolean;
  /** The first signer attached was checked against the chain's head. */
  #signerChecked = false;
  /** The last entry written (and synced in fsync mode), and where the file stood after it: what a dropped write returns to. */
  #writtenHead: ChainHead | null;
  #writtenPart: number;
  #writtenPartDay = '';
  #writtenPartBytes = 0;
  /** The last entry written to the file (synced or not), and where the file stood after it. */
  #wrote: WriteMark;
  /** The file being written: descriptor, part, path, and its size. */
  #fd: number | null = null;
  #fdPart = 0;
  #fdPath = '';
  #fdBytes = 0;
  /** A file left with part of a failed write, to cut back before the next write. */
  #repair: { path: string; size: number } | null = null;
  #pending: PendingLine[] = [];
  /** Entries enqueued (less those dropped), written to the file, and durable (synced in fsync mode; else written). */
  #enqueued = 0;
  #written = 0;
  #synced = 0;
  /** The `fdatasync` in flight (fsync mode), the descriptor it runs on, and descriptors to close once it is done. */
  #syncing: Promise<void> | null = null;
  #syncingFd: number | null = null;
  readonly #retired: number[] = [];
  /** Counts drops: a sync started before one no longer speaks for the file. */
  #epoch = 0;
  #dropError: Error | null = null;
  /** Checkpoints being stored, in order. */
  #checkpointing: Promise<void> | null = null;
  #part: number;
  #partDay = '';
  #partBytes = 0;
  #closed = false;
  readonly #files: string[];
  readonly #checkpointer: ChainCheckpointer | null;

  readonly #unlock: () => Promise<void>;

  private constructor(
    dir: string,
    chainId: string,
    recovery: ChainRecovery,
    options: ChainFileOptions,
    unlock: () => Promise<void>,
    checkpointer: ChainCheckpointer | null,
  ) {
    this.#unlock = unlock;
    this.#checkpointer = checkpointer;
    this.dir = dir;
    this.chainId = chainId;
    this.recovery = recovery;
    this.#head = recovery.head;
    this.#writtenHead = recovery.head;
    this.#dropFailed = options.onWriteFailure === 'drop';
    this.#part = recovery.lastPart; // the first line opens part lastPart + 1
    this.#writtenPart = recovery.lastPart;
    this.#wrote = { count: 0, head: recovery.head, part: recovery.lastPart, day: '', bytes: 0 };
    this.#partBytes = 0;
    this.#files = [...recovery.files];
    this.#maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.#rotateDaily = options.rotateDaily ?? true;
    this.#fsync = options.fsync ?? false;
    this.#clock = options.clock ?? Date.now;
  }

  /** Opens (resuming if it exists) a chain in `options.dir`. */
  static async open(options: ChainFileOptions): Promise<ChainFileWriter> {
    if (!options || typeof options.dir !== 'string' || options.dir === '') throw new TypeError('dir: expected a log directory path');
    if (options.onWriteFailure !== undefined && options.onWriteFailure !== 'keep' && options.onWriteFailure !== 'drop') {
      throw new TypeError(`onWriteFailure: expected keep or drop, got ${JSON.stringify(options.onWriteFailure)}`);
    }
    if (options.maxFileBytes !== undefined && !(Number.isSafeInteger(options.maxFileBytes) && options.maxFileBytes > 0)) {
      throw new TypeError(`maxFileBytes: expected a positive integer, got ${JSON.stringify(options.maxFileBytes)}`);
    }
    const chainId = options.chainId ?? newChainId();
    assertChainId(chainId);
    await mkdir(options.dir, { recursive: true });
    const unlock = await lockChain(options.dir, chainId, { waitMs: options.lockWaitMs });
    let recovery: ChainRecovery;
    let checkpointer: ChainCheckpointer | null = null;
    try {
      recovery = await recoverChain(options.dir, chainId);
      if (options.signerPublicKey !== undefined) assertSigner(chainId, recovery, fingerprintOf(options.signerPublicKey));
      if (options.checkpoints !== false) {
        checkpointer = await ChainCheckpointer.open(options.dir, chainId, options.checkpoints ?? {}, {
          head: recovery.head,
          firstFile: recovery.files[0],
          fsync: options.fsync ?? false,
          clock: options.clock ?? Date.now,
        });
      }
    } catch (err) {
      await unlock();
      throw err;
    }
    const warn = options.onWarning ?? ((w: DecisionLogWarning) => process.emitWarning(w.message, { code: 'AGENTGUARD_TORN_TAIL' }));
    for (const w of recovery.warnings) warn(w);
    return new ChainFileWriter(options.dir, chainId, recovery, options, unlock, checkpointer);
  }

  /**
   * Hands over the key that signs the chain, so the writer can sign
   * checkpoints: the first call starts checkpointing; after a key rotation,
   * attach the incoming key too (before or after its `signer_change` entry is
   * enqueued: checkpoints up to that entry stay signed by the outgoing key).
   * Does nothing when checkpoints are off.
   */
  attachSigner(signer: Signer): void {
    if (!this.#signerChecked) {
      assertSigner(this.chainId, this.recovery, signer.fingerprint);
      this.#signerChecked = true;
    }
    this.#checkpointer?.attachSigner(signer);
  }

  /** Where checkpoints are written (`<chainId>.checkpoints.jsonl`), or null when none are written to a file. */
  get checkpointFile(): string | null {
    return this.#checkpointer?.path ?? null;
  }

  /** Checkpoints written to {@link checkpointFile} by this writer. */
  get checkpointsWritten(): number {
    return this.#checkpointer?.written ?? 0;
  }

  /** The last entry enqueued (written or not, and not dropped), or null for an empty chain. */
  get head(): ChainHead | null {
    return this.#head;
  }

  /** Files of this chain so far, in order. */
  get files(): readonly string[] {
    return this.#files;
  }

  /** Entries enqueued but not yet written (in fsync mode: or not yet synced). */
  get pendingCount(): number {
    return this.#enqueued - this.#synced;
  }

  /**
   * Queues the next entry of the chain. Throws, writing nothing, when it does
   * not follow the head (wrong sequence or `previousHash`).
   */
  enqueue(entry: DecisionLogEntry): void {
    if (this.#closed) throw new Error(`decision log ${this.chainId} is closed`);
    const expected = this.#head ? this.#head.sequence + 1 : 0;
    const link = this.#head ? this.#head.entryHash : GENESIS_HASH;
    if (entry.sequence !== expected) throw new Error(`decision log append out of order: expected sequence ${expected}, got ${entry.sequence}`);
    if (entry.previousHash !== link) throw new Error(`decision log append: entry ${entry.sequence} does not link to the previous entry's hash`);
    // The first entry after the resumed head must be signed by the key the chain expects.
    if (this.#head && this.#head === this.recovery.head && this.recovery.signer && entry.signerFingerprint !== this.recovery.signer) {
      throw new ChainSignerMismatchError(this.chainId, this.recovery.signer, entry.signerFingerprint, this.#head.sequence);
    }
    const bytes = Buffer.from(`${JSON.stringify(entry)}\n`, 'utf8');
    if (bytes.length > MAX_LOG_LINE_LENGTH) {
      // Every line written must be one the readers accept.
      throw new Error(
        `decision log append: entry ${entry.sequence} would be a ${bytes.length}-byte line, over the ${MAX_LOG_LINE_LENGTH}-byte limit of a log line; a scope value or model name is far too long (keep each under 256 bytes)`,
      );
    }
    const day = utcDay((entry.decision as { timestamp?: unknown }).timestamp, this.#clock());
    const newDay = this.#rotateDaily && day > this.#partDay;
    if (this.#partBytes === 0 && this.#part === this.recovery.lastPart) {
      this.#part++;
      this.#partDay = day;
    } else if (this.#partBytes > 0 && (this.#partBytes + bytes.length > this.#maxFileBytes || newDay)) {
      // The file ends with the head: checkpoint it before the chain moves on.
      this.#checkpointer?.checkpointNow();
      this.#part++;
      this.#partDay = day;
      this.#partBytes = 0;
    }
    this.#partBytes += bytes.length;
    this.#pending.push({ sequence: entry.sequence, entryHash: entry.entryHash, part: this.#part, day: this.#partDay, bytes });
    this.#enqueued++;
    this.#head = { sequence: entry.sequence, entryHash: entry.entryHash };
    this.#checkpointer?.observe(entry);
  }

  /** Whether `entry` is the next entry of the chain (it follows the head). */
  follows(entry: DecisionLogEntry): boolean {
    return this.#head ? entry.sequence === this.#head.sequence + 1 && entry.previousHash === this.#head.entryHash : entry.sequence === 0;
  }

  /** How many times failed writes dropped entries (drop mode); with {@link dropError}, the last failure. */
  get drops(): number {
    return this.#epoch;
  }

  /** The failure that last dropped entries, or null. */
  get dropError(): Error | null {
    return this.#dropError;
  }

  /** The last entry written to the file (and synced in fsync mode), or null. */
  get writtenHead(): ChainHead | null {
    return this.#writtenHead;
  }

  /**
   * Resolves once every entry enqueued before the call is written (and, in
   * fsync mode, fdatasync'd). Rejects if a write of one of them fails; the
   * unwritten entries then stay queued for the next flush, or are dropped
   * (see {@link ChainFileOptions.onWriteFailure}).
   *
   * The write itself is synchronous (`writeSync`: a couple of µs for a line,
   * where an async write is a threadpool round trip), so the entries are in
   * the file when `flush` returns its promise. In fsync mode the `fdatasync`
   * runs on the threadpool and is a group commit: entries written while one
   * is in flight share the next one.
   */
  async flush(): Promise<void> {
    const target = this.#enqueued;
    if (this.#written < target) {
      try {
        this.#writePending();
      } catch (err) {
        // Ours may have been written before a later part failed (keep mode).
        if (this.#written < target) throw err;
      }
    }
    if (this.#synced < target) await this.#syncThrough(target);
    if (this.#checkpointing) await this.#checkpointing;
  }

  /**
   * Flushes, writes a last checkpoint (shutdown), syncs the current file in
   * fsync mode, and closes it.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.flush();
      if (this.#checkpointer && this.#head) {
        this.#checkpointer.checkpointNow();
        await this.#checkpointing;
        await this.#checkpointer.store(this.#head.sequence);
      }
    } finally {
      this.#closed = true;
      await this.#syncing?.catch(() => undefined);
      await this.#checkpointing;
      const fd = this.#fd;
      this.#fd = null;
      try {
        if (fd !== null) closeSync(fd);
        await this.#checkpointer?.close();
      } finally {
        await this.#unlock();
      }
    }
  }

  /**
   * For a process that is exiting (nothing asynchronous runs any more):
   * writes the lines enqueued and not yet written, in order, and in fsync mode
   * `fdatasync`s them, all synchronously. Writes nothing once closed. Returns
   * whether nothing is left unwritten. Checkpoints are not written here.
   */
  writePendingSync(): boolean {
    if (this.#closed) return this.#pending.length === 0;
    try {
      this.#writePending();
      if (this.#fsync && this.#fd !== null) fdatasyncSync(this.#fd);
    } catch {
      return false;
    }
    return true;
  }

  /** Writes every queued entry now, in as few `write` calls as there are parts among them. */
  #writePending(): void {
    while (this.#pending.length > 0) {
      const { part, day } = this.#pending[0]!;
      let n = 1;
      while (n < this.#pending.length && this.#pending[n]!.part === part) n++;
      const group = n === this.#pending.length ? this.#pending : this.#pending.slice(0, n);
      const buf = n === 1 ? group[0]!.bytes : Buffer.concat(group.map((p) => p.bytes));
      let done = 0;
      try {
        if (this.#repair) {
          truncateSync(this.#repair.path, this.#repair.size);
          this.#repair = null;
        }
        const fd = this.#fileFor(part, day);
        while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
      } catch (err) {
        if (this.#dropFailed) {
          this.#dropError = err as Error;
          this.#dropPending(done);
        } else this.#dropWritten(group, done);
        throw err;
      }
      this.#fdBytes += buf.length;
      const last = group[n - 1]!;
      if (n === this.#pending.length) this.#pending = [];
      else this.#pending.splice(0, n);
      this.#written += n;
      this.#wrote = { count: this.#written, head: { sequence: last.sequence, entryHash: last.entryHash }, part, day, bytes: this.#fdBytes };
      if (!this.#fsync) this.#markDurable(this.#wrote);
    }
  }

  /** fsync mode: waits until entries up to `target` are fdatasync'd, starting one `fdatasync` at a time. */
  async #syncThrough(target: number): Promise<void> {
    const epoch = this.#epoch;
    while (this.#synced < target) {
      // Dropped after a failed write or sync (drop mode): they are not in the file any more.
      if (this.#epoch !== epoch) throw this.#dropError ?? new Error(`decision log ${this.chainId}: entries dropped after a failed write`);
      this.#syncing ??= this.#startSync();
      try {
        await this.#syncing;
      } catch (err) {
        if (this.#synced >= target) return;
        throw err;
      }
    }
  }

  /** One `fdatasync` of the current file on the threadpool; covers every entry written when it starts. */
  #startSync(): Promise<void> {
    const fd = this.#fd!;
    const mark = this.#wrote;
    const epoch = this.#epoch;
    this.#syncingFd = fd;
    return new Promise<void>((resolve, reject) => {
      fdatasync(fd, (err) => {
        this.#syncing = null;
        this.#syncingFd = null;
        for (const r of this.#retired.splice(0)) closeQuietly(r);
        // A failure is moot for entries synced since (a rotation syncs the old file at once).
        if (err && epoch === this.#epoch && mark.count > this.#synced) {
          this.#dropError = err;
          if (this.#dropFailed) this.#dropPending(0);
          reject(err);
          return;
        }
        if (epoch === this.#epoch) this.#markDurable(mark);
        resolve();
      });
    });
  }

  /** Entries up to `mark` are as durable as the mode promises: they are what a failure returns to. */
  #markDurable(mark: WriteMark): void {
    if (mark.count <= this.#synced) return;
    this.#synced = mark.count;
    this.#writtenHead = mark.head;
    this.#writtenPart = mark.part;
    this.#writtenPartDay = mark.day;
    this.#writtenPartBytes = mark.bytes;
    // Checkpoints only ever name entries that are already written (and synced).
    const cp = this.#checkpointer;
    if (cp && mark.head && cp.hasDue(mark.head.sequence)) {
      const sequence = mark.head.sequence;
      const next = (this.#checkpointing ?? Promise.resolve()).then(() => cp.store(sequence));
      this.#checkpointing = next;
      void next.finally(() => {
        if (this.#checkpointing === next) this.#checkpointing = null;
      });
    }
  }

  /**
   * After a failed write (`done` bytes of it written) or sync, drops every
   * entry not yet durable and returns the chain to the last entry that is;
   * the file is cut back to it now, or before the next write.
   */
  #dropPending(done: number): void {
    const fd = this.#fd;
    if (fd !== null) {
      this.#fd = null;
      this.#retire(fd);
      if (this.#fdPart > this.#writtenPart) {
        // A file opened for a new part holding nothing durable goes: the part is started again later.
        try {
          unlinkSync(this.#fdPath);
          this.#files.splice(this.#files.indexOf(this.#fdPath), 1);
        } catch {
          // Left as is: recovery reads it as the chain's continuation, which it is not yet; cut it back instead.
          this.#repair = { path: this.#fdPath, size: 0 };
        }
      } else if (this.#fdBytes + done > this.#writtenPartBytes) {
        this.#repair = { path: this.#fdPath, size: this.#writtenPartBytes };
      }
    }
    const dropped = this.#enqueued - this.#synced;
    this.#pending = [];
    this.#enqueued -= dropped;
    this.#written = this.#synced;
    this.#epoch++;
    this.#head = this.#writtenHead;
    this.#part = this.#writtenPart;
    this.#partDay = this.#writtenPartDay;
    this.#partBytes = this.#writtenPartBytes;
    this.#wrote = { count: this.#synced, head: this.#writtenHead, part: this.#writtenPart, day: this.#writtenPartDay, bytes: this.#writtenPartBytes };
    this.#checkpointer?.rewind(this.#writtenHead);
    if (this.#repair) {
      try {
        truncateSync(this.#repair.path, this.#repair.size);
        this.#repair = null;
      } catch {
        // Still failing (e.g. read-only): cut back before the next write.
      }
    }
  }

  /** After a failed write of `done` bytes of `group`, keeps only what was not written. */
  #dropWritten(group: PendingLine[], done: number): void {
    let left = done;
    let whole = 0;
    while (whole < group.length && left >= group[whole]!.bytes.length) {
      left -= group[whole]!.bytes.length;
      whole++;
    }
    if (whole < group.length && left > 0) group[whole]!.bytes = group[whole]!.bytes.subarray(left);
    if (whole > 0) {
      const last = group[whole - 1]!;
      this.#fdBytes += done - left;
      this.#written += whole;
      this.#wrote = {
        count: this.#written,
        head: { sequence: last.sequence, entryHash: last.entryHash },
        part: last.part,
        day: last.day,
        bytes: this.#fdBytes,
      };
      if (!this.#fsync) this.#markDurable(this.#wrote);
    }
    this.#fdBytes += left;
    this.#pending.splice(0, whole);
  }

  /** The file of `part`, opened (and the previous one synced in fsync mode, and closed) if need be. */
  #fileFor(part: number, day: string): number {
    if (this.#fd !== null && this.#fdPart === part) return this.#fd;
    if (this.#fd !== null) {
      // The chain moves to a new file: what the old one holds is synced before it is let go.
      if (this.#fsync && this.#written > this.#synced) {
        fdatasyncSync(this.#fd);
        this.#markDurable(this.#wrote);
      }
      const old = this.#fd;
      this.#fd = null;
      this.#retire(old);
    }
    const path = join(this.dir, chainFileName(this.chainId, day, part));
    const fd = openSync(path, 'a', 0o640);
    this.#fd = fd;
    this.#fdPart = part;
    this.#fdPath = path;
    this.#fdBytes = fstatSync(fd).size;
    if (!this.#files.includes(path)) this.#files.push(path);
    if (this.#fsync) syncDir(this.dir);
    return fd;
  }

  /** Closes a file descriptor, once no `fdatasync` is running on it. */
  #retire(fd: number): void {
    if (fd === this.#syncingFd) this.#retired.push(fd);
    else closeQuietly(fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already unusable: nothing more to release.
  }
}

/** Throws unless `fingerprint` is the key that signs the chain's next entry. */
function assertSigner(chainId: string, recovery: ChainRecovery, fingerprint: string): void {
  if (recovery.head && recovery.signer && recovery.signer !== fingerprint) {
    throw new ChainSignerMismatchError(chainId, recovery.signer, fingerprint, recovery.head.sequence);
  }
}

function fingerprintOf(key: Uint8Array | string): string {
  if (typeof key === 'string') {
    if (!/^[0-9a-f]{16}$/.test(key)) throw new TypeError('signerPublicKey: expected a 32-byte public key or a 16-hex-digit fingerprint');
    return key;
  }
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new TypeError('signerPublicKey: expected a 32-byte public key or a 16-hex-digit fingerprint');
  return signerFingerprint(key);
}

function syncDir(dir: string): void {
  const d = openSync(dir, 'r');
  try {
    fsyncSync(d);
  } finally {
    closeSync(d);
  }
}
