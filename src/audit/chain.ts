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
  /**
   * Written by the Python port (0.16+) when it has a builder code: 6-12
   * upper-case letters and digits, part of the hashed body. Never written here.
   */
  builderCode?: string | null;
}

/** The position a new entry is appended at. */
export interface ChainHead {
  sequence: number;
  entryHash: string;
}

/** The fields of an entry that its `entryHash` covers. */
export interface HashedEntryBody {
  sequence: number;
  decision: DecisionPayload;
  previousHash: string;
  signerFingerprint: string;
  /**
   * The Python port's (0.16+) builder code: part of the hashed body (a fifth
   * key) when it is a string; `null` or absent leaves it out.
   */
  builderCode?: string | null;
}

/**
 * Optional fields of the Python port's decision that it omits from the hashed
 * body when unset but its file store writes as `null`: for these (and only
 * these) `null` means absent, and the hashed body leaves them out.
 */
export const NULL_MEANS_ABSENT = {
  decision: ['builderCode', 'provenance', 'entryType', 'outcomeReceipt', 'governanceReceipt'],
  triggeredCap: ['downgradeTo', 'reason'],
} as const;

/** `decision` as hashed: the {@link NULL_MEANS_ABSENT} fields that are null left out (a copy only when there are any). */
export function hashedDecision(decision: DecisionPayload): DecisionPayload {
  const d = decision as Record<string, unknown>;
  const cap = d.triggeredCap;
  const capNulls =
    cap !== null &&
    typeof cap === 'object' &&
    !Array.isArray(cap) &&
    NULL_MEANS_ABSENT.triggeredCap.some((k) => Object.hasOwn(cap, k) && (cap as Record<string, unknown>)[k] === null);
  const nulls = NULL_MEANS_ABSENT.decision.some((k) => Object.hasOwn(d, k) && d[k] === null);
  if (!capNulls && !nulls) return decision;
  const out: Record<string, unknown> = { ...d };
  for (const k of NULL_MEANS_ABSENT.decision) if (Object.hasOwn(out, k) && out[k] === null) delete out[k];
  if (capNulls) {
    const c: Record<string, unknown> = { ...(cap as Record<string, unknown>) };
    for (const k of NULL_MEANS_ABSENT.triggeredCap) if (Object.hasOwn(c, k) && c[k] === null) delete c[k];
    out.triggeredCap = c;
  }
  return out;
}

/**
 * Lowercase hex SHA-256 of the canonical hashed body of an entry, in the log's
 * wire form ({@link entryCanonicalJson}: integers only, keys by code point —
 * the Python port's rules): `{ sequence, decision, previousHash,
 * signerFingerprint }`, plus `builderCode` when it is set, with the decision's
 * {@link NULL_MEANS_ABSENT} nulls left out.
 *
 * @throws CanonicalizationError when the decision holds a value the wire form cannot carry.
 */
export function computeEntryHash(body: HashedEntryBody): string {
  const hashed: Record<string, unknown> = {
    sequence: body.sequence,
    decision: hashedDecision(body.decision),
    previousHash: body.previousHash,
    signerFingerprint: body.signerFingerprint,
  };
  if (typeof body.builderCode === 'string') hashed.builderCode = body.builderCode;
  return sha256Hex(entryCanonicalJson(hashed));
}

/**
 * Builds the entry that follows `head` (or the genesis entry when `head` is
 * null), hashed and linked but not signed: `signature` is the empty string
 * until {@link signLinkedEntry} fills it in. The hash does not depend on the
 * signature, so it can be handed out (e.g. on a span) before signing.
 */
export function linkEntry<D extends DecisionPayload>(decision: D, head: ChainHead | null, signer: Pick<Signer, 'fingerprint'>): DecisionLogEntry<D> {
  const sequence = head ? head.sequence + 1 : 0;
  const previousHash = head ? head.entryHash : GENESIS_HASH;
  const signerFingerprint = signer.fingerprint;
  const entryHash = computeEntryHash({ sequence, decision, previousHash, signerFingerprint });
  return { sequence, decision, previousHash, entryHash, signature: '', signerFingerprint };
}

/** Signs a {@link linkEntry} entry in place (Ed25519 over the raw bytes of its hash) and returns it. */
export function signLinkedEntry<D extends DecisionPayload>(entry: DecisionLogEntry<D>, signer: Signer): DecisionLogEntry<D> {
  entry.signature = bytesToHex(signer.sign(Buffer.from(entry.entryHash, 'hex')));
  return entry;
}

/** Builds and signs the entry that follows `head` (or the genesis entry when `head` is null). */
export function signEntry<D extends DecisionPayload>(decision: D, head: ChainHead | null, signer: Signer): DecisionLogEntry<D> {
  return signLinkedEntry(linkEntry(decision, head, signer), signer);
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
    return signLinkedEntry(this.link(decision), this.#signer);
  }

  /**
   * Hashes and links `decision` as the next entry and advances the head,
   * leaving the signature to the caller (see {@link linkEntry}): it must be
   * signed by {@link signer} as it was when this was called.
   */
  link<D extends DecisionPayload>(decision: D): DecisionLogEntry<D> {
    const entry = linkEntry(decision, this.#head, this.#signer);
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
   * With `signLater` it is only linked (see {@link link}): the caller signs it
   * with the outgoing key.
   */
  rotate(newSigner: Signer, reason: string, timestampMs: number = Date.now(), options: { signLater?: boolean } = {}): DecisionLogEntry<SignerChangeDecision> {
    if (newSigner.fingerprint === this.#signer.fingerprint) {
      throw new TypeError(`rotate: the incoming key (${newSigner.fingerprint}) is the key already signing`);
    }
    const decision = signerChangeDecision(newSigner.publicKey, reason, timestampMs);
    // signLater: linked only; the caller signs it with the outgoing key (the signer before this call).
    const entry = options.signLater ? this.link(decision) : this.append(decision);
    this.#signer = newSigner;
    return entry;
  }
}
