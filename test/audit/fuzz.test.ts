import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentGuardError, parsePolicies, PolicyValidationError, type DecisionLogEntry } from '../../src/index.js';
import { LogLineError, parseLogLine, verifyChain, type Checkpoint } from '../../src/audit.js';
import { anyNumberJsonArb, stringArb } from '../helpers/arbitraries.js';
import { chainOf, keysOf } from '../helpers/audit.js';

/** Bounded so the suite stays fast; raise AGENTGUARD_FUZZ_RUNS for a deeper local run. */
const RUNS = { numRuns: Number(process.env.AGENTGUARD_FUZZ_RUNS ?? 400) };
const TIMEOUT = Math.max(30_000, RUNS.numRuns * 10);

/** Runs `fn`; it may return, or throw an error of class `named` — anything else fails the property. */
function onlyNamed(named: new (...a: never[]) => AgentGuardError, fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof named)) throw new Error(`threw ${(err as Error)?.name ?? typeof err} instead of ${named.name}: ${(err as Error)?.message}`);
    expect(err.message.length).toBeGreaterThan(0);
  }
}

const validLine = JSON.stringify(chainOf(2).entries[1]);
const enc = new TextEncoder();

/** Strings near a real line: a real line cut, spliced or with random text inserted. */
const nearLine = fc
  .tuple(fc.nat({ max: validLine.length }), fc.nat({ max: validLine.length }), fc.oneof(stringArb, fc.json()))
  .map(([a, b, ins]) => validLine.slice(0, Math.min(a, b)) + ins + validLine.slice(Math.max(a, b)));

describe('fuzz: parseLogLine', () => {
  it(
    'random strings, JSON texts and near-valid lines: an entry or a LogLineError, never anything else',
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ unit: 'binary' }),
            fc.string({ unit: 'grapheme' }),
            fc.json(),
            nearLine,
            fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
          ),
          (s) => {
            onlyNamed(LogLineError, () => parseLogLine(s));
          },
        ),
        RUNS,
      );
    },
    TIMEOUT,
  );

  it(
    'random bytes (invalid UTF-8 included): an entry or a LogLineError',
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 200 }),
            nearLine.map((s) => enc.encode(s)),
          ),
          (bytes) => {
            onlyNamed(LogLineError, () => parseLogLine(bytes));
          },
        ),
        RUNS,
      );
    },
    TIMEOUT,
  );

  it('names the code and field', () => {
    const cases: [string | Uint8Array, string, string | undefined][] = [
      ['', 'invalid_json', undefined],
      ['[1]', 'not_an_object', undefined],
      [new Uint8Array([0x7b, 0xff, 0x7d]), 'invalid_utf8', undefined],
      [validLine.replace('"sequence"', '"sequenze"'), 'unknown_field', 'sequenze'],
      [JSON.stringify({ ...JSON.parse(validLine), builderCode: 'X' }), 'non_canonical', 'builderCode'],
      [JSON.stringify({ ...JSON.parse(validLine), approvedBy: 'CFO' }), 'unknown_field', 'approvedBy'],
      [JSON.stringify({ ...JSON.parse(validLine), signature: undefined }), 'missing_field', 'signature'],
      [JSON.stringify({ ...JSON.parse(validLine), sequence: 1.5 }), 'non_canonical', 'sequence'],
      [JSON.stringify({ ...JSON.parse(validLine), sequence: -1 }), 'bad_field', 'sequence'],
      [JSON.stringify({ ...JSON.parse(validLine), entryHash: 'AB'.repeat(32) }), 'bad_field', 'entryHash'],
      ['x'.repeat(2 ** 20 + 1), 'line_too_long', undefined],
    ];
    for (const [line, code, field] of cases) {
      const err = (() => {
        try {
          parseLogLine(line);
        } catch (e) {
          return e as LogLineError;
        }
        throw new Error(`accepted ${String(line).slice(0, 60)}`);
      })();
      expect(err).toBeInstanceOf(LogLineError);
      expect([err.code, err.field]).toEqual([code, field]);
    }
    expect(parseLogLine(`${validLine}\n`)).toEqual(JSON.parse(validLine));
  });
});

