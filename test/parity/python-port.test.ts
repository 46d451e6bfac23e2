/**
 * Cross-runtime parity with the published Python port (PyPI agentguard-spend,
 * pinned in scripts/parity-venv.mjs), driven as a black box by driver.py:
 * (a) chains written here verify with its verify_chain, and tampered copies
 *     fail at the same sequence in both runtimes;
 * (b) chains its SpendGuard and sign_decision write verify with our verifyChain;
 * (c) its canonical_json equals ours byte for byte on every integer-only
 *     vector, and differs exactly as documented on the others.
 * In CI (CI=true) a missing Python or unreachable PyPI FAILS this file; locally it skips loudly.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureParityVenv, PYTHON_PORT_VERSION } from '../../scripts/parity-venv.mjs';
import { InMemoryDecisionLogStore, parsePolicies, signingKeysFromHex, SpendGuard, type DecisionLogEntry } from '../../src/index.js';
import { parseLogLine, verifyChain } from '../../src/audit.js';
import { canonicalJson } from '../../src/audit/canonical-json.js';
import { ChainWriter, GENESIS_HASH } from '../../src/audit/chain.js';
import { chainIdOf, createCheckpoint } from '../../src/audit/checkpoint.js';
import { entryCanonicalJson } from '../../src/audit/entry-json.js';
import { sha256Hex } from '../../src/audit/hash.js';
import { createSigner } from '../../src/audit/signer.js';
import { VECTORS } from '../helpers/parity-vectors.js';

const inCI = ['true', '1'].includes(String(process.env.CI).toLowerCase());
const venv = ensureParityVenv();
const setupError = 'error' in venv ? venv.error : null;
if (setupError && !inCI) {
  console.warn(
    `\n${'!'.repeat(78)}\n!! SKIPPING the Python-port parity test: ${setupError}\n!! It runs (and must pass) in CI; set CI=true to make this a failure here.\n${'!'.repeat(78)}\n`,
  );
}

if (inCI && setupError) {
  describe('Python port parity: setup', () => {
    it(`installs agentguard-spend==${PYTHON_PORT_VERSION} from PyPI into a venv`, () => {
      throw new Error(`parity test cannot run in CI: ${setupError}`);
    });
  });
}

const SEED_A = '0a'.repeat(32); // our guard's key
const SEED_B = '0b'.repeat(32); // the incoming key of a rotation
const SEED_P = '1c'.repeat(32); // the key Python signs with
const KEYS_A = signingKeysFromHex(SEED_A);
const KEYS_P = signingKeysFromHex(SEED_P);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

interface PyVerify {
  ok?: boolean;
  sequence?: number | null;
  reason?: string | null;
  error?: string;
}
interface PyResponse {
  version: string;
  verify: PyVerify[];
  canonical: { out?: string; error?: string }[];
  signChains: DecisionLogEntry[][];
  spendguardChains: DecisionLogEntry[][];
  networkAttempts: string[];
}

let home = '';
function runDriver(request: object): PyResponse {
  const driver = fileURLToPath(new URL('../fixtures/parity/driver.py', import.meta.url));
  const r = spawnSync((venv as { python: string }).python, [driver], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    timeout: 120_000,
    env: {
      PATH: process.env.PATH ?? '',
      AGENTGUARD_HOME: home,
      AGENTGUARD_NO_BEACON: '1',
      PYTHONNOUSERSITE: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONIOENCODING: 'utf-8',
      HOME: home,
    },
  });
  if (r.status !== 0) throw new Error(`driver.py failed (${r.status ?? r.signal}): ${r.stderr}`);
  const res = JSON.parse(r.stdout) as PyResponse;
  expect(res.networkAttempts, 'the Python port tried to reach the network').toEqual([]);
  return res;
}

/** Our SpendGuard's chain: decisions, a downgrade, a block, outcomes, unicode everywhere. */
async function ourGuardChain(): Promise<DecisionLogEntry[]> {
  const log = new InMemoryDecisionLogStore();
  let now = Date.UTC(2026, 4, 24, 18, 0, 0);
  const guard = new SpendGuard({
    signingKeys: KEYS_A,
    logStore: log,
    clock: () => (now += 1000),
    policies: parsePolicies([
      {
        id: 'pol-☕-😀',
        name: 'Budget für açme',
        scope: { tenantId: 'açme 😀' },
        mode: 'enforce',
        version: 3,
        effectiveFrom: '2026-01-01T00:00:00Z',
        caps: [
          {
            id: 'day',
            amountCents: 5,
            window: 'per_day',
            action: 'downgrade',
            downgradeTo: 'gpt-4o-mini',
            reason: 'Tägliches Limit — "quoted" \\ back\u2028slash ☕',
          },
          { id: 'call', amountCents: 2000, window: 'per_call', action: 'block', reason: 'Per-call ceiling 😀\ue000' },
        ],
      },
    ]),
  });
  const call = (tokens: number) => ({
    provider: 'openai',
    model: 'gpt-4o',
    scope: { tenantId: 'açme 😀', userId: 'zoë' },
    estimatedInputTokens: tokens,
    maxOutputTokens: tokens,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
  });
  const a = await guard.decide(call(1000));
  await guard.settle(a, { inputTokens: 900, outputTokens: 300, cachedInputTokens: 100 });
  const b = await guard.decide(call(2000));
  await guard.release(b, 'client aborted — ☕ 😀');
  const c = await guard.decide(call(4000)); // past the daily cap: downgraded
  await guard.settle(c, { inputTokens: 4000, outputTokens: 10, reasoningTokens: 5 });
  const d = await guard.decide(call(5_000_000)); // past the per-call cap: blocked
  expect(d.action).toBe('block');
  expect(c.action).toBe('downgrade');
  return log.entries();
}

