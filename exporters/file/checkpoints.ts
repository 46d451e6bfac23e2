import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { ChainHead, DecisionLogEntry } from '../../src/audit/chain.js';
import { CheckpointWriter, type Checkpoint } from '../../src/audit/checkpoint.js';
import { isSignerChange } from '../../src/audit/rotation.js';
import type { Signer } from '../../src/audit/signer.js';
import { MAX_LOG_LINE_LENGTH } from '../../src/audit/log-line.js';
import { readLines } from './lines.js';
import { setAsideTail } from './recovery.js';

/** Suffix of a chain's checkpoint file: `<chainId>.checkpoints.jsonl`. */
export const CHECKPOINT_FILE_SUFFIX = '.checkpoints.jsonl';

/** `<chainId>.checkpoints.jsonl`: where the file exporter writes a chain's checkpoints. */
export function checkpointFileName(chainId: string): string {
  return `${chainId}${CHECKPOINT_FILE_SUFFIX}`;
}

/** The chain id (file-name prefix) of a checkpoint file name, or null for any other file. */
export function parseCheckpointFileName(name: string): string | null {
  const m = /^([A-Za-z0-9_-]+)\.checkpoints\.jsonl$/.exec(name);
  return m ? m[1]! : null;
}

/**
 * Checkpointing of a file-exported chain (see {@link ChainFileOptions.checkpoints}).
 * Checkpoints are signed by the chain's signer, which the exporter does not
 * have on its own: `SpendGuard` hands it over through the store's
 * `attachSigner` hook; until then no checkpoint is made.
 */
export interface CheckpointOptions {
  /** A checkpoint after every `every` entries (default 1000). Also: on file rotation, after a key rotation, and on close. */
  every?: number;
  /** Append checkpoints to `<chainId>.checkpoints.jsonl` in the log directory (default true). */
  file?: boolean;
  /**
   * Told about every checkpoint once the entry it names is as durable as the
   * store promises (and after it is in the checkpoint file): the place to keep
   * a copy outside the log's storage, e.g. {@link checkpointSpanEvents}. A
   * throw or rejection is reported through `onWarning`; it never fails an append.
   */
  onCheckpoint?: (checkpoint: Checkpoint) => void | Promise<void>;
  /**
   * Told when a checkpoint cannot be made, written or handed over (and when a
   * torn checkpoint line is set aside). Entries are never affected: a
   * checkpoint problem does not fail an append. Default: `process.emitWarning`
   * with code `AGENTGUARD_CHECKPOINT`.
   */
  onError?: (error: CheckpointProblem) => void;
}

/** A checkpoint that could not be made, written or handed to `onCheckpoint`, or a torn checkpoint line set aside. */
export interface CheckpointProblem {
  /** `not_made` (no signer for the chain's key, unknown chain id), `write_failed`, `callback_failed`, `torn_line` (set aside on open). */
  code: 'not_made' | 'write_failed' | 'callback_failed' | 'torn_line';
  /** The checkpoint file, or the chain file that could not be read. */
  file: string;
  /** One-line description, for logs. */
  message: string;
}

/** A signer_change entry observed, with the checkpoint signer state before it. */
interface SignerChangeSeen {
  sequence: number;
  signer: Signer | null;
  awaiting: string | null;
}

/** A checkpoint waiting for the entry it names to be written. */
interface Due {
  sequence: number;
  checkpoint: Checkpoint;
  /** Already in the checkpoint file (the callback is still owed). */
  inFile: boolean;
}

/**
 * Makes and stores the checkpoints of one chain, for {@link ChainFileWriter}:
 * it observes every entry in order (when it is enqueued), makes checkpoints
 * with a {@link CheckpointWriter}, and writes each only after the entry it
 * names is written (and fdatasync'd in fsync mode), so a crash can never leave
 * a checkpoint pointing past the durable end of the log.
 *
 * Signers: the first {@link attachSigner} starts checkpointing with that key;
 * later ones are remembered by fingerprint and taken on when the chain's
 * `signer_change` entry naming them is observed, so checkpoints before the
 * rotation are signed by the outgoing key whatever order the two arrive in
 * (in batch mode entries reach the writer after the guard has rotated).
 */
