import { entryCanonicalJson } from './entry-json.js';
import { sha256Hex } from './hash.js';
import { bytesToHex } from './hex.js';
import { signerChangeDecision, type SignerChangeDecision } from './rotation.js';
import type { Signer } from './signer.js';

/** `previousHash` of the first entry (sequence 0): 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** A JSON object carried as an entry's decision. */
export type DecisionPayload = object;

/**
 * One line of the decision log. `entryHash` is SHA-256 over the RFC 8785 form
 * of `{ sequence, decision, previousHash, signerFingerprint }`; `signature` is
 * Ed25519 over the 32 raw bytes of `entryHash`.
 */
export interface DecisionLogEntry<D extends DecisionPayload = DecisionPayload> {
  sequence: number;
  decision: D;
  previousHash: string;
  entryHash: string;
  signature: string;
  signerFingerprint: string;
  /** Optional on a stored line: the signer's public key, for convenience only (never trusted). */
  publicKeyHex?: string;
}

/** The position a new entry is appended at. */
export interface ChainHead {
  sequence: number;
  entryHash: string;
}

/**
 * Lowercase hex SHA-256 of the canonical hashed body of an entry, in the log's
 * wire form ({@link entryCanonicalJson}: integers only, keys by code point —
 * the Python port's rules).
 *
 * @throws CanonicalizationError when the decision holds a value the wire form cannot carry.
 */
export function computeEntryHash(body: { sequence: number; decision: DecisionPayload; previousHash: string; signerFingerprint: string }): string {
  return sha256Hex(
    entryCanonicalJson({
      sequence: body.sequence,
      decision: body.decision,
      previousHash: body.previousHash,
      signerFingerprint: body.signerFingerprint,
    }),
  );
}

/** Builds and signs the entry that follows `head` (or the genesis entry when `head` is null). */
export function signEntry<D extends DecisionPayload>(decision: D, head: ChainHead | null, signer: Signer): DecisionLogEntry<D> {
  const sequence = head ? head.sequence + 1 : 0;
  const previousHash = head ? head.entryHash : GENESIS_HASH;
  const signerFingerprint = signer.fingerprint;
  const entryHash = computeEntryHash({ sequence, decision, previousHash, signerFingerprint });
  const signature = bytesToHex(signer.sign(Buffer.from(entryHash, 'hex')));
  return { sequence, decision, previousHash, entryHash, signature, signerFingerprint };
}

/**
 * Appends to one hash chain. Signing is synchronous so that sequence numbers
 * are handed out in call order even when many decisions are in flight.
 */
export class ChainWriter {
  #head: ChainHead | null;
  #signer: Signer;

  constructor(signer: Signer, head: ChainHead | null = null) {
    this.#signer = signer;
    this.#head = head;
  }

  /** The last entry written, or null before the first. */
  get head(): ChainHead | null {
    return this.#head;
  }

  get signer(): Signer {
    return this.#signer;
  }

  /** Signs `decision` as the next entry and advances the head. */
  append<D extends DecisionPayload>(decision: D): DecisionLogEntry<D> {
    const entry = signEntry(decision, this.#head, this.#signer);
    this.#head = { sequence: entry.sequence, entryHash: entry.entryHash };
    return entry;
  }

  /**
   * Takes back `entry`, the last one appended, when it could not be stored, so
   * the next entry links to `previous` instead of to an entry the log never got.
   * Does nothing (returns false) if another entry was appended after it.
   */
  rewind(entry: DecisionLogEntry, previous: ChainHead | null): boolean {
    if (this.#head?.entryHash !== entry.entryHash) return false;
    this.#head = previous;
    return true;
  }

  /**
   * Rotates the signing key: appends a signer-change entry naming
   * `newSigner`'s public key, signed by the OUTGOING key, then signs every
   * later entry with `newSigner`. The chain goes on (no new genesis). Returns
   * the signer-change entry, which the caller must store like any other.
   */
  rotate(newSigner: Signer, reason: string, timestampMs: number = Date.now()): DecisionLogEntry<SignerChangeDecision> {
    if (newSigner.fingerprint === this.#signer.fingerprint) {
      throw new TypeError(`rotate: the incoming key (${newSigner.fingerprint}) is the key already signing`);
    }
    const entry = this.append(signerChangeDecision(newSigner.publicKey, reason, timestampMs));
    this.#signer = newSigner;
    return entry;
  }
}
