import { computeEntryHash, GENESIS_HASH, type DecisionLogEntry } from './chain.js';
import { BUILDER_CODE } from './log-line.js';
import { describeMalformedCheckpoint, verifyCheckpointSignature, type Checkpoint } from './checkpoint.js';
import { signerFingerprint } from './keys.js';
import { describeBadSignerChange, isSignerChange } from './rotation.js';
import { verifySignature, verifySignatureAsync } from './signer.js';

/**
 * Why verification failed.
 * - entry checks: `malformed_entry`, `sequence_gap`, `broken_link`,
 *   `hash_mismatch`, `bad_signature`;
 * - what a stored line carries beyond what was signed: `unknown_field` (a
 *   top-level field that is not part of the entry), `duplicate_key` (a key
 *   twice in one object of the line), `non_canonical` (a number or builder
 *   code spelled otherwise than the signed value, e.g. `1.0`); duplicate keys
 *   and number spellings are found by the line reader (`parseLogLine`), which
 *   sees the bytes, not in an entry handed over as an object;
 * - `no_entries`: log files that hold no valid entry at all (file
 *   verification only; an empty iterable handed to {@link verifyChain} is ok);
 * - signers: `wrong_signer` (signed by a key other than the one expected at
 *   that point, e.g. a key retired by a rotation), `untrusted_signer` (in a
 *   rotated chain or one verified with `trustedKeys`: a key that neither the
 *   auditor trusted nor a signer-change entry introduced), `bad_rotation` (a
 *   signer-change entry whose payload is invalid);
 * - checkpoints: `truncated` (the log ends before a checkpoint's sequence),
 *   `fork` (the chain's hash at a checkpoint's sequence differs),
 *   `swapped_log` (the log is another chain than the checkpoints' or the
 *   expected `chainId`), `bad_checkpoint` (malformed, unknown signer, or bad signature).
 */
export type VerifyFailureReason =
  | 'malformed_entry'
  | 'unknown_field'
  | 'duplicate_key'
  | 'non_canonical'
  | 'no_entries'
  | 'sequence_gap'
  | 'broken_link'
  | 'hash_mismatch'
  | 'bad_signature'
  | 'wrong_signer'
  | 'untrusted_signer'
  | 'bad_rotation'
  | 'truncated'
  | 'fork'
  | 'swapped_log'
  | 'bad_checkpoint';

/**
 * Outcome of verifying a chain: intact with `count` entries, or the first bad
 * entry. When verified with options, an intact result also says how many
 * checkpoints were checked and which keys signed (fingerprints, in order).
 */
export type ChainVerification =
  { ok: true; count: number; checkpoints?: number; signers?: string[] } | { ok: false; sequence: number; reason: VerifyFailureReason; message: string };

/** A failed {@link ChainVerification}. */
export type ChainVerificationFailure = Extract<ChainVerification, { ok: false }>;

/** Outcome of verifying one entry on its own (hash, signer, signature). */
export type EntryVerification = { ok: true } | { ok: false; reason: VerifyFailureReason; message: string };

