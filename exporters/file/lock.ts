import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { open, readFile, unlink } from 'node:fs/promises';

/** Chains this process holds, so two stores in one process cannot share a chain either. */
const held = new Set<string>();

interface LockInfo {
  pid: number;
  host: string;
  since: string;
}

/**
 * Takes `<dir>/<chainId>.lock` (created exclusively) so that two live
 * processes never append to one chain. A lock left by a process that is gone
 * (same host, pid no longer running, or our own pid from a previous
 * container incarnation) is taken over. Returns the release function.
 */
export async function lockChain(dir: string, chainId: string): Promise<() => Promise<void>> {
  const path = join(resolve(dir), `${chainId}.lock`);
  if (held.has(path)) throw new Error(`decision log chain ${chainId} is already open in this process`);
  const me: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.writeFile(`${JSON.stringify(me)}\n`);
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const owner = await readLock(path);
      if (owner && !isStale(owner)) {
        throw new Error(`decision log chain ${chainId} is in use by pid ${owner.pid} on ${owner.host} since ${owner.since} (${path}); use another chainId, or remove the lock file if that process is gone`);
      }
      await unlink(path).catch(() => undefined);
    }
  }
  held.add(path);
  return async () => {
    held.delete(path);
    await unlink(path).catch(() => undefined);
  };
}

async function readLock(path: string): Promise<LockInfo | null> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as LockInfo;
    return Number.isSafeInteger(v.pid) && typeof v.host === 'string' ? v : null;
  } catch {
    return null; // unreadable or half-written: its writer died mid-way
  }
}

function isStale(owner: LockInfo): boolean {
  if (owner.host !== hostname()) return false; // cannot tell: another machine may still be writing
  if (owner.pid === process.pid) return true; // not held by us (checked above): a previous incarnation
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
