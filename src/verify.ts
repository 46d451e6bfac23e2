import { computeEntryHash, GENESIS_HASH, type DecisionLogEntry } from './chain.js';
import { signerFingerprint } from './keys.js';
import { verifySignature, verifySignatureAsync } from './signer.js';

/** Why an entry failed verification. */
export type VerifyFailureReason =
  | 'malformed_entry'
  | 'sequence_gap'
  | 'broken_link'
  | 'hash_mismatch'
  | 'bad_signature'
  | 'wrong_signer';

/** Outcome of verifying a chain: intact with `count` entries, or the first bad entry. */
export type ChainVerification =
  | { ok: true; count: number }
  | { ok: false; sequence: number; reason: VerifyFailureReason; message: string };

/** Outcome of verifying one entry on its own (hash, signer, signature). */
export type EntryVerification = { ok: true } | { ok: false; reason: VerifyFailureReason; message: string };

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

/**
 * Checks one entry against `publicKey`: well-formed, signed by that key's
 * fingerprint, `entryHash` recomputed from its body, and a valid Ed25519
 * signature over the hash bytes. Does not check its place in a chain.
 */
export function verifyEntry(entry: DecisionLogEntry, publicKey: Uint8Array, fingerprint = signerFingerprint(publicKey)): EntryVerification {
  const shape = describeMalformed(entry);
  if (shape) return { ok: false, reason: 'malformed_entry', message: shape };
  return verifyWellFormed(entry, publicKey, fingerprint);
}

/** {@link verifyEntry} of an entry already known to be well-formed. */
function verifyWellFormed(entry: DecisionLogEntry, publicKey: Uint8Array, fingerprint: string): EntryVerification {
  const body = checkSignerAndHash(entry, fingerprint);
  if (body) return body;
  if (!verifySignature(publicKey, Buffer.from(entry.entryHash, 'hex'), Buffer.from(entry.signature, 'hex'))) return BAD_SIGNATURE;
  return { ok: true };
}

const BAD_SIGNATURE = { ok: false, reason: 'bad_signature', message: 'Ed25519 signature does not verify' } as const;

/** Signer and recomputed hash of a well-formed entry (everything but the signature). */
function checkSignerAndHash(entry: DecisionLogEntry, fingerprint: string): Extract<EntryVerification, { ok: false }> | null {
  if (entry.signerFingerprint !== fingerprint) {
    return { ok: false, reason: 'wrong_signer', message: `signed by ${entry.signerFingerprint}, expected ${fingerprint}` };
  }
  let recomputed: string;
  try {
    recomputed = computeEntryHash(entry);
  } catch (err) {
    return { ok: false, reason: 'malformed_entry', message: `decision cannot be canonicalized: ${(err as Error).message}` };
  }
  if (recomputed !== entry.entryHash) {
    return { ok: false, reason: 'hash_mismatch', message: `entryHash ${entry.entryHash} does not match recomputed ${recomputed}` };
  }
  return null;
}

/** Shape, sequence and link of the entry expected at `at` after `previousHash`. */
function checkPlace(entry: DecisionLogEntry, at: number, previousHash: string): Extract<EntryVerification, { ok: false }> | null {
  const shape = describeMalformed(entry);
  if (shape) return { ok: false, reason: 'malformed_entry', message: shape };
  if (entry.sequence !== at) return { ok: false, reason: 'sequence_gap', message: `expected sequence ${at}, got ${entry.sequence}` };
  if (entry.previousHash !== previousHash) {
    return { ok: false, reason: 'broken_link', message: `previousHash ${entry.previousHash} does not match entry ${at - 1}'s hash ${previousHash}` };
  }
  return null;
}

/**
 * Verifies a whole chain in order with the signer's public key alone: sequence
 * starts at 0 and rises by one, each `previousHash` links to the entry before,
 * and every entry passes {@link verifyEntry}. Reports the first bad entry.
 */
export function verifyChain(entries: Iterable<DecisionLogEntry>, publicKey: Uint8Array): ChainVerification {
  const verifier = new ChainVerifier(publicKey);
  for (const entry of entries) {
    const failure = verifier.push(entry);
    if (failure) return failure;
  }
  return { ok: true, count: verifier.count };
}

/**
 * Incremental chain verification, one entry at a time, so a log of any size
 * verifies in constant memory (used by the CLI's streaming `verify`).
 */
export class ChainVerifier {
  readonly #publicKey: Uint8Array;
  readonly #fingerprint: string;
  #expectedSequence = 0;
  #previousHash = GENESIS_HASH;
  #failed: Extract<ChainVerification, { ok: false }> | null = null;

  constructor(publicKey: Uint8Array) {
    this.#publicKey = publicKey;
    this.#fingerprint = signerFingerprint(publicKey);
  }

  /** Entries verified so far. */
  get count(): number {
    return this.#expectedSequence;
  }

