import type { DecisionLogEntry } from '../../src/audit/chain.js';
import type { LogLineErrorCode } from '../../src/audit/errors.js';
import type { Checkpoint } from '../../src/audit/checkpoint.js';
import type { ChainVerificationFailure, VerifyFailureReason } from '../../src/audit/verify.js';
import { PipelinedChainVerifier } from '../../src/audit/verify.js';
import { availableParallelism } from 'node:os';
import {
  gatherCheckpoints,
  locateCheckpoint,
  poolOrphans,
  type ChainCheckpoints,
  type CheckpointPool,
  type CheckpointRecord,
  type OrphanCheckpoints,
} from './checkpoints.js';
import { listChains, readChain, type ChainSource, type LogRecord } from './reader.js';

/** Verification of one chain on disk. */
export interface ChainFileVerification {
  chainId: string;
  files: string[];
  bytes: number;
  /**
   * True when every entry verified and there is at least one (a torn last
   * line alone does not fail a chain, but files holding no entry do: `no_entries`).
   */
  ok: boolean;
  /** Entries verified intact (up to the first bad one). */
  entries: number;
  /**
   * The first failure: its sequence (the one expected there), why, and where.
   * For a checkpoint failure, `file`/`line` are the entry at the checkpoint's
   * sequence (`fork`), the log's last line (`truncated`), its first line
   * (`swapped_log`), or the checkpoint itself (`bad_checkpoint`); `checkpoint`
   * is the checkpoint line that shows it.
   */
  failure?: { sequence: number; reason: VerifyFailureReason; message: string; file: string; line: number; checkpoint?: { file: string; line: number } };
  /** The checkpoints the chain was held against, when any were given or found. */
  checkpoints?: {
    files: string[];
    /** Of `files`, those picked up next to the chain (not given). */
    found: string[];
    /** Checkpoints checked. */
    count: number;
    tornLines: number;
  };
  /** Fingerprints of the keys that signed the chain, in order (more than one after a rotation). */
  signers?: string[];
  /** A last line without newline still at the end of the chain (a crash not yet recovered). */
  tornTail?: { file: string; line: number; offset: number; bytes: number };
  /** Torn tails set aside on resume. */
  tornSidecars: { path: string; bytes: number }[];
}

/** Verification of every chain under a path. */
export interface LogVerification {
  ok: boolean;
  chains: ChainFileVerification[];
  /**
   * Checkpoints whose chain is not in the log: a checkpoint file with no log
   * file of its chain (`truncated`: the log is gone), or checkpoints naming a
   * chain id that no log here has (`swapped_log`). Each makes `ok` false.
   */
  orphanCheckpoints?: OrphanCheckpoints[];
}

/** Progress of {@link verifyDecisionLog}: bytes read of all chains' files. */
export type VerifyProgress = (bytesRead: number, totalBytes: number) => void;

/** Options of {@link verifyDecisionLog}. */
export interface VerifyLogOptions {
  onProgress?: VerifyProgress;
  /**
   * Keys the auditor trusts besides the public key (see `VerifyOptions.trustedKeys`):
   * a chain may start with any of them, and they may vouch for checkpoints.
   */
  trustedKeys?: Uint8Array[];
  /**
   * Checkpoint files or directories to hold the chains against, besides each
   * chain's own `<chainId>.checkpoints.jsonl` (see {@link gatherCheckpoints}).
   */
  checkpoints?: string[];
  /** Pick up each chain's `<chainId>.checkpoints.jsonl` next to its files (default true). */
  findCheckpoints?: boolean;
  /**
   * Verify Ed25519 signatures on the libuv threadpool while this thread reads,
   * parses, links and hashes (default: when the machine has more than one
   * core). Same verdict; ~1.8× the entries per second with a free second core,
   * a few % more CPU per entry (bench/verify.mjs measures both).
   */
  parallelSignatures?: boolean;
}

/**
 * Verifies every chain under `path` (a log directory or one file) with the
 * signer's public key, streaming line by line so memory stays flat whatever
 * the log's size (checkpoints, one per thousand entries or so, are held in
 * memory). Stops reading a chain at its first bad entry. With checkpoints
 * (found next to the chains, or given), also reports a cut-off tail
 * (`truncated`), a rewritten history (`fork`) and a log swapped for another
 * chain (`swapped_log`). `publicKey` may be null when `trustedKeys` are given.
 */
