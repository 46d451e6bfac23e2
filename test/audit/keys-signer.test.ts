import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeypair, loadSigningKeysFromFile, publicKeyFromHex, signingKeysFromHex, signingKeysToHex } from '../../src/index.js';
import { bytesToHex, hexToBytes } from '../../src/audit/hex.js';
import { publicKeyFromSeed, signerFingerprint } from '../../src/audit/keys.js';
import { createSigner, verifySignature } from '../../src/audit/signer.js';

const SEED_0_31 = Uint8Array.from({ length: 32 }, (_, i) => i);
const SEED_0_31_PUB = '03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8';
const SEED_0_31_FP = '56475aa75463474c';

// RFC 8032 §7.1 test vectors 1 and 2 (Ed25519).
const RFC8032 = [
  {
    name: 'TEST 1',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

const dir = mkdtempSync(join(tmpdir(), 'agentguard-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keys', () => {
  it('generateKeypair gives a fresh 32-byte seed and its 32-byte raw public key', () => {
    const a = generateKeypair();
    const b = generateKeypair();
    expect(a.privateKey).toBeInstanceOf(Uint8Array);
    expect(a.publicKey).toBeInstanceOf(Uint8Array);
    expect(a.privateKey.length).toBe(32);
    expect(a.publicKey.length).toBe(32);
    expect(bytesToHex(a.privateKey)).not.toBe(bytesToHex(b.privateKey));
    expect(bytesToHex(a.publicKey)).toBe(bytesToHex(publicKeyFromSeed(a.privateKey)));
  });

  it('known answer: seed bytes 0..31', () => {
    expect(bytesToHex(publicKeyFromSeed(SEED_0_31))).toBe(SEED_0_31_PUB);
    expect(signerFingerprint(publicKeyFromHex(SEED_0_31_PUB))).toBe(SEED_0_31_FP);
  });

  it('fingerprint is the first 16 hex characters of SHA-256 over the raw public key', () => {
    for (let i = 0; i < 20; i++) {
      const { publicKey } = generateKeypair();
      const fp = signerFingerprint(publicKey);
      expect(fp).toMatch(/^[0-9a-f]{16}$/);
      expect(fp).toBe(createHash('sha256').update(publicKey).digest('hex').slice(0, 16));
    }
  });

  it.each(RFC8032)('RFC 8032 $name: seed → public key', (v) => {
    expect(bytesToHex(publicKeyFromSeed(hexToBytes(v.secret)))).toBe(v.public);
    expect(bytesToHex(signingKeysFromHex(v.secret).publicKey)).toBe(v.public);
  });

  it('hex round trip', () => {
    const keys = generateKeypair();
    const { privateKeyHex, publicKeyHex } = signingKeysToHex(keys);
    expect(privateKeyHex).toMatch(/^[0-9a-f]{64}$/);
    expect(publicKeyHex).toMatch(/^[0-9a-f]{64}$/);
    const back = signingKeysFromHex(privateKeyHex);
    expect(back.privateKey).toEqual(keys.privateKey);
    expect(back.publicKey).toEqual(keys.publicKey);
    expect(publicKeyFromHex(publicKeyHex)).toEqual(keys.publicKey);
    // Uppercase hex and surrounding whitespace are accepted on input.
    expect(signingKeysFromHex(`  ${privateKeyHex.toUpperCase()}\n`).publicKey).toEqual(keys.publicKey);
  });

  it('loads a key file, ignoring surrounding whitespace', () => {
    const path = join(dir, 'key.hex');
    writeFileSync(path, `\n  ${bytesToHex(SEED_0_31)}  \r\n\n`);
    const keys = loadSigningKeysFromFile(path);
    expect(bytesToHex(keys.privateKey)).toBe(bytesToHex(SEED_0_31));
    expect(bytesToHex(keys.publicKey)).toBe(SEED_0_31_PUB);
  });

  it('a bad key file names the file and the problem, never its contents', () => {
    const path = join(dir, 'short.hex');
    const secretish = 'ab'.repeat(31);
    writeFileSync(path, secretish);
    expect(() => loadSigningKeysFromFile(path)).toThrow(`${path}: Ed25519 private key: expected 32 bytes (64 hex characters), got 31`);
    try {
      loadSigningKeysFromFile(path);
    } catch (err) {
      expect((err as Error).message).not.toContain(secretish);
    }
    const bad = join(dir, 'bad.hex');
    writeFileSync(bad, 'zz'.repeat(32));
    expect(() => loadSigningKeysFromFile(bad)).toThrow(`${bad}: Ed25519 private key: expected an even-length hex string`);
    expect(() => loadSigningKeysFromFile(join(dir, 'missing.hex'))).toThrow(/ENOENT/);
  });

  it('bad hex and bad lengths are errors naming what was being read', () => {
    expect(() => signingKeysFromHex('abc')).toThrow('Ed25519 private key: expected an even-length hex string');
    expect(() => signingKeysFromHex('g'.repeat(64))).toThrow('Ed25519 private key: expected an even-length hex string');
    expect(() => signingKeysFromHex('00'.repeat(33))).toThrow('Ed25519 private key: expected 32 bytes (64 hex characters), got 33');
    expect(() => publicKeyFromHex('00'.repeat(31))).toThrow('Ed25519 public key: expected 32 bytes (64 hex characters), got 31');
    expect(() => publicKeyFromHex('0x' + '00'.repeat(31))).toThrow('Ed25519 public key: expected an even-length hex string');
    expect(() => hexToBytes('00 11')).toThrow('hex string: expected an even-length hex string');
    expect(() => publicKeyFromSeed(new Uint8Array(31))).toThrow('Ed25519 private key: expected 32 bytes, got 31');
  });
});

describe('signers: node:crypto and @noble agree', () => {
  it.each(RFC8032)('RFC 8032 $name: both backends give the RFC signature and verify it', (v) => {
    const keys = signingKeysFromHex(v.secret);
    const msg = hexToBytes(v.message);
    for (const backend of ['node', 'noble'] as const) {
      const signer = createSigner(keys, backend);
      expect(bytesToHex(signer.sign(msg))).toBe(v.signature);
      expect(bytesToHex(signer.publicKey)).toBe(v.public);
      expect(verifySignature(keys.publicKey, msg, hexToBytes(v.signature), 'node')).toBe(true);
      expect(verifySignature(keys.publicKey, msg, hexToBytes(v.signature), 'noble')).toBe(true);
    }
  });

  it('identical signatures for 200 random keys and messages, each verifying with both backends', () => {
    for (let i = 0; i < 200; i++) {
      const keys = generateKeypair();
      const msg = new Uint8Array(randomBytes(i % 3 === 0 ? 32 : i));
      const a = createSigner(keys, 'node');
      const b = createSigner(keys, 'noble');
      const sigA = a.sign(msg);
      const sigB = b.sign(msg);
      expect(bytesToHex(sigA)).toBe(bytesToHex(sigB));
      expect(a.fingerprint).toBe(b.fingerprint);
      expect(a.fingerprint).toBe(signerFingerprint(keys.publicKey));
      expect(verifySignature(keys.publicKey, msg, sigA, 'node')).toBe(true);
      expect(verifySignature(keys.publicKey, msg, sigA, 'noble')).toBe(true);
      // One flipped bit in the message or the signature fails on both backends.
      const other = new Uint8Array(msg.length + 1);
      other.set(msg);
      other[msg.length] = 1;
      expect(verifySignature(keys.publicKey, other, sigA, 'node')).toBe(false);
      expect(verifySignature(keys.publicKey, other, sigA, 'noble')).toBe(false);
      const flipped = new Uint8Array(sigA);
      flipped[i % 64]! ^= 1 << (i % 8);
      expect(verifySignature(keys.publicKey, msg, flipped, 'node')).toBe(false);
      expect(verifySignature(keys.publicKey, msg, flipped, 'noble')).toBe(false);
    }
  });

  it("a key pair whose public key is not the seed's is refused (its log could never verify)", () => {
    const a = generateKeypair();
    const b = generateKeypair();
    for (const backend of ['node', 'noble'] as const) {
      expect(() => createSigner({ privateKey: a.privateKey, publicKey: b.publicKey }, backend)).toThrow(
        'signing keys: the public key is not the one of the private key',
      );
      expect(() => createSigner({ privateKey: a.privateKey, publicKey: a.publicKey.slice(0, 31) }, backend)).toThrow(/public key/);
    }
  });

  it('the default signer is node:crypto and signs as noble does', () => {
    const keys = { privateKey: SEED_0_31, publicKey: publicKeyFromSeed(SEED_0_31) };
    const msg = new Uint8Array(32).fill(7);
    expect(bytesToHex(createSigner(keys).sign(msg))).toBe(bytesToHex(createSigner(keys, 'noble').sign(msg)));
  });

  it('verification is strict RFC 8032: a malleated signature (S + L) is rejected by both backends', () => {
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    const keys = generateKeypair();
    const msg = new Uint8Array([1, 2, 3]);
    const sig = createSigner(keys, 'node').sign(msg);
    const sLe = sig.slice(32);
    const s = BigInt('0x' + Buffer.from(sLe).reverse().toString('hex'));
    const malleated = s + L; // < 2^253: fits in 32 bytes
    const sBytes = Buffer.from(malleated.toString(16).padStart(64, '0'), 'hex').reverse();
    const bad = new Uint8Array(64);
    bad.set(sig.slice(0, 32));
    bad.set(sBytes, 32);
    expect(bytesToHex(bad)).not.toBe(bytesToHex(sig));
    expect(verifySignature(keys.publicKey, msg, sig, 'noble')).toBe(true);
    expect(verifySignature(keys.publicKey, msg, bad, 'noble')).toBe(false);
    expect(verifySignature(keys.publicKey, msg, bad, 'node')).toBe(false);
  });

  it('verifySignature returns false (does not throw) for wrong lengths or an invalid public key', () => {
    const keys = generateKeypair();
    const msg = new Uint8Array([9]);
    const sig = createSigner(keys).sign(msg);
    for (const backend of ['node', 'noble'] as const) {
      expect(verifySignature(keys.publicKey, msg, sig.slice(0, 63), backend)).toBe(false);
      expect(verifySignature(keys.publicKey.slice(0, 31), msg, sig, backend)).toBe(false);
      expect(verifySignature(generateKeypair().publicKey, msg, sig, backend)).toBe(false);
      // 0xff..ff is not a canonical point encoding (y ≥ p).
      expect(verifySignature(new Uint8Array(32).fill(0xff), msg, sig, backend)).toBe(false);
    }
  });
});