/** A chain that rotates from key A to key B at sequence 2. */
function rotatedChain(): DecisionLogEntry[] {
  const w = new ChainWriter(createSigner(KEYS_A));
  return [
    w.append({ entryType: 'decision', decisionId: 'r-0', n: 0 }),
    w.append({ entryType: 'decision', decisionId: 'r-1', n: 1 }),
    w.rotate(createSigner(signingKeysFromHex(SEED_B)), 'scheduled rotation ☕', Date.UTC(2026, 5, 1)),
    w.append({ entryType: 'decision', decisionId: 'r-3', n: 3 }),
  ];
}

/** Decisions for the port's sign_decision, in its SpendDecision shape (its constructor refuses unknown keys). */
function pythonDecisions(): object[] {
  const base = {
    triggeredCap: null,
    triggeredScopeKey: null,
    windowSpendBefore: 0,
    provider: 'openai',
    modelRequested: 'gpt-4o',
    modelResolved: 'gpt-4o',
    policyId: 'p-1',
    policyVersion: 1,
    enforcementMode: 'enforce',
  };
  return [
    {
      ...base,
      decisionId: 'py-0',
      timestamp: '2026-05-24T18:00:00.000Z',
      action: 'allow',
      projectedCents: 120,
      windowSpendAfter: 120,
      reasons: ['within budget ☕'],
    },
    {
      ...base,
      decisionId: 'py-1',
      timestamp: '2026-05-24T18:00:01.000Z',
      action: 'block',
      triggeredCap: { amountCents: 50000, window: 'per_day', action: 'block', reason: 'Hard daily ceiling 😀' },
      triggeredScopeKey: 'tenantId=açme',
      projectedCents: 112241,
      windowSpendBefore: 120,
      windowSpendAfter: 112361,
      provider: 'anthropic',
      modelRequested: 'claude-opus-4-7',
      modelResolved: 'claude-opus-4-7',
      reasons: ["Cap 'per_day=50000c' exceeded", 'café ☕ \u2028 "q" \\ \n \ue000 😀'],
    },
    {
      ...base,
      decisionId: 'py-2',
      timestamp: '2026-05-24T18:00:02.000Z',
      action: 'downgrade',
      triggeredCap: { amountCents: 10, window: 'per_call', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'cheap' },
      triggeredScopeKey: 'k',
      projectedCents: 3,
      windowSpendAfter: 3,
      modelResolved: 'gpt-4o-mini',
      enforcementMode: 'shadow',
      reasons: [],
    },
    {
      ...base,
      decisionId: 'py-3',
      timestamp: '2026-05-24T18:00:03.000Z',
      action: 'allow',
      projectedCents: 0,
      windowSpendAfter: 0,
      reasons: ['outcome'],
      entryType: 'outcome',
      outcomeReceipt: { totalCostCents: 3, '😀': 1, '\ue000': 2 },
    },
    {
      ...base,
      decisionId: 'py-4',
      timestamp: '2026-05-24T18:00:04.000Z',
      action: 'shadow',
      projectedCents: 9007199254740991,
      windowSpendAfter: 9007199254740991,
      reasons: ['max safe integer'],
    },
    {
      ...base,
      decisionId: 'py-5',
      timestamp: '2026-05-24T18:00:05.000Z',
      action: 'allow',
      projectedCents: 1,
      windowSpendAfter: 1,
      reasons: ['\u0000\u001f\u007f'],
    },
  ];
}

