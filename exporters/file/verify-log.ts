import { availableParallelism } from 'node:os';
import { PipelinedChainVerifier, type LocatedFailure, type VerifyFailureReason } from '../../src/verify.js';
import { listChains, readChain, type ChainSource } from './reader.js';

/** Verification of one chain on disk. */
export interface ChainFileVerification {
  chainId: string;
  files: string[];
  bytes: number;
  /** True when every entry verified (a torn last line alone does not fail a chain). */
  ok: boolean;
  /** Entries verified intact (up to the first bad one). */
  entries: number;
  /** The first bad entry: its sequence (the one expected there), why, and where. */
  failure?: { sequence: number; reason: VerifyFailureReason; message: string; file: string; line: number };
  /** A last line without newline still at the end of the chain (a crash not yet recovered). */
  tornTail?: { file: string; line: number; offset: number; bytes: number };
  /** Torn tails set aside on resume. */
  tornSidecars: { path: string; bytes: number }[];
}

/** Verification of every chain under a path. */
export interface LogVerification {
  ok: boolean;
  chains: ChainFileVerification[];
}

/** Progress of {@link verifyDecisionLog}: bytes read of all chains' files. */
export type VerifyProgress = (bytesRead: number, totalBytes: number) => void;

/**
 * Verifies every chain under `path` (a log directory or one file) with the
 * signer's public key, streaming line by line so memory stays flat whatever
 * the log's size. Stops reading a chain at its first bad entry.
 */
export async function verifyDecisionLog(path: string, publicKey: Uint8Array, options: { onProgress?: VerifyProgress; parallelSignatures?: boolean } = {}): Promise<LogVerification> {
  const chains = await listChains(path);
  const total = chains.reduce((n, c) => n + c.bytes, 0);
  let read = 0;
  const onBytes = options.onProgress ? (n: number) => options.onProgress!((read += n), total) : undefined;
  const results: ChainFileVerification[] = [];
  for (const chain of chains) results.push(await verifyChainSource(chain, publicKey, onBytes, { parallelSignatures: options.parallelSignatures ?? availableParallelism() > 1 }));
  return { ok: results.every((r) => r.ok), chains: results };
}

/**
 * Verifies one chain found by `listChains`, streaming. The Ed25519 signatures
 * bound the speed. `parallelSignatures`: verify them on the libuv threadpool
 * while this thread reads, parses and hashes (see `PipelinedChainVerifier`);
 * it costs 3-5% more CPU per entry and pays only when another core is free
 * (bench/verify.mjs measures both). `verifyDecisionLog` (the CLI) turns it on
 * when the machine has more than one core; off here unless asked.
 */
export async function verifyChainSource(
  chain: ChainSource,
  publicKey: Uint8Array,
  onBytes?: (n: number) => void,
  options: { parallelSignatures?: boolean } = {},
): Promise<ChainFileVerification> {
  const parallel = options.parallelSignatures === true && availableParallelism() > 1;
  const verifier = new PipelinedChainVerifier<{ file: string; line: number }>(publicKey, { window: parallel ? 128 : 0 });
  const result: ChainFileVerification = {
    chainId: chain.chainId,
    files: chain.files.map((f) => f.path),
    bytes: chain.bytes,
    ok: true,
    entries: 0,
    tornSidecars: chain.tornSidecars,
  };
  let torn: ChainFileVerification['tornTail'];
  let failure: LocatedFailure<{ file: string; line: number }> | null = null;
  for await (const r of readChain(chain, onBytes)) {
    if (torn) {
      failure = await verifier.fail('malformed_entry', `torn line at ${torn.file}:${torn.line} is followed by more lines`, { file: torn.file, line: torn.line });
      torn = undefined;
      break;
    }
    if (r.kind === 'torn') {
      torn = { file: r.file, line: r.line, offset: r.offset, bytes: r.bytes };
      continue;
    }
    if (r.kind === 'invalid') {
      failure = await verifier.fail('malformed_entry', r.error, { file: r.file, line: r.line });
      break;
    }
    failure = await verifier.push(r.entry, { file: r.file, line: r.line });
    if (failure) break;
  }
  if (!failure) {
    const verdict = await verifier.finish();
    if (!verdict.ok) failure = verdict;
  }
  if (failure) {
    const where = failure.where ?? { file: chain.files.at(-1)?.path ?? chain.chainId, line: 0 };
    result.ok = false;
    result.failure = { sequence: failure.sequence, reason: failure.reason, message: failure.message, file: where.file, line: where.line };
    // A signature failure found late: a torn tail after it is not the news.
    if (torn && failure.reason === 'bad_signature') torn = undefined;
  }
  result.entries = verifier.count;
  if (torn) result.tornTail = torn;
  return result;
}
