import { computeEntryHash, GENESIS_HASH, type DecisionLogEntry } from './chain.js';
import { signerFingerprint } from './keys.js';
import { verifySignature } from './signer.js';

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
  if (!verifySignature(publicKey, Buffer.from(entry.entryHash, 'hex'), Buffer.from(entry.signature, 'hex'))) {
    return { ok: false, reason: 'bad_signature', message: 'Ed25519 signature does not verify' };
  }
  return { ok: true };
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
    const fail = (reason: VerifyFailureReason, message: string) => (this.#failed = { ok: false, sequence: at, reason, message });
    const shape = describeMalformed(entry);
    if (shape) return fail('malformed_entry', shape);
    if (entry.sequence !== at) {
      return fail('sequence_gap', `expected sequence ${at}, got ${entry.sequence}`);
    }
    if (entry.previousHash !== this.#previousHash) {
      return fail('broken_link', `previousHash ${entry.previousHash} does not match entry ${at - 1}'s hash ${this.#previousHash}`);
    }
    const result = verifyEntry(entry, this.#publicKey, this.#fingerprint);
    if (!result.ok) return fail(result.reason, result.message);
    this.#previousHash = entry.entryHash;
    this.#expectedSequence++;
    return null;
  }

  /** The chain head after the last verified entry. */
  get head(): { sequence: number; entryHash: string } | null {
    return this.#expectedSequence === 0 ? null : { sequence: this.#expectedSequence - 1, entryHash: this.#previousHash };
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
