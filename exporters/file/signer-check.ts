import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { signerFingerprint } from '../../src/audit/keys.js';
import { MAX_LOG_LINE_LENGTH } from '../../src/audit/log-line.js';
import { isSignerChange } from '../../src/audit/rotation.js';
import { ChainSignerMismatchError } from './chain-file.js';
import { parseChainFileName } from './naming.js';
import { isIntactEntry } from './recovery.js';

/** Who must sign a chain's next entry, as its files say. */
export interface ChainSigner {
  /** Fingerprint of the key that signs the next entry (the head's, or the one a signer_change head hands over to). */
  signer: string;
  /** Sequence of the chain's last intact entry. */
  headSequence: number;
}

/**
 * Reads, synchronously and without taking the lock, which key must sign the
 * next entry of chain `chainId` in `dir`: for a start-up check that has to
 * fail before the application runs (e.g. `register`, exit 78). Reads at most
 * the last line-length limit of bytes of each file, walking back from the
 * last file. Null when the chain has no intact entry (or no file).
 */
export function readChainSignerSync(dir: string, chainId: string): ChainSigner | null {
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir)
    .map((name) => ({ name, parsed: parseChainFileName(name) }))
    .filter((f) => f.parsed?.chainId === chainId)
    .sort((a, b) => b.parsed!.part - a.parsed!.part);
  for (const f of files) {
    const last = lastIntactEntry(join(dir, f.name));
    if (!last) continue;
    const next = (last.decision as { newSignerFingerprint?: unknown }).newSignerFingerprint;
    return { signer: isSignerChange(last.decision) && typeof next === 'string' ? next : last.signerFingerprint, headSequence: last.sequence };
  }
  return null;
}

/**
 * Throws {@link ChainSignerMismatchError} when chain `chainId` in `dir` exists
 * and must be continued by a key other than `publicKey` (a restart with
 * another key; change keys with `rotate-key` instead). Synchronous: see
 * {@link readChainSignerSync}.
 */
export function assertChainSignerSync(dir: string, chainId: string, publicKey: Uint8Array): void {
  const head = readChainSignerSync(dir, chainId);
  const fingerprint = signerFingerprint(publicKey);
  if (head && head.signer !== fingerprint) throw new ChainSignerMismatchError(chainId, head.signer, fingerprint, head.headSequence);
}

function lastIntactEntry(path: string): ReturnType<typeof parse> {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, MAX_LOG_LINE_LENGTH + 1);
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, size - length + got);
      if (n === 0) break;
      got += n;
    }
    const lines = buf.subarray(0, got).toString('utf8').split('\n');
    // The last element is a torn tail or empty; the first may be cut: both are skipped by the intact check.
    for (let i = lines.length - 2; i >= 0; i--) {
      const entry = parse(lines[i]!);
      if (entry) return entry;
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

function parse(line: string) {
  try {
    const v: unknown = JSON.parse(line);
    return isIntactEntry(v) ? v : null;
  } catch {
    return null;
  }
}