/** What else a chain is verified against. */
export interface VerifyOptions {
  /**
   * Keys the auditor trusts besides `publicKey`: the chain may start with any
   * of them. Keys introduced by signer-change entries are followed either way.
   */
  trustedKeys?: Iterable<Uint8Array>;
  /** Signed checkpoints (from the checkpoint file or span events) to hold the log against. */
  checkpoints?: Iterable<Checkpoint>;
  /** The chain id the auditor expects (the sequence-0 entry's hash); a different log is `swapped_log`. */
  chainId?: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
/** Hex standing for bytes: all lower case or all upper case (the Python port accepts both; mixed case is nobody's output). */
const ANY_CASE_HEX64 = /^(?:[0-9a-f]{64}|[0-9A-F]{64})$/;
const ANY_CASE_HEX128 = /^(?:[0-9a-f]{128}|[0-9A-F]{128})$/;
const ENTRY_FIELDS: ReadonlySet<string> = new Set([
  'sequence',
  'decision',
  'previousHash',
  'entryHash',
  'signature',
  'signerFingerprint',
  'publicKeyHex',
  'builderCode',
]);

/**
 * Checks one entry against `publicKey`: well-formed, signed by that key's
 * fingerprint, `entryHash` recomputed from its body, and a valid Ed25519
 * signature over the hash bytes. Does not check its place in a chain.
 */
export function verifyEntry(entry: DecisionLogEntry, publicKey: Uint8Array, fingerprint = signerFingerprint(publicKey)): EntryVerification {
  const shape = describeMalformed(entry);
  if (shape) return { ok: false, ...shape };
  return checkSignerAndHash(entry, fingerprint) ?? (signatureVerifies(entry, publicKey) ? { ok: true } : BAD_SIGNATURE);
}

const BAD_SIGNATURE = { ok: false, reason: 'bad_signature', message: 'Ed25519 signature does not verify' } as const;

function signatureVerifies(entry: DecisionLogEntry, publicKey: Uint8Array): boolean {
  return verifySignature(publicKey, Buffer.from(entry.entryHash, 'hex'), Buffer.from(entry.signature, 'hex'));
}

/** Signer and recomputed hash of a well-formed entry: everything {@link verifyEntry} checks but the shape and the signature. */
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

/**
 * Verifies a whole chain in order: sequence starts at 0 and rises by one,
 * each `previousHash` links to the entry before, and every entry passes
 * {@link verifyEntry} with the key signing at that point. Signer-change
 * entries are followed from `publicKey` (or any of `options.trustedKeys`);
 * `options.checkpoints` are checked once the last entry is in. Reports the
 * first failure, with its sequence and reason.
 *
 * `publicKey` may be null when `options.trustedKeys` names the starting keys.
 */
export function verifyChain(entries: Iterable<DecisionLogEntry>, publicKey: Uint8Array | null, options?: VerifyOptions): ChainVerification {
  const verifier = new ChainVerifier(publicKey, options);
  for (const entry of entries) {
    if (verifier.push(entry)) break;
  }
  return verifier.finish();
}

interface KnownKey {
  publicKey: Uint8Array;
  /** Sequence of the signer-change entry that retired it, if any. */
  retiredAt?: number;
  trusted: boolean;
}

interface AtCheckpoint {
  entryHash: string;
  /** Fingerprints that may sign a checkpoint here: the entry's signer and the signer after it. */
  signers: string[];
}

/**
 * Incremental chain verification, one entry at a time, so a log of any size
 * verifies in constant memory (used by the CLI's streaming `verify`). Call
 * {@link finish} after the last entry to run the checkpoint checks.
 */
export class ChainVerifier {
  readonly #known = new Map<string, KnownKey>();
  readonly #trustedGiven: boolean;
  /** Fingerprint of the key signing now; null until sequence 0 picks one of several trusted keys. */
  #current: string | null;
  readonly #signers: string[] = [];
  #rotations = 0;
  #expectedSequence = 0;
  #previousHash = GENESIS_HASH;
  #genesisHash: string | null = null;
  #failed: ChainVerificationFailure | null = null;
  readonly #checkpoints: Checkpoint[];
  readonly #checkpointSequences = new Set<number>();
  readonly #atCheckpoint = new Map<number, AtCheckpoint>();
  readonly #expectedChainId: string | undefined;
  readonly #withOptions: boolean;

  constructor(publicKey: Uint8Array | null, options?: VerifyOptions) {
    this.#withOptions = options !== undefined;
    const trusted = [...(options?.trustedKeys ?? [])];
    this.#trustedGiven = trusted.length > 0;
    const starting = [...(publicKey ? [publicKey] : []), ...trusted];
    if (starting.length === 0) throw new TypeError('verifyChain: give a public key or options.trustedKeys');
    for (const key of starting) {
      if (!(key instanceof Uint8Array) || key.length !== 32) throw new TypeError('verifyChain: every public key must be 32 raw bytes');
      this.#known.set(signerFingerprint(key), { publicKey: key, trusted: true });
    }
    this.#current = this.#known.size === 1 ? [...this.#known.keys()][0]! : null;
    this.#checkpoints = [...(options?.checkpoints ?? [])];
    for (const cp of this.#checkpoints) {
      const seq = (cp as { sequence?: unknown } | null)?.sequence;
      if (Number.isSafeInteger(seq)) this.#checkpointSequences.add(seq as number);
    }
    this.#expectedChainId = options?.chainId;
  }

