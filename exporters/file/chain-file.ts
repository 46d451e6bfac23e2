import { fdatasyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, open, truncate, unlink, type FileHandle } from 'node:fs/promises';
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

const DEFAULT_MAX_FILE_BYTES = 64 << 20;

/**
 * Appends one hash chain to JSONL files: `<chainId>.<YYYYMMDD>.<part>.jsonl`,
 * one entry per line. Rotates on size and UTC day; the chain simply continues
 * in the next part (sequence and `previousHash` carry on), and a reopened chain
 * always continues in a new part after its last file.
 *
 * Writes are group commits: {@link enqueue} is synchronous and keeps order,
 * {@link flush} writes everything enqueued so far in as few `write` calls as
 * possible (and one `fdatasync` in fsync mode), however many callers wait on it.
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
  /** The last entry written, and where the file stood after it: what a dropped write returns to. */
  #writtenHead: ChainHead | null;
  #writtenPart: number;
  #writtenPartDay = '';
  #writtenPartBytes = 0;
  /** Bytes in the file #fh writes to. */
  #fhBytes = 0;
  /** A file left with part of a failed write, to cut back before the next write. */
  #repair: { path: string; size: number } | null = null;
  #pending: PendingLine[] = [];
  #enqueued = 0;
  #written = 0;
  #inflight: Promise<void> | null = null;
  #fh: FileHandle | null = null;
  #fhPart = 0;
  #fhPath = '';
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

  /** Entries enqueued but not yet written. */
  get pendingCount(): number {
    return this.#enqueued - this.#written;
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

  /** The last entry written to the file (and synced in fsync mode), or null. */
  get writtenHead(): ChainHead | null {
    return this.#writtenHead;
  }

  /**
   * Resolves once every entry enqueued before the call is written (and, in
   * fsync mode, fdatasync'd). Rejects if a write of one of them fails; the
   * unwritten entries then stay queued for the next flush, or are dropped
   * (see {@link ChainFileOptions.onWriteFailure}).
   */
  async flush(): Promise<void> {
    const target = this.#enqueued;
    let joined = 0;
    while (this.#written < target) {
      const mine = !this.#inflight;
      this.#inflight ??= this.#writePending().finally(() => {
        this.#inflight = null;
      });
      try {
        await this.#inflight;
      } catch (err) {
        if (this.#written >= target) return; // ours were written before a later group failed
        // A write started before this flush may have failed before the cause was gone: try once ourselves.
        if (!mine && this.#enqueued >= target && joined++ === 0) continue;
        throw err;
      }
    }
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
        await this.#checkpointer.store(this.#head.sequence);
      }
    } finally {
      this.#closed = true;
      const fh = this.#fh;
      this.#fh = null;
      try {
        if (fh) await fh.close();
        await this.#checkpointer?.close();
      } finally {
        await this.#unlock();
      }
    }
  }

  /**
   * For a process that is exiting (nothing asynchronous runs any more):
   * writes the lines enqueued and not yet written with synchronous writes, in
   * order, opening a new part's file if needed (left open: the process ends).
   * Writes nothing while an asynchronous write is in flight, after a failed
   * write, or once closed: whether the bytes in flight reach the file is not
   * known, and lines written after them could land out of order. Returns
   * whether nothing is left unwritten. Checkpoints are not written here.
   */
  writePendingSync(): boolean {
    if (this.#closed || this.#inflight || this.#repair) return this.#pending.length === 0;
    const fds = new Map<number, number>();
    if (this.#fh) fds.set(this.#fhPart, this.#fh.fd);
    try {
      while (this.#pending.length > 0) {
        const { part, day } = this.#pending[0]!;
        let n = 0;
        while (n < this.#pending.length && this.#pending[n]!.part === part) n++;
        const group = this.#pending.slice(0, n);
        const buf = Buffer.concat(group.map((p) => p.bytes));
        let fd = fds.get(part);
        if (fd === undefined) {
          const path = join(this.dir, chainFileName(this.chainId, day, part));
          fd = openSync(path, 'a', 0o640);
          fds.set(part, fd);
          if (!this.#files.includes(path)) this.#files.push(path);
        }
        let done = 0;
        while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
        if (this.#fsync) fdatasyncSync(fd);
        this.#pending.splice(0, n);
        this.#written += n;
        const last = group[n - 1]!;
        this.#writtenHead = { sequence: last.sequence, entryHash: last.entryHash };
      }
    } catch {
      return false;
    }
    return true;
  }

  async #writePending(): Promise<void> {
    while (this.#pending.length > 0) {
      const part = this.#pending[0]!.part;
      const day = this.#pending[0]!.day;
      let n = 0;
      while (n < this.#pending.length && this.#pending[n]!.part === part) n++;
      const group = this.#pending.slice(0, n);
      const buf = group.length === 1 ? group[0]!.bytes : Buffer.concat(group.map((p) => p.bytes));
      let done = 0;
      try {
        if (this.#repair) {
          await truncate(this.#repair.path, this.#repair.size);
          this.#repair = null;
        }
        const fh = await this.#fileFor(part, day);
        while (done < buf.length) {
          const { bytesWritten } = await fh.write(buf, done, buf.length - done);
          done += bytesWritten;
        }
        if (this.#fsync) await fh.datasync();
      } catch (err) {
        if (this.#dropFailed) await this.#dropPending(done);
        else this.#dropWritten(group, done);
        throw err;
      }
      this.#fhBytes += buf.length;
      this.#pending.splice(0, n);
      this.#written += n;
      const last = group[n - 1]!;
      this.#writtenHead = { sequence: last.sequence, entryHash: last.entryHash };
      this.#writtenPart = part;
      this.#writtenPartDay = day;
      this.#writtenPartBytes = this.#fhBytes;
      // Checkpoints only ever name entries that are already written (and synced).
      if (this.#checkpointer) await this.#checkpointer.store(group[n - 1]!.sequence);
    }
  }

  /**
   * After a failed write (`done` bytes of it written), drops every entry not
   * yet written and returns the chain to the last entry written; the file is
   * cut back to its last whole line now, or before the next write.
   */
  async #dropPending(done: number): Promise<void> {
    const fh = this.#fh;
    if (fh && done > 0) this.#repair = { path: this.#fhPath, size: this.#fhBytes };
    this.#fh = null;
    await fh?.close().catch(() => undefined);
    // A file this failure opened for a new part and left empty goes too: the part is started again later.
    if (fh && this.#fhPart > this.#writtenPart && this.#fhBytes === 0) {
      const path = this.#fhPath;
      this.#repair = null;
      await unlink(path).then(
        () => this.#files.splice(this.#files.indexOf(path), 1),
        () => undefined,
      );
    }
    const dropped = this.#pending.length;
    this.#pending = [];
    this.#enqueued -= dropped;
    this.#head = this.#writtenHead;
    this.#part = this.#writtenPart;
    this.#partDay = this.#writtenPartDay;
    this.#partBytes = this.#writtenPartBytes;
    this.#checkpointer?.rewind(this.#writtenHead);
    if (this.#repair) {
      try {
        await truncate(this.#repair.path, this.#repair.size);
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
    this.#pending.splice(0, whole);
    this.#written += whole;
  }

  async #fileFor(part: number, day: string): Promise<FileHandle> {
    if (this.#fh && this.#fhPart === part) return this.#fh;
    if (this.#fh) {
      const old = this.#fh;
      this.#fh = null;
      if (this.#fsync) await old.datasync();
      await old.close();
    }
    const path = join(this.dir, chainFileName(this.chainId, day, part));
    this.#fh = await open(path, 'a', 0o640);
    this.#fhPart = part;
    this.#fhPath = path;
    this.#fhBytes = (await this.#fh.stat()).size;
    if (!this.#files.includes(path)) this.#files.push(path);
    if (this.#fsync) await syncDir(this.dir);
    return this.#fh;
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

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