export async function verifyDecisionLog(path: string, publicKey: Uint8Array | null, options: VerifyLogOptions = {}): Promise<LogVerification> {
  const chains = await listChains(path);
  const gathered = await gatherCheckpoints(path, chains, { explicit: options.checkpoints ?? [], find: options.findCheckpoints ?? true });
  const total = chains.reduce((n, c) => n + c.bytes, 0);
  let read = 0;
  const onBytes = options.onProgress ? (n: number) => options.onProgress!((read += n), total) : undefined;
  const results: ChainFileVerification[] = [];
  for (const chain of chains) {
    const checkpoints = gathered.byChain.get(chain.chainId);
    results.push(
      await verifyChainSource(chain, publicKey, onBytes, {
        ...(options.trustedKeys?.length ? { trustedKeys: options.trustedKeys } : {}),
        ...(checkpoints ? { checkpoints } : {}),
        pool: gathered.pool,
        parallelSignatures: options.parallelSignatures ?? availableParallelism() > 1,
      }),
    );
  }
  const orphans = [...gathered.orphans, ...poolOrphans(gathered.pool)];
  return { ok: results.every((r) => r.ok) && orphans.length === 0, chains: results, ...(orphans.length ? { orphanCheckpoints: orphans } : {}) };
}

/** What else {@link verifyChainSource} checks a chain against. */
export interface ChainSourceVerifyOptions {
  trustedKeys?: Uint8Array[];
  /** Checkpoints bound to this chain. */
  checkpoints?: ChainCheckpoints;
  /** Unbound checkpoints: this chain takes those of its chain id (its sequence-0 entry hash). */
  pool?: CheckpointPool;
  /** See {@link VerifyLogOptions.parallelSignatures} (default false here). */
  parallelSignatures?: boolean;
  /** The chain's records from another source than its files (e.g. OTLP log records), in sequence order. */
  records?: AsyncIterable<LogRecord>;
}

