import type { ChainHead, DecisionLogEntry } from './chain.js';
import { entryCanonicalJson } from './entry-json.js';
import { CheckpointError } from './errors.js';
import { sha256Hex } from './hash.js';
import { bytesToHex } from './hex.js';
import { isSignerChange } from './rotation.js';
import { verifySignature, type Signer } from './signer.js';

/** Value of a checkpoint's `type` field (format version 1). */
export const CHECKPOINT_TYPE = 'agentguard.checkpoint.v1';

/**
 * A signed statement that a chain had reached `sequence` with `entryHash` at
 * `timestamp`. Kept apart from the log (a separate file, a span event), a
 * checkpoint lets a verifier detect a cut-off tail, a forked history and a
 * log swapped for another chain.
 *
 * `signature` is Ed25519 (lowercase hex) over the 32 raw bytes of
 * {@link checkpointHash}: SHA-256 of the log's canonical JSON
 * ({@link entryCanonicalJson}) of every other field, `type` included.
 */
export interface Checkpoint {
  type: typeof CHECKPOINT_TYPE;
  /** The chain's id: the `entryHash` of its sequence-0 entry (see {@link chainIdOf}). */
  chainId: string;
  sequence: number;
  entryHash: string;
  /** ISO 8601 UTC with milliseconds. */
  timestamp: string;
  signerFingerprint: string;
  signature: string;
}

/** The fields a checkpoint's signature covers. */
export type CheckpointBody = Omit<Checkpoint, 'signature'>;

const HEX16 = /^[0-9a-f]{16}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;
const CHECKPOINT_FIELDS = new Set(['type', 'chainId', 'sequence', 'entryHash', 'timestamp', 'signerFingerprint', 'signature']);

/**
 * A chain's id: the `entryHash` of its first entry. Two chains signed with the
 * same key have different ids, so a checkpoint names the one chain it belongs to.
 */
export function chainIdOf(genesis: Pick<DecisionLogEntry, 'sequence' | 'entryHash'>): string {
  if (genesis.sequence !== 0) throw new CheckpointError(`chain id: expected the sequence-0 entry, got sequence ${genesis.sequence}`);
  return genesis.entryHash;
}

/** Lowercase hex SHA-256 of the canonical JSON of a checkpoint's signed fields. */
export function checkpointHash(body: CheckpointBody): string {
  return sha256Hex(
    entryCanonicalJson({
      type: body.type,
      chainId: body.chainId,
      sequence: body.sequence,
      entryHash: body.entryHash,
      timestamp: body.timestamp,
      signerFingerprint: body.signerFingerprint,
    }),
  );
}

/**
 * Signs a checkpoint of `head` (the chain's last entry) for the chain `chainId`.
 * `signer` must be the key that signs the chain at `head` (after a rotation,
 * either the outgoing key that signed the signer-change entry or the incoming one).
 */
export function createCheckpoint(head: ChainHead, signer: Signer, chainId: string, timestampMs: number = Date.now()): Checkpoint {
  if (!Number.isSafeInteger(head.sequence) || head.sequence < 0) throw new CheckpointError(`checkpoint: bad head sequence ${head.sequence}`);
  if (!HEX64.test(head.entryHash)) throw new CheckpointError('checkpoint: head entryHash is not 64 lowercase hex characters');
  if (!HEX64.test(chainId)) throw new CheckpointError('checkpoint: chainId is not 64 lowercase hex characters (use chainIdOf(the sequence-0 entry))');
  const body: CheckpointBody = {
    type: CHECKPOINT_TYPE,
    chainId,
    sequence: head.sequence,
    entryHash: head.entryHash,
    timestamp: new Date(timestampMs).toISOString(),
    signerFingerprint: signer.fingerprint,
  };
  const signature = bytesToHex(signer.sign(Buffer.from(checkpointHash(body), 'hex')));
  return { ...body, signature };
}

/** What is wrong with a checkpoint's shape, or null when it is well-formed. */
export function describeMalformedCheckpoint(cp: unknown): string | null {
  if (cp === null || typeof cp !== 'object' || Array.isArray(cp)) return 'checkpoint is not an object';
  const c = cp as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!CHECKPOINT_FIELDS.has(k)) return `unknown field ${JSON.stringify(k)}`;
  if (c.type !== CHECKPOINT_TYPE) return `type is not ${JSON.stringify(CHECKPOINT_TYPE)}`;
  if (typeof c.chainId !== 'string' || !HEX64.test(c.chainId)) return 'chainId is not 64 lowercase hex characters';
  if (!Number.isSafeInteger(c.sequence) || (c.sequence as number) < 0) return 'sequence is not a non-negative integer';
  if (typeof c.entryHash !== 'string' || !HEX64.test(c.entryHash)) return 'entryHash is not 64 lowercase hex characters';
  if (typeof c.timestamp !== 'string' || Number.isNaN(Date.parse(c.timestamp))) return 'timestamp is not an ISO 8601 date';
  if (typeof c.signerFingerprint !== 'string' || !HEX16.test(c.signerFingerprint)) return 'signerFingerprint is not 16 lowercase hex characters';
  if (typeof c.signature !== 'string' || !HEX128.test(c.signature)) return 'signature is not 128 lowercase hex characters';
  return null;
}

