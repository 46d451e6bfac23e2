/**
 * The wire-format primitives the repository's own scripts use from the build
 * (bench/, test_vectors/compute_expected_ts.js): built to dist/internal/, which
 * the package does not ship and no entry point exports.
 */
export { bytesToHex } from '../src/audit/hex.js';
export { canonicalJson } from '../src/audit/canonical-json.js';
export { ChainWriter, computeEntryHash, GENESIS_HASH, signEntry } from '../src/audit/chain.js';
export { entryCanonicalJson } from '../src/audit/entry-json.js';
export { sha256Hex } from '../src/audit/hash.js';
export { signerFingerprint } from '../src/audit/keys.js';
export { createSigner, verifySignature } from '../src/audit/signer.js';