export class ChainCheckpointer {
  #path: string | null;
  readonly #every: number;
  readonly #fsync: boolean;
  readonly #clock: () => number;
  readonly #onCheckpoint: CheckpointOptions['onCheckpoint'];
  readonly #warn: (w: CheckpointProblem) => void;
  #chainId: string | null;
  #head: ChainHead | null;
  #writer: CheckpointWriter | null = null;
  readonly #signers = new Map<string, Signer>();
  /** Fingerprint a signer_change entry introduced, while its signer is not attached yet. */
  #awaiting: string | null = null;
  #due: Due[] = [];
  #fh: FileHandle | null = null;
  #callbacks = new Set<Promise<void>>();
  #lastError: Error | null = null;
  #written = 0;
  #observed = 0;
  /** The key the checkpoint writer signs with now. */
  #signer: Signer | null = null;
  /** Signer changes observed (the key and state before each), so a dropped one can be undone. */
  #changes: SignerChangeSeen[] = [];

  private constructor(
    path: string | null,
    options: CheckpointOptions,
    init: { chainId: string | null; head: ChainHead | null; fsync: boolean; clock: () => number; warn: (w: CheckpointProblem) => void },
  ) {
    const every = options.every ?? 1000;
    if (!Number.isSafeInteger(every) || every < 1) throw new TypeError(`checkpoints.every: expected a positive integer, got ${JSON.stringify(options.every)}`);
    if (options.onCheckpoint !== undefined && typeof options.onCheckpoint !== 'function') throw new TypeError('checkpoints.onCheckpoint: expected a function');
    this.#path = path;
    this.#every = every;
    this.#fsync = init.fsync;
    this.#clock = init.clock;
    this.#onCheckpoint = options.onCheckpoint;
    this.#warn = init.warn;
    this.#chainId = init.chainId;
    this.#head = init.head;
  }

  /**
   * Prepares checkpointing for a chain opened in `dir`: learns the chain's id
   * (its sequence-0 entry hash) from its first file when resuming, and sets
   * aside a torn last line of an existing checkpoint file (a crash mid-write)
   * so the next checkpoint starts on a line of its own.
   */
  static async open(
    dir: string,
    fileChainId: string,
    options: CheckpointOptions,
    init: { head: ChainHead | null; firstFile: string | undefined; fsync: boolean; clock: () => number },
  ): Promise<ChainCheckpointer> {
    const warn = options.onError ?? ((w: CheckpointProblem) => process.emitWarning(w.message, { code: 'AGENTGUARD_CHECKPOINT' }));
    const path = options.file === false ? null : join(dir, checkpointFileName(fileChainId));
    let chainId: string | null = null;
    if (init.head) {
      chainId = init.firstFile ? await readGenesisHash(init.firstFile) : null;
      if (!chainId) {
        warn({
          code: 'not_made',
          file: init.firstFile ?? dir,
          message: `decision log: checkpoints: cannot read the sequence-0 entry of chain ${fileChainId} (its id); no checkpoints will be written for it`,
        });
      }
    }
    const cp = new ChainCheckpointer(path, options, { chainId, head: init.head, fsync: init.fsync, clock: init.clock, warn });
    if (path) await cp.#repairTail(path);
    return cp;
  }

  /** The checkpoint file, or null when checkpoints go to `onCheckpoint` only. */
  get path(): string | null {
    return this.#path;
  }

  /** Checkpoints written to the file so far by this process. */
  get written(): number {
    return this.#written;
  }

  /** The last failure to write a checkpoint, until a write succeeds. */
  get lastError(): Error | null {
    return this.#lastError;
  }

  /** Hands over a signing key (see the class notes for rotation). */
  attachSigner(signer: Signer): void {
    this.#signers.set(signer.fingerprint, signer);
    if (!this.#writer) {
      if (this.#head && !this.#chainId) return; // chain id unknown: warned on open
      this.#writer = new CheckpointWriter({
        signer,
        every: this.#every,
        clock: this.#clock,
        head: this.#head,
        ...(this.#chainId ? { chainId: this.#chainId } : {}),
      });
      this.#signer = signer;
      return;
    }
    if (this.#awaiting === signer.fingerprint) {
      this.#writer.setSigner(signer);
      this.#signer = signer;
      this.#awaiting = null;
    }
  }

