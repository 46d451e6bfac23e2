import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { computeEntryHash, type ChainHead, type DecisionLogEntry } from '../../src/audit/chain.js';
import { isSignerChange } from '../../src/audit/rotation.js';
import { parseChainFileName } from './naming.js';

/** Something the log found and dealt with that an operator should know about. */
export interface DecisionLogWarning {
  /** `torn_tail`: bytes after the last intact entry were moved to a sidecar file. */
  code: 'torn_tail';
  /** The chain file the bytes were cut from. */
  file: string;
  /** Where they are now (`<file>.torn`, or `<file>.torn.<n>` if that exists). */
  sidecar: string;
  /** Byte offset in `file` where the set-aside bytes started (the file's new length). */
  offset: number;
  /** How many bytes were set aside. */
  bytes: number;
  /** One-line description, for logs. */
  message: string;
}

/** What opening an existing chain found. */
export interface ChainRecovery {
  /** The last intact entry, where the chain resumes; null for a chain with no intact entry. */
  head: ChainHead | null;
  /** Existing files of the chain, in part order. */
  files: string[];
  /**
   * Fingerprint of the key that must sign the next entry: the head entry's
   * signer, or the key a `signer_change` head hands over to; null for a chain
   * with no intact entry.
   */
  signer: string | null;
  /** Highest part number in use (0 when the chain has no file yet). */
  lastPart: number;
  /** Torn tails set aside while opening. */
  warnings: DecisionLogWarning[];
}

/** The most non-intact tail bytes recovery will set aside before refusing to resume. */
const MAX_TAIL_SCAN = 16 << 20;

/**
 * True when `value` is a stored entry whose `entryHash` recomputes from its
 * body: a line that was written whole. (Signatures are the verifier's job; no
 * key is needed to recover.)
 */
export function isIntactEntry(value: unknown): value is DecisionLogEntry {
  if (!value || typeof value !== 'object') return false;
  const e = value as DecisionLogEntry;
  if (!Number.isSafeInteger(e.sequence) || e.sequence < 0 || typeof e.entryHash !== 'string' || typeof e.previousHash !== 'string') return false;
  if (typeof e.signerFingerprint !== 'string' || typeof e.signature !== 'string' || !e.decision || typeof e.decision !== 'object') return false;
  try {
    return computeEntryHash(e) === e.entryHash;
  } catch {
    return false;
  }
}

function parseIntact(bytes: Buffer): DecisionLogEntry | null {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return isIntactEntry(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * Finds the last intact entry of a file by reading backwards from its end:
 * returns it and the byte offset just past its newline. Everything after that
 * offset is a torn or corrupt tail.
 */
export async function scanTail(path: string): Promise<{ intactEnd: number; last: DecisionLogEntry | null; size: number }> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    let window = Math.min(size, 64 * 1024);
    for (;;) {
      const start = size - window;
      const buf = Buffer.alloc(window);
      await fh.read(buf, 0, window, start);
      // Line ends (newline positions) in the window, last first.
      let end = buf.lastIndexOf(0x0a);
      while (end !== -1) {
        const prev = end === 0 ? -1 : buf.lastIndexOf(0x0a, end - 1);
        if (prev === -1 && start > 0) break; // this line starts before the window
        const last = parseIntact(buf.subarray(prev + 1, end));
        if (last) return { intactEnd: start + end + 1, last, size };
        end = prev;
      }
      if (start === 0) return { intactEnd: 0, last: null, size };
      if (window >= MAX_TAIL_SCAN) {
        throw new Error(`${path}: no intact entry in the last ${window} bytes; refusing to resume this chain (set the file aside or start a new chain)`);
      }
      window = Math.min(size, window * 4);
    }
  } finally {
    await fh.close();
  }
}

/** A sidecar name next to `file` that does not exist yet. */
async function freeSidecar(file: string): Promise<string> {
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? `${file}.torn` : `${file}.torn.${n}`;
    try {
      await stat(candidate);
    } catch {
      return candidate;
    }
  }
}

/**
 * Moves the bytes of `file` from `offset` to its end into a sidecar file, made
 * durable (fsync) before `file` is truncated, so a crash in between loses nothing.
 */
export async function setAsideTail(file: string, offset: number): Promise<DecisionLogWarning> {
  const fh = await open(file, 'r+');
  try {
    const { size } = await fh.stat();
    const bytes = size - offset;
    const buf = Buffer.alloc(bytes);
    await fh.read(buf, 0, bytes, offset);
    const sidecar = await freeSidecar(file);
    const side = await open(sidecar, 'wx', 0o600);
    try {
      await side.writeFile(buf);
      await side.sync();
    } finally {
      await side.close();
    }
    await fh.truncate(offset);
    await fh.sync();
    return {
      code: 'torn_tail',
      file,
      sidecar,
      offset,
      bytes,
      message: `decision log: torn last line (${bytes} bytes at offset ${offset}) of ${file} set aside in ${sidecar}; chain resumes from the last intact entry`,
    };
  } finally {
    await fh.close();
  }
}

/** Files of `chainId` in `dir`, in part order. */
export async function chainFiles(dir: string, chainId: string): Promise<{ path: string; part: number; day: string }[]> {
  const names = await readdir(dir);
  const files: { path: string; part: number; day: string }[] = [];
  for (const name of names) {
    const parsed = parseChainFileName(name);
    if (parsed && parsed.chainId === chainId) files.push({ path: join(dir, name), part: parsed.part, day: parsed.day });
  }
  return files.sort((a, b) => a.part - b.part);
}

/**
 * Opens an existing chain for appending: finds the last intact entry, walking
 * back from the last file, and sets aside (never drops) any torn tail after it.
 */
export async function recoverChain(dir: string, chainId: string): Promise<ChainRecovery> {
  const files = await chainFiles(dir, chainId);
  const warnings: DecisionLogWarning[] = [];
  let head: ChainHead | null = null;
  let signer: string | null = null;
  for (let i = files.length - 1; i >= 0 && !head; i--) {
    const file = files[i]!.path;
    const { intactEnd, last, size } = await scanTail(file);
    if (intactEnd < size) warnings.push(await setAsideTail(file, intactEnd));
    if (last) {
      head = { sequence: last.sequence, entryHash: last.entryHash };
      signer = nextSigner(last);
    }
  }
  return { head, signer, files: files.map((f) => f.path), lastPart: files.at(-1)?.part ?? 0, warnings };
}

/** The key that signs the entry after `last`. */
function nextSigner(last: DecisionLogEntry): string {
  const next = (last.decision as { newSignerFingerprint?: unknown }).newSignerFingerprint;
  return isSignerChange(last.decision) && typeof next === 'string' ? next : last.signerFingerprint;
}
