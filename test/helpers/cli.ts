import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseChainFileName } from '../../exporters/file/naming.js';
import type { DecisionLogEntry } from '../../src/index.js';
import { signEntry } from '../../src/audit/chain.js';
import type { Signer } from '../../src/audit/signer.js';

const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

/** Runs the built CLI in a child process (`node dist/cli.js …`). */
export function run(args: string[], cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The chain files of `chainId` in `dir`, in part order. */
export function chainFiles(dir: string, chainId: string): string[] {
  return readdirSync(dir)
    .map((n) => ({ n, p: parseChainFileName(n) }))
    .filter((x) => x.p?.chainId === chainId)
    .sort((a, b) => a.p!.part - b.p!.part)
    .map((x) => join(dir, x.n));
}

/** Every entry of a chain, in order, with the file it is in. */
export function readEntries(dir: string, chainId: string): { file: string; entry: DecisionLogEntry }[] {
  return chainFiles(dir, chainId).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => ({ file, entry: JSON.parse(l) as DecisionLogEntry })),
  );
}

/** Writes entries back into the files they came from (same order). */
export function writeEntries(items: { file: string; entry: DecisionLogEntry }[]): void {
  const byFile = new Map<string, string[]>();
  for (const { file, entry } of items) {
    if (!byFile.has(file)) byFile.set(file, []);
    byFile.get(file)!.push(JSON.stringify(entry));
  }
  for (const [file, lines] of byFile) writeFileSync(file, `${lines.join('\n')}\n`);
}

/**
 * Re-signs the chain from `from` on with `signer`, after `edit` changed the
 * decision of entry `from`: a different history, valid link by link.
 */
export function resignFrom(
  items: { file: string; entry: DecisionLogEntry }[],
  from: number,
  signer: Signer,
  edit: (d: Record<string, unknown>) => void,
): { file: string; entry: DecisionLogEntry }[] {
  const out = items.slice(0, from).map((x) => ({ ...x }));
  let head = from === 0 ? null : { sequence: items[from - 1]!.entry.sequence, entryHash: items[from - 1]!.entry.entryHash };
  for (let i = from; i < items.length; i++) {
    const decision = structuredClone(items[i]!.entry.decision) as Record<string, unknown>;
    if (i === from) edit(decision);
    const entry = signEntry(decision, head, signer);
    head = { sequence: entry.sequence, entryHash: entry.entryHash };
    out.push({ file: items[i]!.file, entry });
  }
  return out;
}

/** The checkpoints in a checkpoint file. */
export function readCheckpoints(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