  /** Verifies the next entry; returns the failure (sticky) or null. */
  push(entry: DecisionLogEntry): Extract<ChainVerification, { ok: false }> | null {
    if (this.#failed) return this.#failed;
    const at = this.#expectedSequence;
    const bad = checkPlace(entry, at, this.#previousHash) ?? verifyWellFormed(entry, this.#publicKey, this.#fingerprint);
    if (!bad.ok) return (this.#failed = { ok: false, sequence: at, reason: bad.reason, message: bad.message });
    this.#previousHash = entry.entryHash;
    this.#expectedSequence++;
    return null;
  }

  /** The chain head after the last verified entry. */
  get head(): { sequence: number; entryHash: string } | null {
    return this.#expectedSequence === 0 ? null : { sequence: this.#expectedSequence - 1, entryHash: this.#previousHash };
  }
}

/** A chain failure, with where the caller found the bad entry. */
export type LocatedFailure<W> = Extract<ChainVerification, { ok: false }> & { where: W };

/**
 * {@link ChainVerifier} for large logs: sequence, link, signer and hash are
 * checked on the calling thread as entries arrive, while up to `window`
 * signatures are verified at once on the libuv threadpool (see
 * {@link verifySignatureAsync}). Reports the same first bad entry as
 * `ChainVerifier` would: a signature failure found late still wins over any
 * failure at a later sequence. `where` (e.g. file and line) is carried to the failure.
 */
export class PipelinedChainVerifier<W = undefined> {
  readonly #publicKey: Uint8Array;
  readonly #fingerprint: string;
  readonly #window: number;
  readonly #inFlight: { sequence: number; where: W; ok: Promise<boolean> }[] = [];
  #expectedSequence = 0;
  #previousHash = GENESIS_HASH;
  #failed: LocatedFailure<W> | null = null;

  /**
   * `window`: signatures in flight (default 128). `window: 0` verifies each
   * signature at once on the calling thread (cheaper per entry on one core).
   */
  constructor(publicKey: Uint8Array, options: { window?: number } = {}) {
    this.#publicKey = publicKey;
    this.#fingerprint = signerFingerprint(publicKey);
    this.#window = Math.max(0, options.window ?? 128);
  }

  /** Checks the next entry; resolves to the chain's first failure once known (sticky), else null. */
  async push(entry: DecisionLogEntry, where: W): Promise<LocatedFailure<W> | null> {
    if (this.#failed) return this.#failed;
    const at = this.#expectedSequence;
    const bad = checkPlace(entry, at, this.#previousHash) ?? checkSignerAndHash(entry, this.#fingerprint);
    if (bad) return this.fail(bad.reason, bad.message, where);
    if (this.#window === 0) {
      if (!verifySignature(this.#publicKey, Buffer.from(entry.entryHash, 'hex'), Buffer.from(entry.signature, 'hex'))) return this.fail(BAD_SIGNATURE.reason, BAD_SIGNATURE.message, where);
      this.#previousHash = entry.entryHash;
      this.#expectedSequence++;
      return null;
    }
    this.#previousHash = entry.entryHash;
    this.#expectedSequence++;
    const ok = verifySignatureAsync(this.#publicKey, Buffer.from(entry.entryHash, 'hex'), Buffer.from(entry.signature, 'hex'));
    this.#inFlight.push({ sequence: at, where, ok });
    if (this.#inFlight.length >= this.#window) await this.#settleOldest();
    return this.#failed;
  }

  /**
   * Records a failure the caller found at the next expected sequence (e.g. an
   * unreadable line), unless a signature still in flight fails first.
   */
  async fail(reason: VerifyFailureReason, message: string, where: W): Promise<LocatedFailure<W>> {
    if (this.#failed) return this.#failed;
    const at = this.#expectedSequence;
    await this.finish();
    return (this.#failed ??= { ok: false, sequence: at, reason, message, where });
  }

  /** Waits for every signature in flight; resolves to the first failure, or null. */
  async finish(): Promise<LocatedFailure<W> | null> {
    while (this.#inFlight.length > 0 && !this.#failed) await this.#settleOldest();
    this.#inFlight.length = 0;
    return this.#failed;
  }

  /** Entries verified intact so far (after {@link finish}: of the whole chain, up to the first bad one). */
  get count(): number {
    return this.#failed ? this.#failed.sequence : this.#expectedSequence - this.#inFlight.length;
  }

  async #settleOldest(): Promise<void> {
    const oldest = this.#inFlight.shift()!;
    if (!(await oldest.ok) && !this.#failed) {
      this.#failed = { ok: false, sequence: oldest.sequence, reason: BAD_SIGNATURE.reason, message: BAD_SIGNATURE.message, where: oldest.where };
      this.#inFlight.length = 0;
    }
  }
}

function describeMalformed(entry: unknown): string | null {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return 'entry is not an object';
  const e = entry as Record<string, unknown>;
  if (!Number.isSafeInteger(e.sequence) || (e.sequence as number) < 0) return 'sequence is not a non-negative integer';
  if (e.decision === null || typeof e.decision !== 'object' || Array.isArray(e.decision)) return 'decision is not an object';
  if (typeof e.previousHash !== 'string' || !HEX64.test(e.previousHash)) return 'previousHash is not 64 lowercase hex characters';
  if (typeof e.entryHash !== 'string' || !HEX64.test(e.entryHash)) return 'entryHash is not 64 lowercase hex characters';
  if (typeof e.signature !== 'string' || !HEX128.test(e.signature)) return 'signature is not 128 lowercase hex characters';
  if (typeof e.signerFingerprint !== 'string') return 'signerFingerprint is not a string';
  return null;
}
