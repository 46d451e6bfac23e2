import { availableParallelism } from 'node:os';
import type { DecisionLogEntry } from '../../src/audit/chain.js';
import { LogLineError } from '../../src/audit/errors.js';
import { parseLogLine } from '../../src/audit/log-line.js';
import { CheckpointPool, poolOrphans, readCheckpointFile, type CheckpointRecord } from '../file/checkpoints.js';
import type { ChainSource, LogRecord } from '../file/reader.js';
import { verifyChainSource, type ChainFileVerification, type LogVerification, type VerifyLogOptions } from '../file/verify-log.js';
import { decisionRecordsOf } from './otlp-json.js';
import { listOtlpLogFiles, readOtlpLines } from './otlp-files.js';

/** Where a record was read: the OTLP file and its line (one export request per line). */
interface Located {
  body: string | null;
  file: string;
  line: number;
  /** The `agentguard.decision.sequence` attribute. */
  attrSequence: number | null;
}

/** One chain's entry records as collected from OTLP files, keyed by sequence. */
export interface OtlpChain {
  source: ChainSource;
  /** By sequence (from the signed body, else the attribute): the distinct records that claim it. */
  bySequence: Map<number, Located[]>;
  /** Identical copies dropped (a pipeline's retries deliver a record more than once). */
  duplicates: number;
}

/** What {@link readOtlpDecisionLog} collected. */
export interface OtlpDecisionLog {
  files: { path: string; bytes: number }[];
  chains: OtlpChain[];
  /** Checkpoint records (matched to chains by their `chainId`, the sequence-0 entry hash). */
  checkpoints: CheckpointRecord[];
  /** Unterminated last lines skipped (a write cut short). */
  tornLines: { file: string; line: number }[];
  /** Identical copies of records dropped, entries and checkpoints (a pipeline's retries). */
  duplicates: number;
}

/** Sequence for a record whose body and attribute name none: after every real entry. */
const UNPLACED = Number.MAX_SAFE_INTEGER;

/**
 * Collects the decision-log records from OTLP JSON log files (as the
 * Collector's file exporter writes them, one export request per line, gzip or
 * not, or zstd frames): grouped by `agentguard.chain.id`, keyed by sequence, in any order they
 * were stored. Other log records are ignored. Entries are held in memory
 * (the order has to come from the sequence numbers).
 * @throws naming the file and line of a line that is not OTLP JSON.
 */
export async function readOtlpDecisionLog(path: string): Promise<OtlpDecisionLog> {
  const files = await listOtlpLogFiles(path);
  const chains = new Map<string, OtlpChain>();
  const checkpoints: CheckpointRecord[] = [];
  const tornLines: { file: string; line: number }[] = [];
  const checkpointBodies = new Set<string>();
  let duplicateCheckpoints = 0;
  for (const f of files) {
    for await (const l of readOtlpLines(f.path)) {
      if (l.text.trim() === '') {
        if (!l.terminated) tornLines.push({ file: f.path, line: l.line });
        continue;
      }
      let doc: unknown;
      try {
        doc = JSON.parse(l.text);
      } catch (err) {
        if (!l.terminated) {
          tornLines.push({ file: f.path, line: l.line });
          continue;
        }
        throw new Error(`${f.path}:${l.line}: not JSON (${(err as Error).message})`, { cause: err });
      }
      let records;
      try {
        records = decisionRecordsOf(doc);
      } catch (err) {
        throw new Error(`${f.path}:${l.line}: ${(err as Error).message}`, { cause: err });
      }
      for (const r of records) {
        if (r.kind === 'checkpoint') {
          const key = `${r.chainId}\n${r.body}`;
          if (checkpointBodies.has(key)) duplicateCheckpoints++;
          else {
            checkpointBodies.add(key);
            checkpoints.push({ checkpoint: parseOr(r.body), file: f.path, line: l.line });
          }
          continue;
        }
        let c = chains.get(r.chainId);
        if (!c) chains.set(r.chainId, (c = { source: { chainId: r.chainId, files: [], tornSidecars: [], bytes: 0 }, bySequence: new Map(), duplicates: 0 }));
        if (!c.source.files.some((x) => x.path === f.path)) {
          c.source.files.push(f);
          c.source.bytes += f.bytes;
        }
        const seq = bodySequence(r.body) ?? r.sequence ?? UNPLACED;
        const claims = c.bySequence.get(seq) ?? [];
        if (claims.some((x) => x.body === r.body && x.attrSequence === r.sequence)) c.duplicates++;
        else claims.push({ body: r.body, file: f.path, line: l.line, attrSequence: r.sequence });
        c.bySequence.set(seq, claims);
      }
    }
  }
  const all = [...chains.values()];
  return { files, chains: all, checkpoints, tornLines, duplicates: duplicateCheckpoints + all.reduce((n, c) => n + c.duplicates, 0) };
}

