import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainLockedError, FileDecisionLogStore } from '../../src/stores.js';
import { tempDir } from '../helpers/log.js';

const root = join(import.meta.dirname, '..', '..');
const dist = join(root, 'dist');
const childScript = join(root, 'test', 'fixtures', 'exporters', 'lock-child.mjs');

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.reverse()) c();
  cleanups = [];
});
function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

/** A lock-child process driven line by line over stdin/stdout. */
class LockChild {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly exited: Promise<void>;
  #lines: string[] = [];
  #waiters: ((line: string) => void)[] = [];

  constructor() {
    this.proc = spawn(process.execPath, [childScript], { env: { ...process.env, DIST: dist } });
    this.exited = new Promise((r) => this.proc.once('exit', () => r()));
    let buffered = '';
    this.proc.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const l of parts) {
        const w = this.#waiters.shift();
        if (w) w(l);
        else this.#lines.push(l);
      }
    });
    cleanups.push(() => this.proc.kill('SIGKILL'));
  }

  next(): Promise<string> {
    const l = this.#lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((r) => this.#waiters.push(r));
  }

  send(line: string): void {
    this.proc.stdin.write(`${line}\n`);
  }
}

/** The pid of a process that has exited (for stale lock files). */
async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => p.once('exit', r));
  return p.pid!;
}

describe('chain lock', () => {
  it('lets exactly one of several processes opening one chain at the same instant have it, fresh or over a stale lock (repeated race)', async () => {
    const children = [new LockChild(), new LockChild(), new LockChild()];
    for (const c of children) expect(await c.next()).toBe('ready');
    const dead = await deadPid();
    const trials = 100;
    const started = Date.now();
    let winsOverStale = 0;
    const refusals: string[] = [];
    for (let trial = 0; trial < trials; trial++) {
      const d = dir();
      const overStale = trial % 2 === 1;
      if (overStale) writeFileSync(join(d, 'race.lock'), JSON.stringify({ pid: dead, host: hostname(), since: '2026-01-01T00:00:00.000Z' }));
      for (const c of children) c.send(`open ${d} race 0`);
      const results = await Promise.all(children.map((c) => c.next()));
      const winners = results.filter((r) => r === 'got').length;
      expect({ trial, winners, refused: results.filter((r) => r.startsWith('refused ')).length }).toEqual({ trial, winners: 1, refused: 2 });
      refusals.push(...results.filter((r) => r !== 'got'));
      if (overStale && winners === 1) winsOverStale++;
      for (const c of children) c.send('close');
      expect(await Promise.all(children.map((c) => c.next()))).toEqual(['closed', 'closed', 'closed']);
      expect(readdirSync(d)).toEqual([]);
    }
    expect(winsOverStale).toBe(trials / 2);
    expect(new Set(refusals)).toEqual(new Set(['refused AGENTGUARD_CHAIN_LOCKED']));
    expect(Date.now() - started).toBeLessThan(60_000);
    for (const c of children) c.proc.stdin.end();
    await Promise.all(children.map((c) => c.exited));
  }, 90_000);

  it('a process waiting for a live holder (lockWaitMs) takes the chain over once the holder is killed', async () => {
    const d = dir();
    const holder = new LockChild();
    expect(await holder.next()).toBe('ready');
    holder.send(`open ${d} held 0`);
    expect(await holder.next()).toBe('got');
    let opened = false;
    const waiting = FileDecisionLogStore.open({ dir: d, chainId: 'held', lockWaitMs: 20_000 }).then((s) => {
      opened = true;
      return s;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(opened).toBe(false);
    holder.proc.kill('SIGKILL');
    await holder.exited;
    const store = await waiting;
    expect(JSON.parse(readFileSync(join(d, 'held.lock'), 'utf8')).pid).toBe(process.pid);
    await store.close();
    expect(existsSync(join(d, 'held.lock'))).toBe(false);
  });

  it('a store that found its chain locked starts working once the holder has closed it', async () => {
    const d = dir();
    const holder = new LockChild();
    expect(await holder.next()).toBe('ready');
    holder.send(`open ${d} later 0`);
    expect(await holder.next()).toBe('got');
    const store = new FileDecisionLogStore({ dir: d, chainId: 'later' });
    const err = await store.ready().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainLockedError);
    expect((err as ChainLockedError).owner?.pid).toBe(holder.proc.pid);
    holder.proc.stdin.end();
    await holder.exited;
    await store.ready();
    expect(await store.head()).toBeNull();
    await store.close();
  });

  it('an unreadable lock file is refused while recent and taken over once 10 s old', async () => {
    const d = dir();
    const lock = join(d, 'broken.lock');
    writeFileSync(lock, '{"pid": 12');
    await expect(FileDecisionLogStore.open({ dir: d, chainId: 'broken' })).rejects.toThrow(
      `decision log chain broken has an unreadable lock file (${lock}) less than 10 s old; it is taken over once older, or remove it if no process writes this chain`,
    );
    const old = new Date(Date.now() - 11_000);
    utimesSync(lock, old, old);
    const store = await FileDecisionLogStore.open({ dir: d, chainId: 'broken' });
    expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(process.pid);
    await store.close();
  });

  it('refuses a worker thread opening a chain its main thread holds, instead of sharing the lock; a worker without a chainId gets its own chain', async () => {
    const d = dir();
    const main = await FileDecisionLogStore.open({ dir: d, chainId: 'shared' });
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(require('node:url').pathToFileURL(require('node:path').join(workerData.dist, 'stores.js')).href).then(async ({ FileDecisionLogStore }) => {
        const out = {};
        try { await FileDecisionLogStore.open({ dir: workerData.dir, chainId: 'shared' }); out.shared = 'got'; }
        catch (err) { out.shared = err.name + ': ' + err.message; }
        const own = await FileDecisionLogStore.open({ dir: workerData.dir });
        out.own = own.chainId;
        await own.close();
        parentPort.postMessage(out);
      });`;
    const worker = new Worker(code, { eval: true, workerData: { dir: d, dist } });
    const out = await new Promise<{ shared: string; own: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(out.shared).toMatch(
      /^ChainLockedError: decision log chain shared is in use by thread 0 of this process \(.*shared\.lock\); each worker thread needs its own chainId/,
    );
    expect(out.own).not.toBe('shared');
    // The main thread's lock is untouched and still its own.
    const lock = JSON.parse(readFileSync(join(d, 'shared.lock'), 'utf8'));
    expect({ pid: lock.pid, thread: lock.thread }).toEqual({ pid: process.pid, thread: 0 });
    await main.close();
    expect(existsSync(join(d, 'shared.lock'))).toBe(false);
  });
});
