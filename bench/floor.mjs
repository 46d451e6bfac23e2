// (1) The crypto floor: Ed25519 sign/verify, SHA-256 and JCS of a typical decision,
// node:crypto and @noble side by side.
import * as ed from '@noble/ed25519';
import { sha256 } from '@noble/hashes/sha2.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { generateKeypair } from '../dist/index.js';
import { canonicalJson, computeEntryHash, createSigner, entryCanonicalJson, sha256Hex, verifySignature } from '../dist/internal/audit.js';
import { measureSync, report } from './lib.mjs';

ed.hashes.sha512 = sha512;

export const typicalDecision = {
  entryType: 'decision',
  decisionId: '3f1e2d4c-5b6a-4789-8abc-def012345678',
  timestamp: '2026-11-25T15:08:28.123Z',
  action: 'allow',
  triggeredCap: null,
  triggeredScopeKey: null,
  projectedCents: 4,
  windowSpendBefore: 1200,
  windowSpendAfter: 1204,
  provider: 'openai',
  modelRequested: 'gpt-4o',
  modelResolved: 'gpt-4o',
  policyId: 'tenant-daily',
  policyVersion: 3,
  enforcementMode: 'enforce',
  reasons: ['within all caps (projected 4c, model gpt-4o)'],
  costBasis: '@pydantic/genai-prices@0.1.8',
  estimatedInputTokens: 10000,
  estimatedOutputTokens: 1000,
  actor: { tenantId: 'acme', agentId: 'agent-7' },
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
};

export function floorResults(iterations = 20000) {
  const keys = generateKeypair();
  const nodeSigner = createSigner(keys, 'node');
  const nobleSigner = createSigner(keys, 'noble');
  const hash = Buffer.from(sha256Hex('x'), 'hex');
  const sig = nodeSigner.sign(hash);
  const body = { sequence: 42, decision: typicalDecision, previousHash: '0'.repeat(64), signerFingerprint: nodeSigner.fingerprint };
  const jcs = canonicalJson(body);
  return [
    measureSync('jcs of the entry body (entryCanonicalJson, the hashed form)', () => entryCanonicalJson(body), { iterations }),
    measureSync('jcs (canonicalJson, general RFC 8785)', () => canonicalJson(body), { iterations }),
    measureSync('sha256 node:crypto (of JCS bytes)', () => sha256Hex(jcs), { iterations }),
    measureSync('sha256 @noble/hashes', () => sha256(Buffer.from(jcs)), { iterations: Math.min(iterations, 20000) }),
    measureSync('ed25519 sign node:crypto', () => nodeSigner.sign(hash), { iterations }),
    measureSync('ed25519 sign @noble', () => nobleSigner.sign(hash), { iterations: Math.ceil(iterations / 10), warmup: 200 }),
    measureSync('ed25519 verify node:crypto', () => verifySignature(keys.publicKey, hash, sig, 'node'), { iterations }),
    measureSync('ed25519 verify @noble (strict)', () => verifySignature(keys.publicKey, hash, sig, 'noble'), {
      iterations: Math.ceil(iterations / 10),
      warmup: 200,
    }),
    measureSync('entry: jcs + sha256 + sign (node)', () => nodeSigner.sign(Buffer.from(computeEntryHash(body), 'hex')), { iterations }),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { machine, table } = await import('./lib.mjs');
  const results = floorResults();
  report('floor', results, { machine: await machine() });
  table(
    '(1) floor (µs per op)',
    results.map(({ name, meanUs, cpuUs }) => ({ name, meanUs, cpuUs })),
  );
}