  /** Records an enqueued entry; queues a checkpoint when one is due. */
  observe(entry: DecisionLogEntry): void {
    this.#observed++;
    this.#head = { sequence: entry.sequence, entryHash: entry.entryHash };
    if (entry.sequence === 0) this.#chainId ??= entry.entryHash;
    if (!this.#writer) return;
    this.#guard(() => {
      this.#queue(this.#writer!.observe(entry));
      if (isSignerChange(entry.decision)) {
        this.#changes.push({ sequence: entry.sequence, signer: this.#signer, awaiting: this.#awaiting });
        const next = (entry.decision as { newSignerFingerprint?: unknown }).newSignerFingerprint;
        const signer = typeof next === 'string' ? this.#signers.get(next) : undefined;
        if (signer) {
          this.#writer!.setSigner(signer);
          this.#signer = signer;
        } else this.#awaiting = typeof next === 'string' ? next : null;
      }
    });
  }

  /**
   * Forgets entries observed after `head` (the writer dropped them unwritten):
   * checkpoints naming them are discarded and the next entry observed must
   * follow `head`.
   */
  rewind(head: ChainHead | null): void {
    const last = head?.sequence ?? -1;
    this.#due = this.#due.filter((d) => d.sequence <= last);
    this.#head = head;
    if (!head) this.#chainId = null;
    // A dropped signer_change: the key before it signs again.
    let change: SignerChangeSeen | undefined;
    while ((change = this.#changes.at(-1)) && change.sequence > last) {
      this.#changes.pop();
      this.#signer = change.signer;
      this.#awaiting = change.awaiting;
    }
    if (this.#writer && this.#signer) {
      this.#writer = new CheckpointWriter({
        signer: this.#signer,
        every: this.#every,
        clock: this.#clock,
        head,
        ...(this.#chainId ? { chainId: this.#chainId } : {}),
      });
    }
  }

  /**
   * Queues a checkpoint of the last entry now (file rotation, close), unless
   * one exists or no entry was observed since this process opened the chain.
   */
  checkpointNow(): void {
    if (!this.#writer || this.#awaiting || this.#observed === 0) return;
    this.#guard(() => this.#queue(this.#writer!.checkpoint()));
  }

  /** Whether a queued checkpoint names an entry up to `writtenSequence` (so {@link store} has work). */
  hasDue(writtenSequence: number): boolean {
    return this.#due.length > 0 && this.#due[0]!.sequence <= writtenSequence;
  }

  /**
   * Stores the queued checkpoints whose entries are written (sequence up to
   * `writtenSequence`): appends them to the checkpoint file (fdatasync'd in
   * fsync mode), then calls `onCheckpoint`. A failed write is reported and
   * retried on the next call; it never throws.
   */
  async store(writtenSequence: number): Promise<void> {
    let n = 0;
    while (n < this.#due.length && this.#due[n]!.sequence <= writtenSequence) n++;
    if (n === 0) return;
    const ready = this.#due.slice(0, n);
    const toFile = ready.filter((d) => !d.inFile);
    if (this.path && toFile.length > 0) {
      try {
        this.#fh ??= await open(this.path, 'a', 0o640);
        const buf = Buffer.from(toFile.map((d) => `${JSON.stringify(d.checkpoint)}\n`).join(''), 'utf8');
        let done = 0;
        while (done < buf.length) done += (await this.#fh.write(buf, done, buf.length - done)).bytesWritten;
        if (this.#fsync) await this.#fh.datasync();
        for (const d of toFile) d.inFile = true;
        this.#written += toFile.length;
        this.#lastError = null;
      } catch (err) {
        // A partial line is set aside on the next open; retry the whole batch next time.
        const fh = this.#fh;
        this.#fh = null;
        await fh?.close().catch(() => undefined);
        this.#lastError = err as Error;
        this.#warn({
          code: 'write_failed',
          file: this.path,
          message: `decision log: cannot write checkpoints to ${this.path}: ${(err as Error).message}; retrying with the next write`,
        });
        return;
      }
    }
    this.#due.splice(0, n);
    for (const d of ready) this.#notify(d.checkpoint);
  }

  /** Waits for `onCheckpoint` callbacks still running, and closes the file. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#callbacks]);
    const fh = this.#fh;
    this.#fh = null;
    if (fh) await fh.close();
  }

  #queue(cp: Checkpoint | null): void {
    if (cp) this.#due.push({ sequence: cp.sequence, checkpoint: cp, inFile: false });
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#warn({ code: 'not_made', file: this.path ?? '', message: `decision log: checkpoint not made: ${(err as Error).message}` });
    }
  }

  #notify(cp: Checkpoint): void {
    if (!this.#onCheckpoint) return;
    const fail = (err: unknown) =>
      this.#warn({
        code: 'callback_failed',
        file: this.path ?? '',
        message: `decision log: onCheckpoint failed for sequence ${cp.sequence}: ${(err as Error)?.message ?? String(err)}`,
      });
    try {
      const r = this.#onCheckpoint(cp);
      if (r && typeof (r as Promise<void>).then === 'function') {
        const p = Promise.resolve(r).then(() => undefined, fail);
        this.#callbacks.add(p);
        void p.finally(() => this.#callbacks.delete(p));
      }
    } catch (err) {
      fail(err);
    }
  }

  async #repairTail(path: string): Promise<void> {
    try {
      await this.#setAsideTornLine(path);
    } catch (err) {
      this.#warn({ code: 'write_failed', file: path, message: `decision log: cannot check the end of ${path}: ${(err as Error).message}` });
    }
  }

  async #setAsideTornLine(path: string): Promise<void> {
    let size: number;
    try {
      const s = await stat(path);
      if (!s.isFile()) return; // writes will fail and be reported
      size = s.size;
    } catch {
      return; // no file yet
    }
    if (size === 0) return;
    const fh = await open(path, 'r');
    let end: number;
    try {
      const window = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(window);
      await fh.read(buf, 0, window, size - window);
      if (buf[window - 1] === 0x0a) return;
      const nl = buf.lastIndexOf(0x0a);
      end = nl === -1 ? (window === size ? 0 : -1) : size - window + nl + 1;
    } finally {
      await fh.close();
    }
    if (end < 0) {
      this.#warn({
        code: 'write_failed',
        file: path,
        message: `decision log: ${path} ends with over 64 KiB without a newline; not appending checkpoints to it`,
      });
      this.#path = null;
      return;
    }
    const w = await setAsideTail(path, end);
    this.#warn({ code: 'torn_line', file: path, message: `decision log: torn last checkpoint line (${w.bytes} bytes) of ${path} set aside in ${w.sidecar}` });
  }
}

/** The `entryHash` of the first line of a chain's first file, or null when it is not an entry. */
export async function readGenesisHash(file: string): Promise<string | null> {
  // Bounded: a first line longer than any entry is not one, and is not read into memory.
  for await (const l of readLines(file, undefined, { maxLineBytes: MAX_LOG_LINE_LENGTH })) {
    if (!l.terminated) return null;
    try {
      const e = JSON.parse(l.bytes.toString('utf8')) as { sequence?: unknown; entryHash?: unknown };
      return e && e.sequence === 0 && typeof e.entryHash === 'string' && /^[0-9a-f]{64}$/.test(e.entryHash) ? e.entryHash : null;
    } catch {
      return null;
    }
  }
  return null;
}

/** One line of a checkpoint file, for a verifier. */
export interface CheckpointRecord {
  /** The parsed line (checked by the verifier: a line that is not a checkpoint is `bad_checkpoint`). */
  checkpoint: unknown;
  file: string;
  line: number;
}

/**
 * Reads a checkpoint file (JSONL, one checkpoint a line). A line that is not
 * JSON is returned as its text, so the verifier reports it as a bad
 * checkpoint; a torn last line (no newline: a crash mid-write) is skipped and
 * counted in `torn`.
 */
export async function readCheckpointFile(path: string): Promise<{ records: CheckpointRecord[]; torn: number }> {
  const records: CheckpointRecord[] = [];
  let torn = 0;
  for await (const l of readLines(path, undefined, { maxLineBytes: MAX_LOG_LINE_LENGTH })) {
    if (l.tooLong) {
      // Not read into memory; the verifier reports it as a bad checkpoint.
      records.push({ checkpoint: `(a line longer than ${MAX_LOG_LINE_LENGTH} bytes)`, file: path, line: l.line });
      continue;
    }
    if (!l.terminated) {
      torn++;
      continue;
    }
    const text = l.bytes.toString('utf8');
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    records.push({ checkpoint: value, file: path, line: l.line });
  }
  return { records, torn };
}

/** The checkpoints one chain is verified against, read from checkpoint files. */
export interface ChainCheckpoints {
  records: CheckpointRecord[];
  /** The files they came from. */
  files: string[];
  /** Torn last lines skipped (a crash while writing a checkpoint). */
  tornLines: number;
  /** Of `files`, those picked up next to the chain rather than given. */
  found?: string[];
}

/**
 * Checkpoints that name no chain by file (e.g. exported from a trace
 * backend): each chain takes those whose `chainId` is its sequence-0 entry
 * hash; what is left names a chain that is not in the log.
 */
export class CheckpointPool {
  readonly #byChainId = new Map<string, CheckpointRecord[]>();
  readonly files: string[] = [];
  /** Records that are not checkpoints at all (no `chainId`). */
  readonly unusable: CheckpointRecord[] = [];
  tornLines = 0;

  add(records: CheckpointRecord[]): void {
    for (const r of records) {
      const id = (r.checkpoint as { chainId?: unknown } | null)?.chainId;
      if (typeof id !== 'string') {
        this.unusable.push(r);
        continue;
      }
      let list = this.#byChainId.get(id);
      if (!list) this.#byChainId.set(id, (list = []));
      list.push(r);
    }
  }

  /** Takes (removes) the checkpoints of the chain whose sequence-0 entry hash is `genesisHash`. */
  take(genesisHash: string): CheckpointRecord[] {
    const list = this.#byChainId.get(genesisHash) ?? [];
    this.#byChainId.delete(genesisHash);
    return list;
  }

  /** Everything not taken, by chain id. */
  left(): Map<string, CheckpointRecord[]> {
    return new Map(this.#byChainId);
  }
}

/** Checkpoint files with no log of their chain in the directory. */
export interface OrphanCheckpoints {
  /** The chain named by the file (file-name prefix), or the `chainId` of pooled checkpoints. */
  chainId: string;
  count: number;
  files: string[];
  /** `truncated`: no log file of the chain at all; `swapped_log`: checkpoints of a chain that no log in the directory is. */
  reason: 'truncated' | 'swapped_log';
  message: string;
}

/** Where the checkpoints for a directory's chains come from, and which belong to which. */
export interface GatheredCheckpoints {
  /** By the chain's file-name id. */
  byChain: Map<string, ChainCheckpoints>;
  pool: CheckpointPool;
  orphans: OrphanCheckpoints[];
}

/**
 * Finds the checkpoints for `chains` (from `listChains(path)`): when `path` is
 * a directory and `find` is set (default), each chain's own
 * `<chainId>.checkpoints.jsonl` in it (a single chain file is verified on its
 * own, without them), and
 * the `explicit` files and directories (a directory: every
 * `*.checkpoints.jsonl` in it). A file named after a chain binds to that chain;
 * any other file goes to the pool, matched to chains by their sequence-0 entry
 * hash (see {@link poolOrphans} for what is left). A named checkpoint file whose
 * chain has no log file is an orphan: its log is missing.
 */
export async function gatherCheckpoints(
  path: string,
  chains: readonly { chainId: string; checkpointFile?: { path: string } }[],
  options: { explicit?: readonly string[]; find?: boolean } = {},
): Promise<GatheredCheckpoints> {
  const named = new Map<string, Map<string, boolean>>(); // chain id → file → found (not given)
  const loose: string[] = [];
  const addNamed = (id: string, file: string, found = false) => {
    let files = named.get(id);
    if (!files) named.set(id, (files = new Map()));
    const key = resolve(file);
    files.set(key, (files.get(key) ?? true) && found);
  };
  let isDir = false;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch {
    isDir = false;
  }
  // Found ones only for a directory: one file of a chain is verified on its own.
  if ((options.find ?? true) && isDir) {
    for (const c of chains) if (c.checkpointFile) addNamed(c.chainId, c.checkpointFile.path, true);
    for (const f of await checkpointFilesIn(path)) addNamed(parseCheckpointFileName(basename(f))!, f, true);
  }
  for (const p of options.explicit ?? []) {
    let info;
    try {
      info = await stat(p);
    } catch (err) {
      throw new Error(`${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
    if (info.isDirectory()) {
      const files = await checkpointFilesIn(p);
      if (files.length === 0) throw new Error(`${p}: no checkpoint files (*${CHECKPOINT_FILE_SUFFIX}) in this directory`);
      for (const f of files) addNamed(parseCheckpointFileName(basename(f))!, f);
    } else {
      const id = parseCheckpointFileName(basename(p));
      if (id && chains.some((c) => c.chainId === id)) addNamed(id, p);
      else loose.push(resolve(p));
    }
  }
  const byChain = new Map<string, ChainCheckpoints>();
  const orphans: OrphanCheckpoints[] = [];
  for (const [id, files] of named) {
    const cc: ChainCheckpoints = { records: [], files: [...files.keys()], tornLines: 0, found: [...files].filter(([, found]) => found).map(([f]) => f) };
    for (const f of files.keys()) {
      const { records, torn } = await readCheckpointFile(f);
      cc.records.push(...records);
      cc.tornLines += torn;
    }
    if (chains.some((c) => c.chainId === id)) {
      byChain.set(id, cc);
    } else if (cc.records.length > 0) {
      const last = Math.max(
        -1,
        ...cc.records.map((r) => (r.checkpoint as { sequence?: unknown })?.sequence).filter((s): s is number => Number.isSafeInteger(s)),
      );
      orphans.push({
        chainId: id,
        count: cc.records.length,
        files: cc.files,
        reason: 'truncated',
        message: `${cc.records.length} checkpoint${cc.records.length === 1 ? '' : 's'} (up to sequence ${last}) for chain ${id}, but no log file of that chain is here: the log is missing`,
      });
    }
  }
  const pool = new CheckpointPool();
  for (const f of loose) {
    const { records, torn } = await readCheckpointFile(f);
    pool.add(records);
    pool.files.push(f);
    pool.tornLines += torn;
  }
  return { byChain, pool, orphans };
}

/** The checkpoints left in a pool after every chain took its own: each chain id names a chain missing from the log. */
export function poolOrphans(pool: CheckpointPool): OrphanCheckpoints[] {
  const out: OrphanCheckpoints[] = [];
  for (const [id, records] of pool.left()) {
    out.push({
      chainId: id,
      count: records.length,
      files: [...new Set(records.map((r) => r.file))],
      reason: 'swapped_log',
      message: `${records.length} checkpoint${records.length === 1 ? '' : 's'} of chain ${id} (a sequence-0 entryHash) match no chain in the log: that chain is missing or was replaced`,
    });
  }
  if (pool.unusable.length > 0) {
    const r = pool.unusable[0]!;
    out.push({
      chainId: '(none)',
      count: pool.unusable.length,
      files: [...new Set(pool.unusable.map((u) => u.file))],
      reason: 'swapped_log',
      message: `${pool.unusable.length} line${pool.unusable.length === 1 ? ' is' : 's are'} not a checkpoint (no chainId), first at ${r.file}:${r.line}`,
    });
  }
  return out;
}

async function checkpointFilesIn(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => parseCheckpointFileName(n) !== null).sort();
  const files: string[] = [];
  for (const n of names) if ((await stat(join(dir, n))).isFile()) files.push(join(dir, n));
  return files;
}

/**
 * The checkpoint line behind a checkpoint failure of a chain: the one a
 * `bad_checkpoint` message numbers, the first of another chain
 * (`swapped_log`), the first beyond the log's end (`truncated`), or the one
 * whose hash the entry at its sequence does not have (`fork`).
 */
export function locateCheckpoint(
  failure: { reason: string; sequence: number; message: string },
  records: readonly CheckpointRecord[],
  chain: { genesisHash: string | null; count: number; entryHashAt: (sequence: number) => string | undefined },
): CheckpointRecord | undefined {
  const cp = (r: CheckpointRecord) => r.checkpoint as Partial<Checkpoint> | null;
  switch (failure.reason) {
    case 'bad_checkpoint': {
      const m = /^checkpoint #(\d+)/.exec(failure.message);
      return m ? records[Number(m[1])] : undefined;
    }
    case 'swapped_log':
      return records.find((r) => chain.genesisHash !== null && cp(r)?.chainId !== chain.genesisHash);
    case 'truncated':
      return [...records].filter((r) => (cp(r)?.sequence ?? -1) >= chain.count).sort((a, b) => cp(a)!.sequence! - cp(b)!.sequence!)[0];
    case 'fork':
      return records.find((r) => cp(r)?.sequence === failure.sequence && cp(r)?.entryHash !== chain.entryHashAt(failure.sequence));
    default:
      return undefined;
  }
}