/** True when `cp` is well-formed and its signature verifies with `publicKey`. */
export function verifyCheckpointSignature(cp: Checkpoint, publicKey: Uint8Array): boolean {
  if (describeMalformedCheckpoint(cp)) return false;
  return verifySignature(publicKey, Buffer.from(checkpointHash(cp), 'hex'), Buffer.from(cp.signature, 'hex'));
}

/** Options of a {@link CheckpointWriter}. */
export interface CheckpointWriterOptions {
  /** The key signing the chain now (switch it with {@link CheckpointWriter.setSigner} after a rotation). */
  signer: Signer;
  /** Write a checkpoint after every `every` entries (default 1000). */
  every?: number;
  /** The chain's id; needed when resuming a chain (otherwise learnt from its sequence-0 entry). */
  chainId?: string;
  /** The last entry already in the log when resuming, so the writer checks order from there. */
  head?: ChainHead | null;
  /** Milliseconds since the epoch (default `Date.now`). */
  clock?: () => number;
}

/**
 * When to write checkpoints, for an exporter that sees every entry in order:
 * after every `every` entries, right after a signer-change entry (signed by
 * the outgoing key), and on demand ({@link checkpoint}, e.g. on shutdown or
 * file rotation). It only makes checkpoints; the caller stores them — see the
 * README's "Audit" section for where.
 */
export class CheckpointWriter {
  #signer: Signer;
  readonly #every: number;
  readonly #clock: () => number;
  #chainId: string | null;
  #head: ChainHead | null;
  #sinceLast = 0;
  /** Fingerprint a signer-change entry introduced; the signer must be switched to it. */
  #pendingFingerprint: string | null = null;
  #last: Checkpoint | null = null;

  constructor(options: CheckpointWriterOptions) {
    const every = options.every ?? 1000;
    if (!Number.isSafeInteger(every) || every < 1) throw new CheckpointError(`CheckpointWriter.every: expected a positive integer, got ${every}`);
    this.#signer = options.signer;
    this.#every = every;
    this.#clock = options.clock ?? Date.now;
    this.#chainId = options.chainId ?? null;
    this.#head = options.head ?? null;
    if (this.#head && this.#head.sequence === 0 && !this.#chainId) this.#chainId = this.#head.entryHash;
  }

  /** The chain id, once known. */
  get chainId(): string | null {
    return this.#chainId;
  }

  /** The most recent checkpoint made. */
  get last(): Checkpoint | null {
    return this.#last;
  }

  /**
   * Switches to the incoming key after a rotation. If a signer-change entry
   * was observed, the new signer must be the key it introduced.
   */
  setSigner(signer: Signer): void {
    if (this.#pendingFingerprint && signer.fingerprint !== this.#pendingFingerprint) {
      throw new CheckpointError(`setSigner: the chain rotated to ${this.#pendingFingerprint}, got ${signer.fingerprint}`);
    }
    this.#signer = signer;
    this.#pendingFingerprint = null;
  }

  /**
   * Records that `entry` was written; returns a checkpoint to store when one
   * is due (every `every` entries, or the entry is a signer change), else null.
   */
  observe(entry: DecisionLogEntry): Checkpoint | null {
    const expected = this.#head ? this.#head.sequence + 1 : 0;
    if (entry.sequence !== expected) throw new CheckpointError(`observe: expected sequence ${expected}, got ${entry.sequence}`);
    if (entry.sequence === 0) this.#chainId ??= entry.entryHash;
    this.#head = { sequence: entry.sequence, entryHash: entry.entryHash };
    this.#sinceLast++;
    if (isSignerChange(entry.decision)) {
      // Signed by the outgoing key, which signed this very entry.
      const cp = this.checkpoint();
      const next = (entry.decision as { newSignerFingerprint?: unknown }).newSignerFingerprint;
      this.#pendingFingerprint = typeof next === 'string' ? next : null;
      return cp;
    }
    return this.#sinceLast >= this.#every ? this.checkpoint() : null;
  }

  /**
   * A checkpoint of the last observed entry now (shutdown, file rotation), or
   * null when nothing was observed since the last checkpoint.
   */
  checkpoint(): Checkpoint | null {
    if (!this.#head) return null;
    if (this.#last && this.#last.sequence === this.#head.sequence) return null;
    if (!this.#chainId) throw new CheckpointError('checkpoint: chain id unknown; pass chainId (the sequence-0 entry hash) when resuming a chain');
    if (this.#pendingFingerprint) {
      throw new CheckpointError(`checkpoint: the chain rotated to ${this.#pendingFingerprint}; call setSigner with the incoming key first`);
    }
    this.#last = createCheckpoint(this.#head, this.#signer, this.#chainId, this.#clock());
    this.#sinceLast = 0;
    return this.#last;
  }
}