  /** Entries verified so far. */
  get count(): number {
    return this.#expectedSequence;
  }

  /** The chain head after the last verified entry. */
  get head(): { sequence: number; entryHash: string } | null {
    return this.#expectedSequence === 0 ? null : { sequence: this.#expectedSequence - 1, entryHash: this.#previousHash };
  }

  /** Fingerprint of the key expected to sign the next entry (null before sequence 0 when several keys are trusted). */
  get currentSigner(): string | null {
    return this.#current;
  }

  /** Verifies the next entry; returns the failure (sticky) or null. */
  push(entry: DecisionLogEntry): ChainVerificationFailure | null {
    return this.#push(entry, null);
  }

  /**
   * {@link push} without the Ed25519 check: when the entry gets as far as its
   * signature, `checkSignature` is handed the key it must verify under, and the
   * caller owns that check (see {@link PipelinedChainVerifier}). A later bad
   * signature makes every result after it moot; the caller reports the first.
   */
  pushDeferringSignature(entry: DecisionLogEntry, checkSignature: (publicKey: Uint8Array) => void): ChainVerificationFailure | null {
    return this.#push(entry, checkSignature);
  }

  #push(entry: DecisionLogEntry, deferred: ((publicKey: Uint8Array) => void) | null): ChainVerificationFailure | null {
    if (this.#failed) return this.#failed;
    const at = this.#expectedSequence;
    const fail = (reason: VerifyFailureReason, message: string) => (this.#failed = { ok: false, sequence: at, reason, message });
    const shape = describeMalformed(entry);
    if (shape) return fail(shape.reason, shape.message);
    if (entry.sequence !== at) {
      return fail('sequence_gap', `expected sequence ${at}, got ${entry.sequence}`);
    }
    if (entry.previousHash !== this.#previousHash) {
      return fail('broken_link', `previousHash ${entry.previousHash} does not match entry ${at - 1}'s hash ${this.#previousHash}`);
    }
    const signer = this.#resolveSigner(entry.signerFingerprint);
    if (typeof signer === 'object' && 'reason' in signer) return fail(signer.reason, signer.message);
    // Shape was checked above; then signer and hash, then the signature (here or by the caller).
    const bad = checkSignerAndHash(entry, entry.signerFingerprint);
    if (bad) return fail(bad.reason, bad.message);
    if (deferred) deferred(signer);
    else if (!signatureVerifies(entry, signer)) return fail(BAD_SIGNATURE.reason, BAD_SIGNATURE.message);
    const signedBy = entry.signerFingerprint;
    if (this.#current === null) this.#current = signedBy;
    if (this.#signers.at(-1) !== signedBy) this.#signers.push(signedBy);
    if (isSignerChange(entry.decision)) {
      const bad = describeBadSignerChange(entry.decision, signedBy);
      if (bad) return fail('bad_rotation', `signer_change entry: ${bad}`);
      const d = entry.decision as { newPublicKeyHex: string; newSignerFingerprint: string };
      if (this.#known.get(d.newSignerFingerprint)?.retiredAt !== undefined) {
        return fail('bad_rotation', `signer_change entry: ${d.newSignerFingerprint} was retired earlier and cannot come back`);
      }
      this.#known.get(signedBy)!.retiredAt = at;
      const previous = this.#known.get(d.newSignerFingerprint);
      this.#known.set(d.newSignerFingerprint, { publicKey: new Uint8Array(Buffer.from(d.newPublicKeyHex, 'hex')), trusted: previous?.trusted ?? false });
      this.#current = d.newSignerFingerprint;
      this.#rotations++;
    }
    if (at === 0) {
      this.#genesisHash = entry.entryHash;
      const swapped = this.#earlySwap(entry.entryHash);
      if (swapped) return (this.#failed = swapped);
    }
    if (this.#checkpointSequences.has(at)) {
      this.#atCheckpoint.set(at, { entryHash: entry.entryHash, signers: [...new Set([signedBy, this.#current!])] });
    }
    this.#previousHash = entry.entryHash;
    this.#expectedSequence++;
    return null;
  }

  /**
   * The verdict after the last entry: the first entry failure if any, else the
   * checkpoint checks (`bad_checkpoint`, then `swapped_log`, then `fork` or
   * `truncated` in sequence order), else ok.
   */
  finish(): ChainVerification {
    if (this.#failed) return this.#failed;
    const failure = this.#checkCheckpoints();
    if (failure) return (this.#failed = failure);
    if (!this.#withOptions) return { ok: true, count: this.count };
    return { ok: true, count: this.count, checkpoints: this.#checkpoints.length, signers: [...this.#signers] };
  }

  /**
   * At sequence 0: a checkpoint for another chain that the genesis signer (or
   * a trusted key) signed proves at once that this log is not that chain.
   * Checkpoints by keys introduced later are judged in {@link finish}.
   */
  #earlySwap(genesisHash: string): ChainVerificationFailure | null {
    for (const cp of this.#checkpoints) {
      if (describeMalformedCheckpoint(cp) || cp.chainId === genesisHash) continue;
      const key = this.#known.get(cp.signerFingerprint);
      if (!key || !(key.trusted || cp.signerFingerprint === this.#current)) continue;
      if (!verifyCheckpointSignature(cp, key.publicKey)) continue;
      return {
        ok: false,
        sequence: 0,
        reason: 'swapped_log',
        message: `checkpoint at sequence ${cp.sequence} is for chain ${cp.chainId}, but this log is chain ${genesisHash} (its sequence-0 entryHash)`,
      };
    }
    return null;
  }

  #resolveSigner(fingerprint: string): Uint8Array | { reason: VerifyFailureReason; message: string } {
    if (this.#current === null) {
      const start = this.#known.get(fingerprint);
      if (start) return start.publicKey;
      return { reason: 'untrusted_signer', message: `signed by ${fingerprint}, which is none of the ${this.#known.size} trusted keys` };
    }
    if (fingerprint === this.#current) return this.#known.get(fingerprint)!.publicKey;
    const known = this.#known.get(fingerprint);
    if (known?.retiredAt !== undefined) {
      return {
        reason: 'wrong_signer',
        message: `signed by ${fingerprint}, retired by the signer_change entry at sequence ${known.retiredAt}; the chain's signer is ${this.#current}`,
      };
    }
    if (known) {
      return {
        reason: 'wrong_signer',
        message: `signed by trusted key ${fingerprint}, but the chain's signer here is ${this.#current} and no signer_change entry introduced ${fingerprint}`,
      };
    }
    if (this.#rotations > 0 || this.#trustedGiven) {
      return {
        reason: 'untrusted_signer',
        message: `signed by ${fingerprint}, a key neither trusted nor introduced by a signer_change entry (the chain's signer here is ${this.#current})`,
      };
    }
    return { reason: 'wrong_signer', message: `signed by ${fingerprint}, expected ${this.#current}` };
  }

  #checkCheckpoints(): ChainVerificationFailure | null {
    const count = this.count;
    if (this.#expectedChainId !== undefined && this.#genesisHash !== null && this.#expectedChainId !== this.#genesisHash) {
      return {
        ok: false,
        sequence: 0,
        reason: 'swapped_log',
        message: `the log's chain id (sequence-0 entryHash) is ${this.#genesisHash}, expected ${this.#expectedChainId}`,
      };
    }
    const sorted = this.#checkpoints.map((cp, index) => ({ cp, index })).sort((a, b) => seqOf(a.cp) - seqOf(b.cp) || a.index - b.index);
    // Keys the auditor trusts may vouch anywhere, unless this chain retired them.
    const vouching = [...this.#known].filter(([, k]) => k.trusted && k.retiredAt === undefined).map(([fp]) => fp);
    const endSigners = new Set([this.#current ?? '', ...vouching]);
    // 1. Every checkpoint must be well-formed and signed by a key the chain had at its sequence.
    for (const { cp, index } of sorted) {
      const bad = (message: string): ChainVerificationFailure => ({
        ok: false,
        sequence: Math.max(0, Math.min(seqOf(cp), count)),
        reason: 'bad_checkpoint',
        message: `checkpoint #${index}${seqOf(cp) >= 0 ? ` (sequence ${seqOf(cp)})` : ''}: ${message}`,
      });
      const shape = describeMalformedCheckpoint(cp);
      if (shape) return bad(shape);
      const here = this.#atCheckpoint.get(cp.sequence);
      const allowed = here ? new Set([...here.signers, ...vouching]) : endSigners;
      if (!allowed.has(cp.signerFingerprint)) {
        return bad(
          here
            ? `signed by ${cp.signerFingerprint}, which was not the chain's signer at that sequence (${here.signers.join(' or ')})`
            : `beyond the log's end and signed by ${cp.signerFingerprint}, which is neither trusted nor the log's last signer; pass it in trustedKeys to check for truncation`,
        );
      }
      if (!verifyCheckpointSignature(cp, this.#known.get(cp.signerFingerprint)!.publicKey)) return bad('Ed25519 signature does not verify');
    }
    // 2. They must all belong to this chain.
    if (this.#genesisHash !== null) {
      for (const { cp } of sorted) {
        if (cp.chainId !== this.#genesisHash) {
          return {
            ok: false,
            sequence: 0,
            reason: 'swapped_log',
            message: `checkpoint at sequence ${cp.sequence} is for chain ${cp.chainId}, but this log is chain ${this.#genesisHash} (its sequence-0 entryHash)`,
          };
        }
      }
    }
    // 3. The chain must pass through every checkpoint.
    for (const { cp } of sorted) {
      const here = this.#atCheckpoint.get(cp.sequence);
      if (!here) {
        return {
          ok: false,
          sequence: count,
          reason: 'truncated',
          message: `the log ends after ${count} entries, but a checkpoint signed at ${cp.timestamp} records sequence ${cp.sequence}`,
        };
      }
      if (here.entryHash !== cp.entryHash) {
        return {
          ok: false,
          sequence: cp.sequence,
          reason: 'fork',
          message: `entry ${cp.sequence} has hash ${here.entryHash}, but the checkpoint signed at ${cp.timestamp} records ${cp.entryHash}`,
        };
      }
    }
    return null;
  }
}

/** A chain failure, with where the caller found the bad entry (absent for checkpoint failures found at the end). */
export type LocatedFailure<W> = ChainVerificationFailure & { where?: W };

/**
 * {@link ChainVerifier} for large logs: everything but the Ed25519 signatures
 * is checked on the calling thread as entries arrive (sequence, link, signer,
 * rotation, hash), while up to `window` signatures are verified at once on the
 * libuv threadpool ({@link verifySignatureAsync}), so every core works. The
 * verdict is ChainVerifier's: the first bad entry by sequence (a bad signature
 * found late wins over any failure after it, and over a later check of the
 * same entry), then the checkpoint checks in {@link finish}. `where` (e.g.
 * file and line) is carried to the failure.
 */
export class PipelinedChainVerifier<W = undefined> {
  readonly #inner: ChainVerifier;
  readonly #window: number;
  readonly #inFlight: { sequence: number; where: W; ok: Promise<boolean> }[] = [];
  #failed: LocatedFailure<W> | null = null;

  /**
   * `window`: signatures in flight (default 128); 0 checks each one at once on
   * the calling thread (cheaper per entry when there is a single core).
   */
  constructor(publicKey: Uint8Array | null, options: VerifyOptions & { window?: number } = {}) {
    const { window, ...verifyOptions } = options;
    this.#inner = new ChainVerifier(publicKey, Object.keys(verifyOptions).length > 0 ? verifyOptions : undefined);
    this.#window = Math.max(0, window ?? 128);
  }

  /** Checks the next entry; resolves to the chain's first failure once it is known (sticky), else null. */
  async push(entry: DecisionLogEntry, where: W): Promise<LocatedFailure<W> | null> {
    if (this.#failed) return this.#failed;
    if (this.#window === 0) {
      const failure = this.#inner.push(entry);
      return failure ? (this.#failed = { ...failure, where }) : null;
    }
    const at = this.#inner.count;
    const failure = this.#inner.pushDeferringSignature(entry, (publicKey) => {
      const ok = verifySignatureAsync(publicKey, Buffer.from(entry.entryHash, 'hex'), Buffer.from(entry.signature, 'hex'));
      this.#inFlight.push({ sequence: at, where, ok });
    });
    if (failure) {
      await this.#drain();
      return (this.#failed ??= { ...failure, where });
    }
    if (this.#inFlight.length >= this.#window) await this.#settleOldest();
    return this.#failed;
  }

  /**
   * Records a failure the caller found at the next expected sequence (e.g. a
   * line that is not JSON), unless a signature still in flight fails first.
   */
  async fail(reason: VerifyFailureReason, message: string, where: W): Promise<LocatedFailure<W>> {
    if (this.#failed) return this.#failed;
    const at = this.#inner.count;
    await this.#drain();
    return (this.#failed ??= { ok: false, sequence: at, reason, message, where });
  }

  /** After the last entry: waits for the signatures in flight, then the checkpoint checks. */
  async finish(): Promise<ChainVerification | LocatedFailure<W>> {
    await this.#drain();
    if (this.#failed) return this.#failed;
    const verdict = this.#inner.finish();
    if (!verdict.ok) this.#failed = verdict;
    return verdict;
  }

  /** Entries verified intact (once {@link finish} resolved: up to the first bad one). */
  get count(): number {
    return this.#failed ? this.#failed.sequence : this.#inner.count - this.#inFlight.length;
  }

  async #drain(): Promise<void> {
    while (this.#inFlight.length > 0 && !this.#failed) await this.#settleOldest();
    this.#inFlight.length = 0;
  }

  async #settleOldest(): Promise<void> {
    const oldest = this.#inFlight.shift()!;
    if (!(await oldest.ok) && !this.#failed) {
      this.#failed = { ok: false, sequence: oldest.sequence, reason: BAD_SIGNATURE.reason, message: BAD_SIGNATURE.message, where: oldest.where };
      this.#inFlight.length = 0;
    }
  }
}

/** A checkpoint's sequence, or -1 when it has none (malformed ones sort first). */
function seqOf(cp: unknown): number {
  const s = (cp as { sequence?: unknown } | null)?.sequence;
  return Number.isSafeInteger(s) && (s as number) >= 0 ? (s as number) : -1;
}

const HEX16 = /^[0-9a-f]{16}$/;

/**
 * What is wrong with an entry's shape, if anything. Entries read from a line
 * went through `parseLogLine` (which also sees duplicate keys and number
 * spellings); entries handed over as objects are held to the same fields.
 */
function describeMalformed(entry: unknown): { reason: VerifyFailureReason; message: string } | null {
  const malformed = (message: string) => ({ reason: 'malformed_entry' as const, message });
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return malformed('entry is not an object');
  const e = entry as Record<string, unknown>;
  for (const key of Object.keys(e)) {
    if (!ENTRY_FIELDS.has(key)) return { reason: 'unknown_field', message: `unknown top-level field ${JSON.stringify(key)}: it is not signed` };
  }
  if (!Number.isSafeInteger(e.sequence) || (e.sequence as number) < 0) return malformed('sequence is not a non-negative integer');
  if (e.decision === null || typeof e.decision !== 'object' || Array.isArray(e.decision)) return malformed('decision is not an object');
  if (typeof e.previousHash !== 'string' || !HEX64.test(e.previousHash)) return malformed('previousHash is not 64 lowercase hex characters');
  if (typeof e.entryHash !== 'string' || !HEX64.test(e.entryHash)) return malformed('entryHash is not 64 lowercase hex characters');
  if (typeof e.signature !== 'string' || !ANY_CASE_HEX128.test(e.signature))
    return malformed('signature is not 128 hex characters, all lower or all upper case');
  if (typeof e.signerFingerprint !== 'string') return malformed('signerFingerprint is not a string');
  if (e.builderCode !== undefined && e.builderCode !== null && (typeof e.builderCode !== 'string' || !BUILDER_CODE.test(e.builderCode))) {
    return { reason: 'non_canonical', message: 'builderCode is not null or 6-12 upper-case letters and digits (the form the Python port hashes)' };
  }
  if (e.publicKeyHex !== undefined) {
    // Never trusted, but it must not contradict the signed fingerprint either.
    if (typeof e.publicKeyHex !== 'string' || !ANY_CASE_HEX64.test(e.publicKeyHex))
      return malformed('publicKeyHex is not 64 hex characters, all lower or all upper case');
    if (HEX16.test(e.signerFingerprint) && signerFingerprint(Buffer.from(e.publicKeyHex, 'hex')) !== e.signerFingerprint) {
      return malformed(`publicKeyHex does not match signerFingerprint ${e.signerFingerprint}`);
    }
  }
  return null;
}
