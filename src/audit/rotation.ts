import { bytesToHex } from './hex.js';
import { signerFingerprint } from './keys.js';

/** `entryType` of a signer-change (key rotation) entry. */
export const SIGNER_CHANGE = 'signer_change';

/**
 * The decision payload of a key rotation. It is an ordinary chain entry,
 * signed by the OUTGOING key; every entry after it is signed by the incoming
 * key named here, and the chain goes on (same sequence numbering and links).
 */
export interface SignerChangeDecision {
  entryType: typeof SIGNER_CHANGE;
  /** Raw 32-byte Ed25519 public key of the incoming signer, lowercase hex. */
  newPublicKeyHex: string;
  /** First 16 hex of SHA-256(incoming public key); must match `newPublicKeyHex`. */
  newSignerFingerprint: string;
  /** ISO 8601 UTC with milliseconds. */
  timestamp: string;
  /** Why the key changed (e.g. `scheduled rotation`, `key compromise`). */
  reason: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Builds the signer-change payload that introduces `newPublicKey`. */
export function signerChangeDecision(newPublicKey: Uint8Array, reason: string, timestampMs: number = Date.now()): SignerChangeDecision {
  if (newPublicKey.length !== 32) throw new TypeError(`signer change: incoming public key must be 32 bytes, got ${newPublicKey.length}`);
  if (typeof reason !== 'string' || reason.length === 0) throw new TypeError('signer change: reason must be a non-empty string');
  return {
    entryType: SIGNER_CHANGE,
    newPublicKeyHex: bytesToHex(newPublicKey),
    newSignerFingerprint: signerFingerprint(newPublicKey),
    timestamp: new Date(timestampMs).toISOString(),
    reason,
  };
}

/** True when a decision payload is a signer-change entry (well-formed or not). */
export function isSignerChange(decision: unknown): boolean {
  return decision !== null && typeof decision === 'object' && (decision as { entryType?: unknown }).entryType === SIGNER_CHANGE;
}

/**
 * Checks a signer-change payload; returns what is wrong with it, or null.
 * `currentFingerprint` is the outgoing signer's (a rotation to the same key is refused).
 */
export function describeBadSignerChange(decision: object, currentFingerprint: string): string | null {
  const d = decision as Record<string, unknown>;
  if (typeof d.newPublicKeyHex !== 'string' || !HEX64.test(d.newPublicKeyHex)) return 'newPublicKeyHex is not 64 lowercase hex characters';
  const fp = signerFingerprint(Buffer.from(d.newPublicKeyHex, 'hex'));
  if (d.newSignerFingerprint !== fp) return `newSignerFingerprint ${JSON.stringify(d.newSignerFingerprint)} does not match newPublicKeyHex (fingerprint ${fp})`;
  if (fp === currentFingerprint) return 'rotation to the key that is already signing';
  if (typeof d.reason !== 'string' || d.reason.length === 0) return 'reason is not a non-empty string';
  if (typeof d.timestamp !== 'string') return 'timestamp is not a string';
  return null;
}