/** Entries neither runtime can hash; the port lets the error escape verify_chain, we report malformed_entry. */
const FAKE = {
  sequence: 0,
  previousHash: '0'.repeat(64),
  entryHash: 'ab'.repeat(32),
  signature: 'cd'.repeat(64),
  signerFingerprint: createSigner(signingKeysFromHex('0a'.repeat(32))).fingerprint,
};
const INVALID_ENTRIES = [
  {
    name: 'a float in the decision',
    entry: { ...FAKE, decision: { x: { $float: '0.5' } } },
    js: { x: 0.5 },
    pyError: /^ValueError: .*floats are not supported/,
  },
  { name: 'a lone surrogate in the decision', entry: { ...FAKE, decision: { x: 'a\ud800' } }, js: { x: 'a\ud800' }, pyError: /^UnicodeEncodeError: / },
];

/** An entry hashed the port's legacy way: signerFingerprint left out of the hashed body. */
function legacyEntry(): DecisionLogEntry {
  const signer = createSigner(KEYS_A);
  const decision = { entryType: 'decision', decisionId: 'legacy-0' };
  const entryHash = sha256Hex(entryCanonicalJson({ sequence: 0, decision, previousHash: GENESIS_HASH }));
  return {
    sequence: 0,
    decision,
    previousHash: GENESIS_HASH,
    entryHash,
    signature: hex(signer.sign(Buffer.from(entryHash, 'hex'))),
    signerFingerprint: signer.fingerprint,
  };
}

type Expect = 'same' | 'gap' | 'py_accepts' | 'both_accept';
interface Tamper {
  name: string;
  edit: (e: DecisionLogEntry[]) => DecisionLogEntry[];
  expect: Expect;
}
const dec = (e: DecisionLogEntry) => e.decision as Record<string, unknown>;
const flip = (h: string, i = 10) => h.slice(0, i) + (h[i] === '0' ? '1' : '0') + h.slice(i + 1);
const TAMPERS: Tamper[] = [
  { name: 'a decision field changed', expect: 'same', edit: (e) => ((dec(e[3]!).projectedCents = 1), e) },
  { name: 'a reason string changed by one character', expect: 'same', edit: (e) => (((dec(e[1]!).reasons as string[])[0] += '.'), e) },
  { name: 'a decision field added', expect: 'same', edit: (e) => ((dec(e[2]!).note = 'x'), e) },
  { name: 'previousHash changed', expect: 'same', edit: (e) => ((e[4]!.previousHash = flip(e[4]!.previousHash)), e) },
  { name: 'entryHash changed', expect: 'same', edit: (e) => ((e[5]!.entryHash = flip(e[5]!.entryHash)), e) },
  { name: 'signature changed', expect: 'same', edit: (e) => ((e[2]!.signature = flip(e[2]!.signature, 70)), e) },
  { name: 'signerFingerprint changed', expect: 'same', edit: (e) => ((e[1]!.signerFingerprint = flip(e[1]!.signerFingerprint, 3)), e) },
  { name: 'the first entry removed', expect: 'gap', edit: (e) => e.slice(1) },
  { name: 'a middle entry removed', expect: 'gap', edit: (e) => [...e.slice(0, 3), ...e.slice(4)] },
  { name: 'two entries swapped', expect: 'gap', edit: (e) => [e[0]!, e[2]!, e[1]!, ...e.slice(3)] },
  { name: 'an entry duplicated', expect: 'gap', edit: (e) => [...e.slice(0, 3), e[2]!, ...e.slice(3)] },
  { name: 'signature in upper case (the same bytes)', expect: 'both_accept', edit: (e) => ((e[2]!.signature = e[2]!.signature.toUpperCase()), e) },
  {
    name: 'signature in mixed case',
    expect: 'py_accepts',
    edit: (e) => ((e[2]!.signature = e[2]!.signature.slice(0, 64) + e[2]!.signature.slice(64).toUpperCase()), e),
  },
  { name: 'the last entry removed', expect: 'both_accept', edit: (e) => e.slice(0, -1) },
];

