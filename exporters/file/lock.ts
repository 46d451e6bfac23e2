import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { threadId } from 'node:worker_threads';

/** Chains this thread holds, so two stores in one thread cannot share a chain either. */
const held = new Set<string>();
/** Nonces of the locks this thread holds or is taking. */
const mine = new Set<string>();

/** What a lock file says about its owner. */
export interface ChainLockOwner {
  pid: number;
  host: string;
  /** Worker thread id inside the process (0: main thread). */
  thread: number;
  /** Identifies the process incarnation, so a reused pid is told from its earlier owner. */
  started: string;
  since: string;
  /** Unique per lock, so a takeover can tell the lock it judged stale from a newer one. */
  nonce: string;
}

/**
 * Thrown when a chain's lock is held by a live owner: another process, or
 * another thread of this process. `owner` says who.
 */
export class ChainLockedError extends Error {
  override readonly name = 'ChainLockedError';
  readonly code = 'AGENTGUARD_CHAIN_LOCKED';
  constructor(
    message: string,
    readonly chainId: string,
    readonly lockFile: string,
    readonly owner: ChainLockOwner | null,
  ) {
    super(message);
  }
}

/** How to take a chain's lock. */
export interface LockChainOptions {
  /** Keep trying this long (ms) while a live owner holds the lock (default 0: refuse at once). */
  waitMs?: number;
  /** Poll interval while waiting (default 50 ms). */
  pollMs?: number;
}

/**
 * A lock file that cannot be parsed this long after it was last modified is
 * stale: locks appear complete (hard link of a written file), so an unreadable
 * one was damaged or left half-written by a crash of an older writer.
 */
const STALE_UNREADABLE_MS = 10_000;

/** An unreadable lock: null (stale) once old enough, else 'unreadable'. */
async function unreadableLock(path: string): Promise<'unreadable' | null> {
  const age = await stat(path).then(
    (s) => Date.now() - s.mtimeMs,
    () => 0,
  );
  return age > STALE_UNREADABLE_MS ? null : 'unreadable';
}

/** A takeover lock older than this whose owner is gone is removed. */
const STALE_TAKEOVER_MS = 10_000;

/**
 * Takes `<dir>/<chainId>.lock` so that one chain has one writer.
 *
 * The lock is created atomically: its content is written to a private temp
 * file first and then hard-linked to the lock name (`link` fails if the name
 * exists), so a lock file is never seen half-written. A lock is stale only
 * when its owner is gone: same host, and its pid no longer runs or belongs to
 * another process incarnation (the pid was reused). A lock held by another
 * thread of this process is refused (each thread must use its own chain).
 * A stale lock is taken over under a short-lived `<chainId>.lock.takeover`
 * lock, so two processes taking over at once cannot both win.
 *
 * Throws {@link ChainLockedError} while a live owner holds it (after waiting
 * up to `waitMs`). Returns the release function.
 */