/** Everything fast-check can make: null prototypes, BigInt, Date, Map, Set, typed and sparse arrays, boxed values. */
const wildValue = fc.anything({
  withNullPrototype: true,
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withSparseArray: true,
  withBoxedValues: true,
  withObjectString: true,
});

const jsonOrNull = (v: unknown): string => {
  try {
    return JSON.stringify(v) ?? 'null';
  } catch {
    return 'null';
  }
};

describe('fuzz: parsePolicies', () => {
  const validPolicy = {
    id: 'p',
    name: 'n',
    scope: { tenantId: 't' },
    caps: [{ amountCents: 5, window: 'per_day', action: 'block', reason: 'r' }],
    mode: 'enforce',
    version: 1,
    effectiveFrom: '2026-01-01T00:00:00Z',
  };
  const paths = [
    [],
    ['id'],
    ['scope'],
    ['scope', 'tenantId'],
    ['caps'],
    ['caps', 0],
    ['caps', 0, 'amountCents'],
    ['caps', 0, 'window'],
    ['caps', 0, 'action'],
    ['mode'],
    ['version'],
    ['effectiveFrom'],
    ['requiredCapability'],
    ['caps', 0, 'selector'],
    ['__proto__'],
    ['constructor'],
  ];
  const mutatedPolicy = fc.tuple(fc.constantFrom(...paths), fc.oneof(wildValue, anyNumberJsonArb)).map(([path, value]) => {
    const p = structuredClone(validPolicy) as Record<string, unknown>;
    if (path.length === 0) return value;
    let o = p as Record<string | number, unknown>;
    for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
    Object.defineProperty(o, path.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
    return p;
  });

  it(
    'random strings and values: policies or a PolicyValidationError naming a field, never anything else',
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ unit: 'binary' }),
            fc.json(),
            wildValue,
            mutatedPolicy,
            mutatedPolicy.map((p) => jsonOrNull(p)),
            fc.array(mutatedPolicy, { maxLength: 3 }),
          ),
          (input) => {
            try {
              parsePolicies(input);
            } catch (err) {
              if (!(err instanceof PolicyValidationError)) throw new Error(`threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
              expect(typeof err.field).toBe('string');
            }
          },
        ),
        RUNS,
      );
    },
    TIMEOUT,
  );

  it('regressions found by this fuzzer: a BigInt value and a sparse list give PolicyValidationError', () => {
    expect(() => parsePolicies(0n)).toThrow(PolicyValidationError);
    expect(() => parsePolicies({ ...validPolicy, version: 1n })).toThrow(/version: .*\(got 1n\)/);
    // eslint-disable-next-line no-sparse-arrays
    expect(() => parsePolicies([, validPolicy])).toThrow(/\[0\]/);
    expect(() => parsePolicies([validPolicy, validPolicy])).toThrow(/duplicate policy id/);
  });
});

describe('fuzz: verifyChain never throws on garbage', () => {
  const { entries } = chainOf(3);
  const garbageEntry = fc.oneof(
    wildValue,
    fc.record({
      sequence: wildValue,
      decision: wildValue,
      previousHash: wildValue,
      entryHash: wildValue,
      signature: wildValue,
      signerFingerprint: wildValue,
      publicKeyHex: wildValue,
    }),
  );
  it(
    'garbage entries or checkpoints give a failure result, not an exception',
    () => {
      fc.assert(
        fc.property(
          fc.array(garbageEntry, { maxLength: 3 }),
          fc.array(fc.oneof(wildValue, fc.record({ type: fc.constant('agentguard.checkpoint.v1'), sequence: fc.nat(5), chainId: wildValue })), {
            maxLength: 2,
          }),
          (junk, cps) => {
            const r1 = verifyChain([...entries, ...(junk as DecisionLogEntry[])], keysOf(1).publicKey);
            if (junk.length > 0) expect(r1).toMatchObject({ ok: false, sequence: 3 });
            const r2 = verifyChain(entries, keysOf(1).publicKey, { checkpoints: cps as Checkpoint[] });
            if (cps.length > 0) expect(r2).toMatchObject({ ok: false, reason: 'bad_checkpoint' });
          },
        ),
        RUNS,
      );
    },
    TIMEOUT,
  );
});