/**
 * One chain's records in sequence order, as the file verifier reads them. A
 * sequence claimed by two different records, a body that is not a JSON
 * object, and a body whose sequence differs from its record's attribute are
 * `invalid` (a malformed entry at that place); a missing sequence is simply
 * absent (the verifier reports the gap).
 */
export async function* otlpChainRecords(chain: OtlpChain): AsyncGenerator<LogRecord> {
  for (const seq of [...chain.bySequence.keys()].sort((a, b) => a - b)) {
    const claims = chain.bySequence.get(seq)!;
    const first = claims[0]!;
    if (claims.length > 1) {
      const where = claims.map((c) => `${c.file}:${c.line}`).join(', ');
      yield {
        kind: 'invalid',
        code: 'bad_field',
        error: `${claims.length} different records claim sequence ${seq} (${where})`,
        file: first.file,
        line: first.line,
      };
      return;
    }
    if (first.body === null) {
      yield { kind: 'invalid', code: 'not_an_object', error: 'record body is not a string', file: first.file, line: first.line };
      return;
    }
    // The body is read by the same strict reader as a JSONL line: every byte a reader can see was signed.
    let value: DecisionLogEntry;
    try {
      value = parseLogLine(first.body);
    } catch (err) {
      if (!(err instanceof LogLineError)) throw err;
      yield { kind: 'invalid', code: err.code, error: err.message, file: first.file, line: first.line };
      return;
    }
    const bodySeq = value.sequence;
    if (first.attrSequence !== null && bodySeq !== first.attrSequence) {
      yield {
        kind: 'invalid',
        code: 'bad_field',
        error: `record attribute says sequence ${first.attrSequence}, its signed body says ${JSON.stringify(bodySeq)}`,
        file: first.file,
        line: first.line,
      };
      return;
    }
    yield { kind: 'entry', entry: value, file: first.file, line: first.line };
  }
}

/** Options of {@link verifyOtlpLog} (those of the JSONL verifier; `findCheckpoints` does not apply). */
export type VerifyOtlpOptions = Omit<VerifyLogOptions, 'findCheckpoints' | 'onProgress'>;

/**
 * Verifies the decision log as an OpenTelemetry pipeline stored it: every
 * chain found in the OTLP JSON log files at `path` (a file, or a directory of
 * them; gzip or not), each ordered by sequence whatever order the records
 * were stored in, held against the checkpoint records found with them and
 * any checkpoint files given. Same result shape as `verifyDecisionLog`; a
 * failure's `file`/`line` are the OTLP file and line holding the record.
 * `chainId` is the `agentguard.chain.id` attribute.
 */
export async function verifyOtlpLog(
  path: string,
  publicKey: Uint8Array | null,
  options: VerifyOtlpOptions = {},
): Promise<LogVerification & { otlp: { files: string[]; duplicates: number; tornLines: number } }> {
  const log = await readOtlpDecisionLog(path);
  const pool = new CheckpointPool();
  if (log.checkpoints.length > 0) {
    pool.add(log.checkpoints);
    for (const f of new Set(log.checkpoints.map((c) => c.file))) pool.files.push(f);
  }
  for (const p of options.checkpoints ?? []) {
    let read;
    try {
      read = await readCheckpointFile(p);
    } catch (err) {
      throw new Error(`${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`, { cause: err });
    }
    pool.add(read.records);
    pool.files.push(p);
    pool.tornLines += read.torn;
  }
  const results: ChainFileVerification[] = [];
  for (const chain of log.chains) {
    results.push(
      await verifyChainSource(chain.source, publicKey, undefined, {
        ...(options.trustedKeys?.length ? { trustedKeys: options.trustedKeys } : {}),
        pool,
        parallelSignatures: options.parallelSignatures ?? availableParallelism() > 1,
        records: otlpChainRecords(chain),
      }),
    );
  }
  const orphans = poolOrphans(pool);
  return {
    ok: results.every((r) => r.ok) && orphans.length === 0,
    chains: results,
    ...(orphans.length ? { orphanCheckpoints: orphans } : {}),
    otlp: { files: log.files.map((f) => f.path), duplicates: log.duplicates, tornLines: log.tornLines.length },
  };
}

function parseOr(body: string | null): unknown {
  if (body === null) return null;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

function bodySequence(body: string | null): number | null {
  if (body === null) return null;
  const m = /^\{"sequence":(\d+),/.exec(body);
  if (m) return Number(m[1]);
  const v = parseOr(body) as { sequence?: unknown } | null;
  return v && typeof v === 'object' && Number.isSafeInteger(v.sequence) && (v.sequence as number) >= 0 ? (v.sequence as number) : null;
}
