#!/usr/bin/env node
// Recomputes the expected bytes, hashes and signatures of every vector in this
// folder with the built package (dist/), and compares them with what the
// files hold (exit 1 on any difference). With --write, rewrites the expectations.
//
//   npm run build && node test_vectors/compute_expected_ts.js [--write]
//
// Inputs (seeds, decisions, JCS inputs) are never changed by --write; only the
// `expected` parts and the generated chain.jsonl are.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { signingKeysFromHex } from '../dist/index.js';
import { verifyChain } from '../dist/audit.js';
import { bytesToHex, canonicalJson, ChainWriter, computeEntryHash, createSigner, sha256Hex, signEntry, signerFingerprint } from '../dist/internal/audit.js';

const here = dirname(fileURLToPath(import.meta.url));
const write = process.argv.includes('--write');
const readJson = (name) => JSON.parse(readFileSync(join(here, name), 'utf8'));
const show = (v) => JSON.stringify(v, null, 2) + '\n';
let mismatches = 0;

/** Compares (or, with --write, replaces) `file`'s text with `text`. */
function settle(name, text) {
  const path = join(here, name);
  const current = readFileSync(path, 'utf8');
  if (current === text) {
    console.log(`ok       ${name}`);
  } else if (write) {
    writeFileSync(path, text);
    console.log(`written  ${name}`);
  } else {
    mismatches++;
    console.log(`MISMATCH ${name}`);
    const a = current.split('\n');
    const b = text.split('\n');
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) {
        console.log(`  line ${i + 1}\n    file:     ${a[i]}\n    computed: ${b[i]}`);
        break;
      }
    }
  }
}

/** Expected canonical bytes, hash and signature of one entry body. */
function entryExpectations(keys, sequence, previousHash, decision) {
  const fingerprint = signerFingerprint(keys.publicKey);
  const canonical = canonicalJson({ sequence, decision, previousHash, signerFingerprint: fingerprint });
  const entry = signEntry(decision, sequence === 0 ? null : { sequence: sequence - 1, entryHash: previousHash }, createSigner(keys));
  if (entry.previousHash !== previousHash) throw new Error('previousHash does not round-trip');
  if (entry.entryHash !== sha256Hex(canonical)) throw new Error('entryHash is not SHA-256 of the canonical bytes');
  return {
    publicKeyHex: bytesToHex(keys.publicKey),
    signerFingerprint: fingerprint,
    canonical,
    canonicalHex: Buffer.from(canonical, 'utf8').toString('hex'),
    entryHash: entry.entryHash,
    signature: entry.signature,
  };
}

// fixed_decision.json and outcome_entry.json: one entry each; the outcome entry
// follows the fixed decision, so its previousHash is that entry's hash.
let previousEntryHash;
for (const name of ['fixed_decision.json', 'outcome_entry.json']) {
  const v = readJson(name);
  const keys = signingKeysFromHex(v.seedHex);
  if (previousEntryHash !== undefined) v.previousHash = previousEntryHash;
  v.expected = entryExpectations(keys, v.sequence, v.previousHash, v.decision);
  previousEntryHash = v.expected.entryHash;
  settle(name, show(v));
}

// chain.json (+ chain.jsonl): several entries signed in order from genesis.
{
  const v = readJson('chain.json');
  const keys = signingKeysFromHex(v.seedHex);
  const writer = new ChainWriter(createSigner(keys));
  const entries = v.decisions.map((d) => writer.append(d));
  const result = verifyChain(entries, keys.publicKey);
  if (!result.ok) throw new Error(`chain does not verify: ${JSON.stringify(result)}`);
  v.expected = { publicKeyHex: bytesToHex(keys.publicKey), entries };
  settle('chain.json', show(v));
  const publicKeyHex = bytesToHex(keys.publicKey);
  settle('chain.jsonl', entries.map((e) => JSON.stringify({ ...e, publicKeyHex })).join('\n') + '\n');
}

// jcs_cases.json: canonical form (or an error) of edge-case inputs.
{
  const v = readJson('jcs_cases.json');
  for (const c of v.cases) {
    let value;
    if (c.numberBits !== undefined) {
      const view = new DataView(new ArrayBuffer(8));
      view.setBigUint64(0, BigInt(`0x${c.numberBits}`));
      value = view.getFloat64(0);
    } else {
      value = JSON.parse(c.input);
    }
    try {
      const canonical = canonicalJson(value);
      c.expected = { canonical, canonicalHex: Buffer.from(canonical, 'utf8').toString('hex') };
    } catch (err) {
      c.expected = { error: err.message };
    }
  }
  settle('jcs_cases.json', show(v));
}

// A check that computeEntryHash agrees with the vectors' own bytes.
{
  const v = readJson('fixed_decision.json');
  const h = v.expected?.signerFingerprint === undefined ? undefined : computeEntryHash({ sequence: v.sequence, decision: v.decision, previousHash: v.previousHash, signerFingerprint: v.expected.signerFingerprint });
  if (h !== v.expected.entryHash) {
    mismatches++;
    console.log('MISMATCH computeEntryHash(fixed_decision) differs from expected.entryHash');
  }
}

if (mismatches > 0) {
  console.log(`${mismatches} vector file(s) differ from what the code computes (run with --write to regenerate)`);
  process.exit(1);
}
