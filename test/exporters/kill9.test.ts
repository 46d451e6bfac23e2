import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listChains, readChain } from '../../exporters/file/reader.js';
import { verifyDecisionLog } from '../../src/audit.js';
import { FileDecisionLogStore, type DecisionLogWarning } from '../../src/stores.js';
import { generateKeypair, signingKeysToHex, type DecisionLogEntry } from '../../src/index.js';
import { ChainWriter } from '../../src/audit/chain.js';
import { createSigner } from '../../src/audit/signer.js';
import { tempDir } from '../helpers/log.js';

const root = join(import.meta.dirname, '..', '..');
const child = join(root, 'test', 'fixtures', 'exporters', 'log-writer-child.mjs');
const keys = generateKeypair();

let cleanup = () => {};
afterEach(() => cleanup());

/**
 * Runs the writer child (under `sh -c` to set a file size limit when asked)
 * and SIGKILLs it once `killWhen` says so. Returns the acknowledged sequences
 * and the error the child reported, if any.
 */
async function runAndKill(env: Record<string, string>, killWhen: (acks: number[], error: string | null) => boolean, fileSizeLimitBlocks?: number) {
  const args = fileSizeLimitBlocks ? ['-c', `ulimit -f ${fileSizeLimitBlocks}; exec "$0" "$1"`, process.execPath, child] : [child];
  const proc = spawn(fileSizeLimitBlocks ? '/bin/sh' : process.execPath, args, {
    env: { ...process.env, DIST: join(root, 'dist'), SEED_HEX: signingKeysToHex(keys).privateKeyHex, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acks: number[] = [];
  let error: string | null = null;
  let buffered = '';
  let killed = false;
  const exit = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
  proc.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const l of lines) {
      if (l.startsWith('ack ')) acks.push(Number(l.slice(4)));
      if (l.startsWith('error ')) error = l.slice(6);
    }
    if (!killed && killWhen(acks, error)) {
      killed = true;
      proc.kill('SIGKILL');
    }
  });
  const signal = await exit;
  return { acks, error, signal };
}

async function onDisk(dir: string): Promise<{ sequences: number[]; torn: number }> {
  const [chain] = await listChains(dir);
  const sequences: number[] = [];
  let torn = 0;
  for await (const r of readChain(chain!)) {
    if (r.kind === 'entry') sequences.push(r.entry.sequence);
    else if (r.kind === 'torn') torn++;
    else throw new Error(`unexpected ${r.kind} line`);
  }
  return { sequences, torn };
}

/** Resumes the chain in this process, appends `more` entries, and returns the store. */
async function resumeAndAppend(dir: string, chainId: string, more: number, warnings: DecisionLogWarning[]) {
  const store = await FileDecisionLogStore.open({ dir, chainId, onWarning: (w) => warnings.push(w) });
  const writer = new ChainWriter(createSigner(keys), await store.head());
  for (let i = 0; i < more; i++) await store.append(writer.append({ entryType: 'decision', timestamp: new Date().toISOString(), resumed: i }));
  await store.close();
  return store;
}

describe('crash and resume (real child processes, SIGKILL)', () => {
  it.each(['write', 'fsync'])('%s mode: every acknowledged entry survives kill -9; the chain resumes and verifies', async (durability) => {
    const t = tempDir();
    cleanup = t.cleanup;
    const { acks, signal } = await runAndKill({ LOG_DIR: t.dir, CHAIN_ID: 'crash-write', DURABILITY: durability }, (a) => a.length >= 200);
    expect(signal).toBe('SIGKILL');
    const lastAck = Math.max(...acks);
    const { sequences } = await onDisk(t.dir);
    // Every acknowledged entry is there, in order (entries signed after the last ack may be too).
    expect(sequences.slice(0, lastAck + 1)).toEqual(Array.from({ length: lastAck + 1 }, (_, i) => i));

    // The dead writer's lock is still there; resuming takes it over.
    expect(existsSync(join(t.dir, 'crash-write.lock'))).toBe(true);
    const warnings: DecisionLogWarning[] = [];
    const store = await resumeAndAppend(t.dir, 'crash-write', 3, warnings);
    const v = await verifyDecisionLog(t.dir, keys.publicKey);
    expect(v.ok).toBe(true);
    expect(v.chains[0]!.entries).toBe(sequences.length + 3);
    expect(store.files.length).toBe(2); // resumed in a new part
    expect(warnings).toEqual([]);
  });

  it('a write cut short by the disk filling up, then kill -9: the failed entry is cut back out at once, no torn line is left, the chain resumes', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    // Entries of ~100 kB and a 600 kB file size limit: the 6th write is cut short (EFBIG).
    const { acks, error, signal } = await runAndKill(
      { LOG_DIR: t.dir, CHAIN_ID: 'crash-torn', DURABILITY: 'fsync', PAD_BYTES: String(100_000) },
      (_a, e) => e !== null,
      1200,
    );
    expect(signal).toBe('SIGKILL');
    expect(error).toBe('EFBIG');
    const [chain] = await listChains(t.dir);
    const file = chain!.files[0]!.path;
    const before = await onDisk(t.dir);
    // The append failed (its call failed): its partial line was cut back before the kill.
    expect(before).toEqual({ sequences: acks, torn: 0 });
    expect(readFileSync(file).at(-1)).toBe(0x0a);

    const warnings: DecisionLogWarning[] = [];
    await resumeAndAppend(t.dir, 'crash-torn', 2, warnings);
    expect(warnings).toEqual([]);
    expect(existsSync(`${file}.torn`)).toBe(false);
    const v = await verifyDecisionLog(t.dir, keys.publicKey);
    expect(v.chains[0]).toMatchObject({ ok: true, entries: acks.length + 2 });
    const all: DecisionLogEntry[] = [];
    for await (const r of readChain((await listChains(t.dir))[0]!)) if (r.kind === 'entry') all.push(r.entry);
    expect(all.map((e) => e.sequence)).toEqual(Array.from({ length: acks.length + 2 }, (_, i) => i));
  });
});
