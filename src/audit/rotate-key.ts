import { ChainWriter, type ChainHead, type DecisionLogEntry } from './chain.js';
import { publicKeyFromSeed, type SigningKeys } from './keys.js';
import type { SignerChangeDecision } from './rotation.js';
import { createSigner, type SignerBackend } from './signer.js';

/** What {@link rotateChainKey} needs: where the chain stands and both key pairs. */
export interface RotateChainKeyOptions {
  /** The chain's last entry (from the log), which the outgoing key signed or introduced. */
  head: ChainHead;
  /** The key signing the chain now. */
  outgoingKeys: SigningKeys;
  /** The key that signs from the next entry on. */
  incomingKeys: SigningKeys;
  reason: string;
  /** Milliseconds since the epoch (default now). */
  timestampMs?: number;
  signerBackend?: SignerBackend;
}

/**
 * The `signer_change` entry that rotates an existing chain from
 * `outgoingKeys` to `incomingKeys` at `head`, for a tool that works on a log
 * with no guard running (the CLI's `rotate-key`): append the returned entry to
 * the log, then start the guard with `incomingKeys`. In a running process use
 * `SpendGuard.rotateSigningKey` instead, so that no decision slips in between.
 */
export function rotateChainKey(options: RotateChainKeyOptions): DecisionLogEntry<SignerChangeDecision> {
  for (const [name, keys] of [
    ['outgoingKeys', options.outgoingKeys],
    ['incomingKeys', options.incomingKeys],
  ] as const) {
    if (!Buffer.from(publicKeyFromSeed(keys.privateKey)).equals(Buffer.from(keys.publicKey))) {
      throw new TypeError(`rotateChainKey: ${name}.publicKey is not the public key of ${name}.privateKey`);
    }
  }
  if (!options.head || !Number.isSafeInteger(options.head.sequence) || options.head.sequence < 0) {
    throw new TypeError("rotateChainKey: head must be the chain's last entry ({ sequence, entryHash })");
  }
  const writer = new ChainWriter(createSigner(options.outgoingKeys, options.signerBackend), options.head);
  return writer.rotate(createSigner(options.incomingKeys, options.signerBackend), options.reason, options.timestampMs ?? Date.now());
}
