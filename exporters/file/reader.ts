import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { DecisionLogEntry } from '../../src/audit/chain.js';
import type { LogLineError, LogLineErrorCode } from '../../src/audit/errors.js';
import { MAX_LOG_LINE_LENGTH, parseLogLine } from '../../src/audit/log-line.js';
import { readLines } from './lines.js';
import { CHECKPOINT_FILE_SUFFIX } from './checkpoints.js';
import { parseChainFileName } from './naming.js';

/** One chain found on disk: its files in order, and any torn tails set aside. */
export interface ChainSource {
  /** The chain id, or the file name for a `.jsonl` file not named like a chain file. */
  chainId: string;
  files: { path: string; bytes: number }[];
  /** `.torn` sidecars of this chain's files (torn last lines set aside on resume). */
  tornSidecars: { path: string; bytes: number }[];
  /** Total size of `files`. */
  bytes: number;
  /** The chain's checkpoint file (`<chainId>.checkpoints.jsonl`) when there is one next to its files. */
  checkpointFile?: { path: string; bytes: number };
}

/** One record read back from a chain's files. */
export type LogRecord =
  | { kind: 'entry'; entry: DecisionLogEntry; file: string; line: number }
  /**
   * A line that is not a well-formed entry (see `parseLogLine`): `code` says
   * why, `error` in words; `sequence` is the line's own, when it states one.
   */
  | { kind: 'invalid'; code: LogLineErrorCode; error: string; file: string; line: number; sequence?: number }
  /** A last line without its newline: a write torn by a crash, not yet set aside. */
  | { kind: 'torn'; file: string; line: number; offset: number; bytes: number };

/**
 * The chains in a log directory (each chain's rotated files in part order;
 * other `*.jsonl` files as chains of their own), or the one chain of a file.
 * Checkpoint files (`*.checkpoints.jsonl`) are not chains: each is attached to
 * its chain as `checkpointFile`.
 * Throws a one-line error naming the path when it does not exist.
 */
export async function listChains(path: string): Promise<ChainSource[]> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${path}: no such file or directory` : `${path}: ${(err as Error).message}`);
  }
  const dir = info.isDirectory() ? path : dirname(path);
  const names = info.isDirectory() ? await readdir(path) : [basename(path)];
  const siblings = info.isDirectory() ? names : await readdir(dir);
  const chains = new Map<string, { chain: ChainSource; parts: Map<string, number> }>();
  const owner = new Map<string, ChainSource>();
  for (const name of names.sort()) {
    if (!name.endsWith('.jsonl') || name.endsWith(CHECKPOINT_FILE_SUFFIX)) continue;
    const full = join(dir, name);
    const s = await stat(full);
    if (!s.isFile()) continue;
    const parsed = parseChainFileName(name);
    const id = parsed?.chainId ?? name;
    let c = chains.get(id);
    if (!c) {
      c = { chain: { chainId: id, files: [], tornSidecars: [], bytes: 0 }, parts: new Map() };
      chains.set(id, c);
    }
    c.chain.files.push({ path: full, bytes: s.size });
    c.parts.set(full, parsed?.part ?? 0);
    c.chain.bytes += s.size;
    owner.set(name, c.chain);
  }
  for (const name of siblings.sort()) {
    const m = /^(.+\.jsonl)\.torn(?:\.\d+)?$/.exec(name);
    const chain = m ? owner.get(m[1]!) : undefined;
    if (chain) chain.tornSidecars.push({ path: join(dir, name), bytes: (await stat(join(dir, name))).size });
    const cpOf = name.endsWith(CHECKPOINT_FILE_SUFFIX) ? chains.get(name.slice(0, -CHECKPOINT_FILE_SUFFIX.length)) : undefined;
    if (cpOf && parseChainFileName(cpOf.chain.files[0] ? basename(cpOf.chain.files[0].path) : '')) {
      const s = await stat(join(dir, name));
      if (s.isFile()) cpOf.chain.checkpointFile = { path: join(dir, name), bytes: s.size };
    }
  }
  return [...chains.values()].map(({ chain, parts }) => {
    chain.files.sort((a, b) => parts.get(a.path)! - parts.get(b.path)!);
    return chain;
  });
}

/**
 * Streams a chain's records in order across its rotated files, line by line,
 * in flat memory and linear time. Every line goes through the one strict
 * reader, `parseLogLine` (duplicate keys, unsigned fields, non-canonical
 * numbers are `invalid`); a line longer than {@link MAX_LOG_LINE_LENGTH} is
 * `invalid` as soon as it crosses the limit, without being held in memory.
 * `onBytes` is told how many bytes were read, for progress.
 */
export async function* readChain(chain: ChainSource, onBytes?: (n: number) => void): AsyncGenerator<LogRecord> {
  for (const { path } of chain.files) {
    for await (const l of readLines(path, onBytes, { maxLineBytes: MAX_LOG_LINE_LENGTH })) {
      if (l.tooLong) {
        // A torn write is a prefix of a line the writer made, and no line it makes is this long.
        yield { kind: 'invalid', code: 'line_too_long', error: `line longer than ${MAX_LOG_LINE_LENGTH} bytes (skipped unread)`, file: path, line: l.line };
        continue;
      }
      if (!l.terminated) {
        yield { kind: 'torn', file: path, line: l.line, offset: l.offset, bytes: l.bytes.length };
        continue;
      }
      try {
        yield { kind: 'entry', entry: parseLogLine(l.bytes), file: path, line: l.line };
      } catch (err) {
        const e = err as LogLineError;
        const sequence = statedSequence(l.bytes);
        yield {
          kind: 'invalid',
          code: e.code,
          error: e.message.replace(/^log line: /, ''),
          file: path,
          line: l.line,
          ...(sequence !== undefined ? { sequence } : {}),
        };
      }
    }
  }
}

/** The `"sequence":N` a line that is not a valid entry states, for messages (the first one, if several). */
function statedSequence(bytes: Buffer): number | undefined {
  const m = /"sequence"\s*:\s*(\d{1,15})\b/.exec(bytes.subarray(0, 4096).toString('latin1'));
  return m ? Number(m[1]) : undefined;
}

/**
 * The entries of one chain in order, for `ChainVerifier` (or `verifyChain`
 * after collecting them). A torn last line is skipped; a line that is not a
 * well-formed entry throws an error naming its file, line and why.
 */
export async function* chainEntries(chain: ChainSource): AsyncGenerator<DecisionLogEntry> {
  for await (const r of readChain(chain)) {
    if (r.kind === 'entry') yield r.entry;
    else if (r.kind === 'invalid') throw new Error(`${r.file}:${r.line}: ${r.error}`);
  }
}

/**
 * Reads a log directory (or one file) back: each chain with an async iterator
 * over its entries in order across rotated files.
 */
export async function* readDecisionLog(path: string): AsyncGenerator<{ chain: ChainSource; entries: AsyncGenerator<DecisionLogEntry> }> {
  for (const chain of await listChains(path)) yield { chain, entries: chainEntries(chain) };
}
