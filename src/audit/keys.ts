import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bytesToHex, hexToBytes } from './hex.js';
import { sha256Hex } from './hash.js';

/**
 * An Ed25519 key pair in the wire format's raw form: the 32-byte private seed
 * (RFC 8032) and the 32-byte public key.
 */
export interface SigningKeys {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/** DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** DER prefix of an SPKI Ed25519 public key; the 32 raw bytes follow. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A node:crypto KeyObject for a raw 32-byte Ed25519 seed. */
export function privateKeyObject(seed: Uint8Array): crypto.KeyObject {
  if (seed.length !== 32) throw new TypeError(`Ed25519 private key: expected 32 bytes, got ${seed.length}`);
  return crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** A node:crypto KeyObject for a raw 32-byte Ed25519 public key. */
export function publicKeyObject(publicKey: Uint8Array): crypto.KeyObject {
  if (publicKey.length !== 32) throw new TypeError(`Ed25519 public key: expected 32 bytes, got ${publicKey.length}`);
  return crypto.createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

/** Raw 32-byte public key of a raw 32-byte seed. */
export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  const spki = crypto.createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 32));
}

/** A fresh random key pair. Use the CLI's `keygen` to keep one in a file. */
export function generateKeypair(): SigningKeys {
  const privateKey = new Uint8Array(crypto.randomBytes(32));
  return { privateKey, publicKey: publicKeyFromSeed(privateKey) };
}

/** The key pair of a 64-hex-character private seed. */
export function signingKeysFromHex(privateKeyHex: string): SigningKeys {
  const privateKey = hexToBytes(privateKeyHex.trim(), 'Ed25519 private key', 32);
  return { privateKey, publicKey: publicKeyFromSeed(privateKey) };
}

/**
 * The key pair stored in a file holding the private seed as hex (whitespace
 * around it is ignored). The file's contents never appear in an error.
 */
export function loadSigningKeysFromFile(path: string): SigningKeys {
  const text = readFileSync(path, 'utf8');
  try {
    return signingKeysFromHex(text);
  } catch (err) {
    throw new TypeError(`${path}: ${(err as Error).message}`);
  }
}

/** A 32-byte public key from hex. */
export function publicKeyFromHex(hex: string): Uint8Array {
  return hexToBytes(hex.trim(), 'Ed25519 public key', 32);
}

/** Hex form of a key pair, for storage or display. */
export function signingKeysToHex(keys: SigningKeys): { privateKeyHex: string; publicKeyHex: string } {
  return { privateKeyHex: bytesToHex(keys.privateKey), publicKeyHex: bytesToHex(keys.publicKey) };
}

/** First 16 hex characters of SHA-256 over the raw 32-byte public key. */
export function signerFingerprint(publicKey: Uint8Array): string {
  return sha256Hex(publicKey).slice(0, 16);
}