export async function lockChain(dir: string, chainId: string, options: LockChainOptions = {}): Promise<() => Promise<void>> {
  const path = join(resolve(dir), `${chainId}.lock`);
  if (held.has(path)) throw new ChainLockedError(`decision log chain ${chainId} is already open in this process`, chainId, path, null);
  const me = ownerInfo();
  const tmp = `${path}.${me.nonce}.tmp`;
  await writeFile(tmp, `${JSON.stringify(me)}\n`, { mode: 0o644, flag: 'wx' });
  mine.add(me.nonce);
  const deadline = Date.now() + Math.max(0, options.waitMs ?? 0);
  const pollMs = Math.max(1, options.pollMs ?? 50);
  try {
    for (;;) {
      if (await tryLink(tmp, path)) break;
      const owner = await readLock(path);
      if (owner === undefined) continue; // released between our link and our read
      const live = owner ? liveOwner(owner) : await unreadableLock(path);
      if (live === null) {
        await takeOver(path, owner, tmp, me);
        if (await isOurs(path, me)) break;
        continue;
      }
      if (live === 'self') throw new ChainLockedError(`decision log chain ${chainId} is already open in this process`, chainId, path, owner);
      if (Date.now() >= deadline) throw new ChainLockedError(refusal(chainId, path, owner, live), chainId, path, owner);
      await sleep(pollMs);
    }
  } catch (err) {
    mine.delete(me.nonce);
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  held.add(path);
  return async () => {
    held.delete(path);
    mine.delete(me.nonce);
    // Only remove the lock if it is still ours.
    if (await isOurs(path, me)) await unlink(path).catch(() => undefined);
  };
}

function refusal(chainId: string, path: string, owner: ChainLockOwner | null, live: string): string {
  if (!owner)
    return `decision log chain ${chainId} has an unreadable lock file (${path}) less than ${STALE_UNREADABLE_MS / 1000} s old; it is taken over once older, or remove it if no process writes this chain`;
  if (live === 'thread') {
    return `decision log chain ${chainId} is in use by thread ${owner.thread} of this process (${path}); each worker thread needs its own chainId (or none, for a fresh one)`;
  }
  return `decision log chain ${chainId} is in use by pid ${owner.pid} on ${owner.host} since ${owner.since} (${path}); use another chainId, or remove the lock file if that process is gone`;
}

async function tryLink(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Replaces the stale lock `stale` with ours, under the takeover lock: only the
 * process holding it may remove a lock file it did not create, and only after
 * checking the lock is still the one it judged stale.
 */
async function takeOver(path: string, stale: ChainLockOwner | null, tmp: string, me: ChainLockOwner): Promise<void> {
  const guard = `${path}.takeover`;
  if (!(await tryLink(tmp, guard))) {
    const other = await readLock(guard);
    if (other && liveOwner(other) === null) {
      const age = await stat(guard).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_TAKEOVER_MS) await unlink(guard).catch(() => undefined);
    }
    await sleep(5);
    return;
  }
  try {
    const current = await readLock(path);
    if (stale ? current?.nonce === stale.nonce : current === null && (await unreadableLock(path)) === null) {
      await unlink(path).catch(() => undefined);
      await tryLink(tmp, path);
    }
  } finally {
    if (await isOurs(guard, me)) await unlink(guard).catch(() => undefined);
  }
}

async function isOurs(path: string, me: ChainLockOwner): Promise<boolean> {
  const owner = await readLock(path);
  return !!owner && owner.nonce === me.nonce;
}

/** The lock's owner; null when unreadable; undefined when the file is gone. */
async function readLock(path: string): Promise<ChainLockOwner | null | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const v = JSON.parse(text) as Partial<ChainLockOwner>;
    if (!Number.isSafeInteger(v.pid) || typeof v.host !== 'string') return null;
    // Locks written before threads and incarnations were recorded.
    return { pid: v.pid!, host: v.host, thread: v.thread ?? 0, started: v.started ?? '', since: v.since ?? '', nonce: v.nonce ?? '' };
  } catch {
    return null;
  }
}

/**
 * Why the owner counts as live ('process', 'thread', 'remote'), or null when
 * it is gone and its lock may be taken over.
 */
function liveOwner(owner: ChainLockOwner): 'self' | 'process' | 'thread' | 'remote' | null {
  if (owner.host !== hostname()) return 'remote'; // cannot tell: another machine may still be writing
  if (owner.pid === process.pid) {
    if (owner.started !== processStarted()) return null; // a previous incarnation with the same pid
    // This process: a lock of another thread is live while the process is;
    // one of this thread that it no longer holds was left by a store never closed.
    if (owner.thread !== threadId) return 'thread';
    return mine.has(owner.nonce) ? 'self' : null;
  }
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return null;
    return 'process';
  }
  const started = owner.started ? startedOf(owner.pid) : null;
  if (started !== null && started !== owner.started) return null; // pid reused by another process
  return 'process';
}

let myStart: string | undefined;
function processStarted(): string {
  myStart ??= startedOf(process.pid) ?? `uptime:${Math.round((Date.now() - process.uptime() * 1000) / 1000)}`;
  return myStart;
}

/** The process's start time in clock ticks since boot (Linux), the same for all its threads. */
function startedOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19]; // field 22 of proc(5), counted after the command name
    return ticks ? `proc:${ticks}` : null;
  } catch {
    return null;
  }
}

function ownerInfo(): ChainLockOwner {
  return { pid: process.pid, host: hostname(), thread: threadId, started: processStarted(), since: new Date().toISOString(), nonce: randomUUID() };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