/** Verifies one chain found by `listChains`. */
export async function verifyChainSource(
  chain: ChainSource,
  publicKey: Uint8Array | null,
  onBytes?: (n: number) => void,
  options: ChainSourceVerifyOptions = {},
): Promise<ChainFileVerification> {
  let records: CheckpointRecord[] = options.checkpoints?.records ?? [];
  const cpFiles = [...(options.checkpoints?.files ?? [])];
  let verifier: PipelinedChainVerifier<{ file: string; line: number }> | null = null;
  const window = options.parallelSignatures ? 128 : 0;
  let checked = new Set<number>();
  /** Where the checkpointed entries are, and what hash they have. */
  const at = new Map<number, { file: string; line: number; entryHash: string }>();
  let first: { file: string; line: number } | null = null;
  let last: { file: string; line: number } | null = null;
  let genesisHash: string | null = null;
  const start = (entry: DecisionLogEntry | null) => {
    if (entry && entry.sequence === 0 && typeof entry.entryHash === 'string') {
      genesisHash = entry.entryHash;
      const taken = options.pool?.take(entry.entryHash) ?? [];
      if (taken.length > 0) {
        records = [...records, ...taken];
        for (const f of options.pool!.files) if (taken.some((r) => r.file === f) && !cpFiles.includes(f)) cpFiles.push(f);
      }
    }
    const withOptions = records.length > 0 || (options.trustedKeys?.length ?? 0) > 0;
    checked = new Set(records.map((r) => (r.checkpoint as { sequence?: unknown } | null)?.sequence).filter((s): s is number => Number.isSafeInteger(s)));
    return withOptions
      ? new PipelinedChainVerifier<{ file: string; line: number }>(publicKey, {
          window,
          checkpoints: records.map((r) => r.checkpoint as Checkpoint),
          ...(options.trustedKeys ? { trustedKeys: options.trustedKeys } : {}),
        })
      : new PipelinedChainVerifier<{ file: string; line: number }>(publicKey, { window });
  };
  const result: ChainFileVerification = {
    chainId: chain.chainId,
    files: chain.files.map((f) => f.path),
    bytes: chain.bytes,
    ok: true,
    entries: 0,
    tornSidecars: chain.tornSidecars,
  };
  let torn: ChainFileVerification['tornTail'];
  const fail = async (reason: VerifyFailureReason, message: string, file: string, line: number) => {
    // A signature still in flight for an earlier entry wins (it is the first bad entry).
    const earliest = verifier ? await verifier.fail(reason, message, { file, line }) : null;
    result.ok = false;
    result.failure = earliest?.where
      ? { sequence: earliest.sequence, reason: earliest.reason, message: earliest.message, file: earliest.where.file, line: earliest.where.line }
      : { sequence: verifier?.count ?? 0, reason, message, file, line };
  };
  for await (const r of options.records ?? readChain(chain, onBytes)) {
    if (torn) {
      await fail('malformed_entry', `torn line at ${torn.file}:${torn.line} is followed by more lines`, torn.file, torn.line);
      torn = undefined;
      break;
    }
    if (r.kind === 'torn') {
      torn = { file: r.file, line: r.line, offset: r.offset, bytes: r.bytes };
      continue;
    }
    if (r.kind === 'invalid') {
      const stated = r.sequence !== undefined ? ` (the line states sequence ${r.sequence})` : '';
      await fail(reasonOf(r.code), `${r.error}${stated}`, r.file, r.line);
      break;
    }
    verifier ??= start(r.entry);
    const failure = await verifier.push(r.entry, { file: r.file, line: r.line });
    if (failure) {
      result.ok = false;
      const where = failure.where ?? { file: r.file, line: r.line };
      result.failure = { sequence: failure.sequence, reason: failure.reason, message: failure.message, file: where.file, line: where.line };
      pruneAfter(at, failure.sequence);
      describeCheckpointFailure(result, failure, records, { genesisHash, count: verifier.count, at });
      break;
    }
    last = { file: r.file, line: r.line };
    first ??= last;
    if (checked.has(r.entry.sequence)) at.set(r.entry.sequence, { ...last, entryHash: r.entry.entryHash });
  }
  verifier ??= start(null);
  if (result.ok) {
    const end = await verifier.finish();
    if (!end.ok) {
      result.ok = false;
      // A bad signature found at the end carries its own place; checkpoint failures are placed here.
      pruneAfter(at, end.reason === 'bad_signature' ? end.sequence : Infinity);
      const located = 'where' in end ? end.where : undefined;
      // Read one thread at a time, the chain would have stopped at that entry, before any torn tail.
      if (located) torn = undefined;
      const where = located ?? (end.reason === 'fork' ? at.get(end.sequence) : end.reason === 'swapped_log' ? first : last);
      result.failure = {
        sequence: end.sequence,
        reason: end.reason,
        message: end.message,
        file: where?.file ?? chain.files[0]?.path ?? '',
        line: where?.line ?? 0,
      };
      describeCheckpointFailure(result, end, records, { genesisHash, count: verifier.count, at });
    } else if (end.signers) {
      result.signers = end.signers;
    }
  }
  if (result.ok && verifier.count === 0) {
    // Nothing here was signed: "ok, 0 entries" would vouch for files an auditor cannot trust.
    result.ok = false;
    const what = chain.bytes === 0 ? 'empty' : torn ? `only a torn line (${torn.bytes} bytes, no newline)` : 'no entry';
    result.failure = {
      sequence: 0,
      reason: 'no_entries',
      message: `no valid entry in ${chain.files.length} file${chain.files.length === 1 ? '' : 's'} (${chain.bytes} bytes): ${what}`,
      file: chain.files[0]?.path ?? '',
      line: chain.bytes === 0 ? 0 : 1,
    };
  }
  result.entries = verifier.count;
  if (records.length > 0 || cpFiles.length > 0)
    result.checkpoints = { files: cpFiles, found: options.checkpoints?.found ?? [], count: records.length, tornLines: options.checkpoints?.tornLines ?? 0 };
  if (torn) result.tornTail = torn;
  return result;
}

/** The verification reason for a line the reader rejected: what it carries beyond the signed entry has its own name. */
function reasonOf(code: LogLineErrorCode): VerifyFailureReason {
  return code === 'duplicate_key' || code === 'unknown_field' || code === 'non_canonical' ? code : 'malformed_entry';
}

/** Forgets checkpointed positions at or after `sequence` (past a bad entry found late, nothing counts). */
function pruneAfter(at: Map<number, unknown>, sequence: number): void {
  for (const s of at.keys()) if (s >= sequence) at.delete(s);
}

/** Adds the checkpoint line behind a checkpoint failure (a bad checkpoint is located by its own line). */
function describeCheckpointFailure(
  result: ChainFileVerification,
  failure: ChainVerificationFailure,
  records: readonly CheckpointRecord[],
  chain: { genesisHash: string | null; count: number; at: Map<number, { entryHash: string }> },
): void {
  if (!['bad_checkpoint', 'swapped_log', 'truncated', 'fork'].includes(failure.reason) || !result.failure) return;
  const r = locateCheckpoint(failure, records, { genesisHash: chain.genesisHash, count: chain.count, entryHashAt: (s) => chain.at.get(s)?.entryHash });
  if (!r) return;
  result.failure.checkpoint = { file: r.file, line: r.line };
  if (failure.reason === 'bad_checkpoint') {
    result.failure.file = r.file;
    result.failure.line = r.line;
  }
}
