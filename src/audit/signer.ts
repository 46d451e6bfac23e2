import * as crypto from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { privateKeyObject, publicKeyFromSeed, publicKeyObject, signerFingerprint, type SigningKeys } from './keys.js';

ed.hashes.sha512 = sha512;

/** Signs the 32 raw bytes of an entry hash. */
export interface Signer {
  readonly publicKey: Uint8Array;
  /** First 16 hex of SHA-256(publicKey), written into every entry. */
  readonly fingerprint: string;
  sign(message: Uint8Array): Uint8Array;
}

/** Which Ed25519 implementation signs: node:crypto (fast) or @noble (portable). */
export type SignerBackend = 'node' | 'noble';

/**
 * A signer over `keys`. The node:crypto KeyObject is built once here: importing
 * a key per signature costs ~10× the signature itself.
 */
export function createSigner(keys: SigningKeys, backend: SignerBackend = nodeHasEd25519() ? 'node' : 'noble'): Signer {
  const fingerprint = signerFingerprint(keys.publicKey);
  const publicKey = new Uint8Array(keys.publicKey);
  // A mismatched pair would sign under one key and name another: no one could verify the log.
  const derived = backend === 'node' ? publicKeyFromSeed(keys.privateKey) : ed.getPublicKey(new Uint8Array(keys.privateKey));
  if (!Buffer.from(derived).equals(Buffer.from(publicKey))) throw new TypeError('signing keys: the public key is not the one of the private key');
  if (backend === 'node') {
    const key = privateKeyObject(keys.privateKey);
    const signer: Signer = { publicKey, fingerprint, sign: (message) => new Uint8Array(crypto.sign(null, message, key)) };
    signingKeyObjects.set(signer, key);
    return signer;
  }
  const seed = new Uint8Array(keys.privateKey);
  return { publicKey, fingerprint, sign: (message) => ed.sign(message, seed) };
}

/** The private KeyObject of each node:crypto signer made here, for the signing worker; never on the signer itself. */
const signingKeyObjects = new WeakMap<Signer, crypto.KeyObject>();

/**
 * The node:crypto private KeyObject behind a signer made by {@link createSigner}
 * with the `node` backend (what the signing worker is handed, once per key);
 * undefined for any other signer, which then signs on the calling thread.
 * @internal
 */
export function signerKeyObject(signer: Signer): crypto.KeyObject | undefined {
  return signingKeyObjects.get(signer);
}

const publicKeyCache = new Map<string, crypto.KeyObject>();

/** The cached node:crypto KeyObject of a raw public key, or null when it is not a valid key. */
function cachedPublicKey(publicKey: Uint8Array): crypto.KeyObject | null {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('hex');
  let key = publicKeyCache.get(id);
  if (!key) {
    try {
      key = publicKeyObject(publicKey);
    } catch {
      return null;
    }
    if (publicKeyCache.size > 64) publicKeyCache.clear();
    publicKeyCache.set(id, key);
  }
  return key;
}

/**
 * Strict RFC 8032 Ed25519 verification. Public KeyObjects are cached per key,
 * since a chain is verified against one or a few keys.
 */
export function verifySignature(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  backend: SignerBackend = nodeHasEd25519() ? 'node' : 'noble',
): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  if (backend === 'noble') return ed.verify(signature, message, publicKey, { zip215: false });
  const key = cachedPublicKey(publicKey);
  return key ? crypto.verify(null, message, key, signature) : false;
}

/**
 * {@link verifySignature} off the calling thread: node:crypto runs it on the
 * libuv threadpool, so a verifier keeping several in flight uses every core
 * while its own thread reads, parses and hashes. Same result as the sync form.
 */
export function verifySignatureAsync(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  backend: SignerBackend = nodeHasEd25519() ? 'node' : 'noble',
): Promise<boolean> {
  if (backend === 'noble' || signature.length !== 64 || publicKey.length !== 32)
    return Promise.resolve(verifySignature(publicKey, message, signature, backend));
  const key = cachedPublicKey(publicKey);
  if (!key) return Promise.resolve(false);
  return new Promise((resolve) => crypto.verify(null, message, key, signature, (err, ok) => resolve(!err && ok)));
}

let nodeEd25519: boolean | undefined;
function nodeHasEd25519(): boolean {
  if (nodeEd25519 === undefined) {
    try {
      privateKeyObject(new Uint8Array(32));
      nodeEd25519 = true;
    } catch {
      nodeEd25519 = false;
    }
  }
  return nodeEd25519;
}
