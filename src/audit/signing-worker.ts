import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * The worker's code, run with `eval`: nothing to resolve on disk, so it runs
 * the same from the sources, from `dist/` (ESM and CommonJS) and from the
 * bundled register engine. It signs 32-byte hashes with keys it was handed
 * once each, and never logs or echoes a key.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { sign } = require('node:crypto');
const keys = new Map();
parentPort.on('message', (m) => {
  if (m.type === 'key') { keys.set(m.id, m.key); return; }
  try {
    const key = keys.get(m.key);
    if (!key) throw new Error('no key ' + m.key);
    const n = m.hashes.length / 32;
    const out = new Uint8Array(n * 64);
    for (let i = 0; i < n; i++) out.set(sign(null, m.hashes.subarray(i * 32, i * 32 + 32), key), i * 64);
    parentPort.postMessage({ id: m.id, signatures: out }, [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.name) || 'Error') });
  }
});
`;

/** How long the thread may go without answering a batch while batches are out before it is taken for dead. */
const STALL_MS = 5_000;

interface InFlight {
  resolve: (signatures: Uint8Array) => void;
  reject: (error: Error) => void;
}

/**
 * The one Ed25519 signing thread of the process (node:worker_threads),
 * shared by every chain: started by the first batch that needs it (see
 * `START_THREAD_AFTER_ENTRIES` in the signing queue), never
 * before; kept from holding the process open except while a batch is being
 * signed. Once it dies or fails to start it stays down, and callers sign on
 * their own thread ({@link usable} is false).
 */
export class SigningWorker {
  #worker: Worker | null = null;
  #online = false;
  #dead = false;
  readonly #keyIds = new WeakMap<KeyObject, number>();
  #nextKeyId = 1;
  #nextBatchId = 1;
  readonly #inFlight = new Map<number, InFlight>();
  #answered = 0;
  #watchdog: NodeJS.Timeout | null = null;

  /** Whether batches can go to the thread now (started and up); starts it on first ask. */
  get usable(): boolean {
    if (this.#dead) return false;
    if (!this.#worker) this.#start();
    return this.#online && !this.#dead;
  }

  /** Whether the thread died (or could not start): everything signs on the calling thread from then on. */
  get dead(): boolean {
    return this.#dead;
  }

  /** Whether the thread was ever started. */
  get started(): boolean {
    return this.#worker !== null;
  }

  /**
   * Signs `hashes` (n × 32 bytes) with `key` on the thread; resolves n × 64
   * bytes of signatures in the same order. Rejects when the thread fails or dies first.
   */
  sign(key: KeyObject, hashes: Uint8Array): Promise<Uint8Array> {
    const worker = this.#worker;
    if (!worker || this.#dead) return Promise.reject(new Error('the signing thread is not running'));
    let keyId = this.#keyIds.get(key);
    if (keyId === undefined) {
      keyId = this.#nextKeyId++;
      this.#keyIds.set(key, keyId);
      // The key crosses once; every batch names it by id.
      worker.postMessage({ type: 'key', id: keyId, key });
    }
    const id = this.#nextBatchId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      if (this.#inFlight.size === 0) {
        worker.ref(); // a batch being signed keeps the process up until it is done
        this.#watch();
      }
      this.#inFlight.set(id, { resolve, reject });
      worker.postMessage({ type: 'sign', id, key: keyId, hashes }, [hashes.buffer as ArrayBuffer]);
    });
  }

  /** Stops the thread as if it had died (tests, and shutting down): in-flight batches reject, later ones sign on the caller's thread. */
  async terminate(): Promise<void> {
    const worker = this.#worker;
    if (!worker || this.#dead) {
      this.#dead = true;
      return;
    }
    await worker.terminate();
    this.#fail(new Error('the signing thread was terminated'));
  }

  /**
   * While batches are out, a thread that answers none for {@link STALL_MS} is
   * taken for dead (terminated): its batches are signed on the caller's thread.
   */
  #watch(): void {
    if (this.#watchdog) return;
    let answered = this.#answered;
    this.#watchdog = setInterval(() => {
      if (this.#inFlight.size === 0) {
        clearInterval(this.#watchdog!);
        this.#watchdog = null;
      } else if (this.#answered === answered) void this.terminate();
      answered = this.#answered;
    }, STALL_MS);
    this.#watchdog.unref();
  }

  #start(): void {
    let worker: Worker;
    try {
      // No preloads in the signing thread (a `--require agentguard-spend/register` would set up a guard there), no env.
      worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], env: {}, stdout: false, stderr: false, name: 'agentguard-spend signer' });
    } catch {
      this.#dead = true;
      return;
    }
    this.#worker = worker;
    worker.on('online', () => {
      this.#online = true;
    });
    worker.on('message', (m: { id: number; signatures?: Uint8Array; error?: string }) => {
      const waiting = this.#inFlight.get(m.id);
      if (!waiting) return;
      this.#inFlight.delete(m.id);
      this.#answered++;
      if (this.#inFlight.size === 0) worker.unref();
      if (m.signatures) waiting.resolve(m.signatures);
      else waiting.reject(new Error(`the signing thread failed a batch (${m.error ?? 'Error'})`));
    });
    worker.on('error', (err) => this.#fail(err));
    worker.on('exit', (code) => this.#fail(new Error(`the signing thread exited (code ${code})`)));
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
  }

  #fail(error: Error): void {
    this.#dead = true;
    if (this.#watchdog) clearInterval(this.#watchdog);
    this.#watchdog = null;
    this.#online = false;
    const waiting = [...this.#inFlight.values()];
    this.#inFlight.clear();
    for (const w of waiting) w.reject(error);
  }
}

let shared: SigningWorker | null = null;

/** The process's signing thread (created, not started, on first use). */
export function sharedSigningWorker(): SigningWorker {
  shared ??= new SigningWorker();
  return shared;
}