function ours(entries: DecisionLogEntry[], publicKey: Uint8Array) {
  return verifyChain(structuredClone(entries), publicKey);
}

const figures: Record<string, unknown> & {
  vectorsMatched: number;
  vectorsDifferAsDocumented: number;
  tsChainsVerifiedByPython: number;
  pythonChainsVerifiedByTs: number;
  tamperedCopiesAgreed: number;
} = { vectorsMatched: 0, vectorsDifferAsDocumented: 0, tsChainsVerifiedByPython: 0, pythonChainsVerifiedByTs: 0, tamperedCopiesAgreed: 0 };

describe.skipIf(setupError !== null)(`Python port parity (agentguard-spend ${PYTHON_PORT_VERSION})`, () => {
  let guardChain: DecisionLogEntry[];
  let rotated: DecisionLogEntry[];
  let legacy: DecisionLogEntry;
  let first: PyResponse;
  let second: PyResponse;
  let pyChains: { name: string; entries: DecisionLogEntry[] }[];
  const ourJobs: { name: string; entries: DecisionLogEntry[]; key: Uint8Array }[] = [];
  const tamperJobs: { tamper: Tamper; entries: DecisionLogEntry[]; key: Uint8Array; chain: string }[] = [];

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'agentguard-parity-'));
    guardChain = await ourGuardChain();
    rotated = rotatedChain();
    const writer = new ChainWriter(createSigner(KEYS_A));
    const vectorChain = VECTORS.filter((v) => v.kind === 'same' || v.kind === 'key_order').map((v) =>
      writer.append({ vector: v.name, value: v.value as object }),
    );
    ourJobs.push(
      { name: 'SpendGuard chain', entries: guardChain, key: KEYS_A.publicKey },
      { name: 'chain of every integer-only vector', entries: vectorChain, key: KEYS_A.publicKey },
    );
    for (const t of TAMPERS) tamperJobs.push({ tamper: t, entries: t.edit(structuredClone(guardChain)), key: KEYS_A.publicKey, chain: 'ours' });

    legacy = legacyEntry();
    const verifyJobs = [
      ...ourJobs,
      ...tamperJobs,
      ...INVALID_ENTRIES.map((x) => ({ entries: [x.entry], key: KEYS_A.publicKey })),
      { entries: rotated, key: KEYS_A.publicKey },
      { entries: [legacy], key: KEYS_A.publicKey },
    ].map((j) => ({ entries: j.entries, publicKeyHex: hex(j.key) }));
    first = runDriver({
      verify: verifyJobs,
      canonical: VECTORS.map((v) => ({ value: v.value })),
      signChains: [
        {
          seedHex: SEED_P,
          decisions: pythonDecisions(),
        },
      ],
      spendguardChains: [
        {
          seedHex: SEED_P,
          policyId: 'p-☕',
          tenantId: 'açme 😀',
          capCents: 500,
          capReason: 'Tägliches Limit ☕ 😀',
          calls: [1000, 20000, 1_000_000, 500, 700],
          outcomes: [
            { totalCostCents: 7, label: 'ok 😀', '\ue000': 'private use key' },
            { totalCostCents: 0, steps: [1, 2, 3] },
          ],
        },
      ],
    });
    pyChains = [
      { name: 'Python sign_decision chain', entries: first.signChains[0]! },
      { name: 'Python SpendGuard chain', entries: first.spendguardChains[0]! },
    ];
    // Round two: Python re-verifies its own chains and tampered copies of them.
    for (const c of pyChains) {
      expect(c.entries.length, c.name).toBeGreaterThanOrEqual(6);
      for (const t of TAMPERS) tamperJobs.push({ tamper: t, chain: c.name, entries: t.edit(structuredClone(c.entries)), key: KEYS_P.publicKey });
    }
    second = runDriver({
      verify: [
        ...pyChains.map((c) => ({ entries: c.entries, publicKeyHex: hex(KEYS_P.publicKey) })),
        ...tamperJobs.filter((j) => j.chain !== 'ours').map((j) => ({ entries: j.entries, publicKeyHex: hex(j.key) })),
      ],
    });
  }, 180_000);

  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
    figures.entries = { ours: ourJobs.map((j) => j.entries.length), python: pyChains?.map((c) => c.entries.length) };
    console.log(`parity figures (Python agentguard-spend ${PYTHON_PORT_VERSION}): ${JSON.stringify(figures)}`);
  });

  it('talks to the pinned version', () => {
    expect(first.version ?? PYTHON_PORT_VERSION).toBe(PYTHON_PORT_VERSION);
  });

  it('(a) chains written here verify with the port’s verify_chain', () => {
    ourJobs.forEach((j, i) => {
      expect(ours(j.entries, j.key), j.name).toMatchObject({ ok: true });
      expect(first.verify[i], j.name).toEqual({ ok: true, sequence: null, reason: null });
      figures.tsChainsVerifiedByPython++;
    });
    expect(guardChain.length).toBeGreaterThanOrEqual(7);
  });

  it('(a) tampered copies of our chain fail at the same sequence in both runtimes', () => {
    tamperJobs.filter((j) => j.chain === 'ours').forEach((j, i) => checkTamper(j, first.verify[ourJobs.length + i]!));
  });

  it('(b) chains the port’s sign_decision and SpendGuard wrote verify with our verifyChain, read through parseLogLine', () => {
    for (const [i, c] of pyChains.entries()) {
      expect(second.verify[i], `${c.name} in Python`).toEqual({ ok: true, sequence: null, reason: null });
      const lines = c.entries.map((e) => JSON.stringify(e));
      expect(
        verifyChain(
          lines.map((l) => parseLogLine(l)),
          KEYS_P.publicKey,
        ),
        c.name,
      ).toEqual({ ok: true, count: c.entries.length });
      figures.pythonChainsVerifiedByTs++;
    }
    // a checkpoint of ours holds over a chain the port wrote
    const e = pyChains[1]!.entries;
    const cp = createCheckpoint({ sequence: e.length - 1, entryHash: e.at(-1)!.entryHash }, createSigner(KEYS_P), chainIdOf(e[0]!));
    expect(verifyChain(e.slice(0, -1), KEYS_P.publicKey, { checkpoints: [cp] })).toMatchObject({ ok: false, reason: 'truncated' });
  });

  it('(b) tampered copies of the port’s chains fail at the same sequence in both runtimes', () => {
    const jobs = tamperJobs.filter((j) => j.chain !== 'ours');
    expect(jobs.length).toBeGreaterThan(10);
    jobs.forEach((j, i) => checkTamper(j, second.verify[pyChains.length + i]!));
  });

  it('(c) canonical JSON: byte for byte on every integer-only vector, documented differences on the rest', () => {
    VECTORS.forEach((v, i) => {
      const py = first.canonical[i]!;
      const js = 'js' in v ? v.js : v.value;
      const tryIt = (f: (x: unknown) => string) => {
        try {
          return f(js);
        } catch {
          return null;
        }
      };
      const jcs = tryIt(canonicalJson);
      const entry = tryIt(entryCanonicalJson);
      expect({ name: v.name, jcs, entry, python: py.out ?? null }).toEqual({ name: v.name, jcs: v.jcs, entry: v.entry, python: v.python });
      if (v.python === null) expect(py.error, v.name).toMatch(/^ValueError: /);
      switch (v.kind) {
        case 'same':
          expect(py.out).toBe(jcs);
          expect(py.out).toBe(entry);
          figures.vectorsMatched++;
          break;
        case 'key_order': // documented: the port (and our entry form) order keys by code point, RFC 8785 by UTF-16 unit
          expect(py.out).toBe(entry);
          expect(py.out).not.toBe(jcs);
          figures.vectorsMatched++;
          figures.vectorsDifferAsDocumented++;
          break;
        case 'float': // documented: the port rejects every float; JavaScript has no 1.0 apart from 1
          expect(py.error).toMatch(/floats are not supported/);
          figures.vectorsDifferAsDocumented++;
          break;
        case 'big_int': // documented: the port prints big ints exactly; we refuse them (send as strings)
          expect(py.out).toBe(v.python);
          expect(jcs).toBeNull();
          figures.vectorsDifferAsDocumented++;
          break;
        case 'invalid':
          expect(py.out).toBeUndefined();
          expect(jcs).toBeNull();
          break;
        case 'lone_surrogate': // documented: both refuse to hash it; the port only fails at UTF-8 encoding
          expect(jcs).toBeNull();
          break;
      }
    });
    expect(figures.vectorsMatched).toBe(VECTORS.filter((v) => v.kind === 'same' || v.kind === 'key_order').length);
  });

  it('documented: an entry neither can hash is malformed_entry here and an exception from the port’s verify_chain', () => {
    INVALID_ENTRIES.forEach((x, i) => {
      const py = first.verify[ourJobs.length + tamperJobs.filter((j) => j.chain === 'ours').length + i]!;
      expect(py.error ?? JSON.stringify(py), x.name).toMatch(x.pyError);
      const r = verifyChain([{ ...x.entry, decision: x.js } as DecisionLogEntry], KEYS_A.publicKey);
      expect(r, x.name).toMatchObject({ ok: false, sequence: 0, reason: 'malformed_entry' });
    });
  });

  it('documented: the port has no signer_change entries, so it verifies a rotated chain only up to the rotation', () => {
    expect(verifyChain(rotated, KEYS_A.publicKey)).toEqual({ ok: true, count: 4 });
    const py = first.verify.at(-2)!;
    expect(py).toMatchObject({ ok: false, sequence: 3 });
  });

  it('documented: the port also accepts a legacy entry hash without signerFingerprint; we do not', () => {
    expect(first.verify.at(-1)).toEqual({ ok: true, sequence: null, reason: null });
    expect(verifyChain([legacy], KEYS_A.publicKey)).toMatchObject({ ok: false, sequence: 0, reason: 'hash_mismatch' });
  });

  function checkTamper(j: (typeof tamperJobs)[number], py: PyVerify) {
    const label = `${j.chain}: ${j.tamper.name}`;
    expect(py.error, label).toBeUndefined();
    const ts = ours(j.entries, j.key);
    switch (j.tamper.expect) {
      case 'same':
        expect(ts.ok, label).toBe(false);
        expect(py.ok, label).toBe(false);
        expect(py.sequence, label).toBe(!ts.ok && ts.sequence);
        break;
      case 'gap': {
        // documented: on a sequence gap the port names the sequence it found, we name the one expected
        expect(ts.ok, label).toBe(false);
        expect(py.ok, label).toBe(false);
        const at = !ts.ok ? ts.sequence : -1;
        expect(py.sequence, label).toBe(j.entries[at]!.sequence);
        break;
      }
      case 'py_accepts': // documented: the port accepts signature hex in any case; we take all lower or all upper case, never mixed
        expect(ts).toMatchObject({ ok: false, reason: 'malformed_entry' });
        expect(py.ok, label).toBe(true);
        break;
      case 'both_accept': // a cut tail (neither sees it without a checkpoint; the port has none), or the same signature bytes in upper case
        expect(ts.ok, label).toBe(true);
        expect(py.ok, label).toBe(true);
        break;
    }
    figures.tamperedCopiesAgreed++;
  }
});
