import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePolicies, PolicyValidationError } from '../../src/index.js';
import { CAPABILITY_TIERS } from '../../src/engine/capability.js';
import { SCOPE_FIELDS } from '../../src/engine/policy.js';
import { WINDOWS } from '../../src/engine/windows.js';
import { anyNumberJsonArb, intArb, stringArb } from '../helpers/arbitraries.js';
import { parsePoliciesWithZod } from '../helpers/policy-zod.js';

// The hand-written policy validator against the zod schema it replaced: over
// generated valid policies and mutations of them, both accept the same inputs
// with the same result, or reject them with the same field and message.

const RUNS = { numRuns: Number(process.env.AGENTGUARD_FUZZ_RUNS ?? 600) };

type Outcome = { ok: true; value: unknown; keys: string } | { ok: false; field: string; message: string };

function outcome(parse: (input: unknown) => unknown, input: unknown): Outcome {
  try {
    const value = parse(input);
    return {
      ok: true,
      value,
      keys: JSON.stringify(value, (_k, v: unknown) =>
        v && typeof v === 'object' && !Array.isArray(v)
          ? Object.fromEntries(
              Object.keys(v).map((k) => [k, (v as Record<string, unknown>)[k] === undefined ? '<undefined>' : (v as Record<string, unknown>)[k]]),
            )
          : v,
      ),
    };
  } catch (err) {
    if (!(err instanceof PolicyValidationError)) throw err;
    return { ok: false, field: err.field, message: err.message };
  }
}

function expectSame(input: unknown): Outcome {
  const ours = outcome(parsePolicies, input);
  const reference = outcome(parsePoliciesWithZod, input);
  expect(ours).toStrictEqual(reference);
  return ours;
}

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

/** Values near every boundary the schema draws. */
const edgeValue = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    1,
    -1,
    0.5,
    2 ** 53,
    2 ** 53 - 1,
    -(2 ** 53),
    1e300,
    -1e300,
    NaN,
    Infinity,
    -Infinity,
    '',
    'x',
    '\ud800',
    'a\udc00b',
    true,
    false,
    null,
    undefined,
    [],
    [''],
    ['x'],
    {},
  ),
  fc.constantFrom(
    '2026-01-01T00:00:00Z',
    '2026-01-01T00:00Z',
    '2026-02-29T00:00:00Z',
    '2024-02-29T12:00:00.5+05:30',
    '2026-01-01T00:00:00+0100',
    '2026-13-01T00:00:00Z',
  ),
  fc.constantFrom(...WINDOWS, ...CAPABILITY_TIERS, ...SCOPE_FIELDS, 'allow', 'downgrade', 'block', 'shadow', 'enforce', 'region'),
  fc.array(fc.constantFrom(...SCOPE_FIELDS, 'region', 1), { maxLength: 3 }),
  fc.array(fc.oneof(stringArb, fc.constant('')), { maxLength: 3 }),
  intArb,
);

const nonEmptyString = fc.string({ minLength: 1, maxLength: 8 });

const scopeArb = fc.record(
  {
    tenantId: nonEmptyString,
    teamId: nonEmptyString,
    userId: nonEmptyString,
    agentId: nonEmptyString,
    taskId: nonEmptyString,
    provider: fc.constantFrom('openai', 'anthropic', 'bedrock'),
  },
  { requiredKeys: ['tenantId'] },
);

const capArb = fc
  .record(
    {
      id: nonEmptyString,
      amountCents: fc.oneof(fc.nat(), fc.maxSafeNat()),
      window: fc.constantFrom(...WINDOWS),
      action: fc.constantFrom('allow', 'downgrade', 'block', 'shadow'),
      downgradeTo: nonEmptyString,
      reason: nonEmptyString,
      selector: fc.uniqueArray(fc.constantFrom(...SCOPE_FIELDS)),
      clampMaxTokens: fc.boolean(),
      clampMinTokens: fc.integer({ min: 1, max: 10_000 }),
      models: fc.array(nonEmptyString, { minLength: 1, maxLength: 3 }),
    },
    { requiredKeys: ['amountCents', 'window', 'action', 'reason'] },
  )
  // Mostly valid: fix the cross-field rules half of the time, leave them to the validators otherwise.
  .chain((cap) =>
    fc.boolean().map((fix) => {
      if (!fix) return cap;
      const c: Record<string, unknown> = { ...cap };
      if (c.action === 'downgrade') c.downgradeTo ??= 'gpt-4o-mini';
      if (c.clampMaxTokens && c.action !== 'block') delete c.clampMaxTokens;
      if (c.clampMinTokens !== undefined && !c.clampMaxTokens) delete c.clampMinTokens;
      return c;
    }),
  );

const policyArb = fc.record(
  {
    id: nonEmptyString,
    name: nonEmptyString,
    scope: scopeArb,
    caps: fc.array(capArb, { maxLength: 3 }),
    mode: fc.constantFrom('enforce', 'shadow'),
    version: fc.integer({ min: 1, max: 1000 }),
    effectiveFrom: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
    requiredCapability: fc.constantFrom(...CAPABILITY_TIERS),
    defaultMaxOutputTokens: fc.integer({ min: 1, max: 200_000 }),
  },
  { requiredKeys: ['id', 'name', 'scope', 'caps', 'mode', 'version', 'effectiveFrom'] },
);

/** Every path into a policy: its fields, scope fields, cap fields (and one level into arrays). */
function pathsOf(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, Array.isArray(value) ? Number(k) : k], out);
  return out;
}

type Mutation = { kind: 'set'; value: unknown } | { kind: 'delete' } | { kind: 'add'; key: string; value: unknown };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(edgeValue, wildValue, anyNumberJsonArb).map((value) => ({ kind: 'set' as const, value })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'delete' as const }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('extra', '__proto__', 'constructor', 'amountUsd', 'models', 'id'), edgeValue)
      .map(([key, value]) => ({ kind: 'add' as const, key, value })),
  },
);

/** A policy with 1-3 mutations at random paths. */
const mutatedPolicyArb = policyArb.chain((policy) => {
  const paths = pathsOf(policy);
  return fc.array(fc.tuple(fc.constantFrom(...paths), mutationArb), { minLength: 1, maxLength: 3 }).map((mutations) => {
    let root: unknown = structuredClone(policy);
    for (const [path, m] of mutations) {
      if (path.length === 0) {
        if (m.kind === 'set') root = m.value;
        continue;
      }
      let o = root as Record<string | number, unknown> | null;
      for (const k of path.slice(0, -1)) o = o && typeof o === 'object' ? (o[k] as Record<string | number, unknown>) : null;
      if (!o || typeof o !== 'object') continue;
      const key = path.at(-1)!;
      try {
        if (m.kind === 'delete') delete o[key];
        else if (m.kind === 'set') Object.defineProperty(o, key, { value: m.value, enumerable: true, writable: true, configurable: true });
        else {
          const target = (o[key] && typeof o[key] === 'object' ? o[key] : o) as Record<string, unknown>;
          Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
        }
      } catch {
        // a typed array or frozen value set earlier takes no such property: leave it
      }
    }
    return root;
  });
});

describe('policy validator: same results as the zod reference schema', () => {
  it('generated valid policies: both accept, with the same result', () => {
    fc.assert(
      fc.property(fc.oneof(policyArb, fc.array(policyArb, { minLength: 1, maxLength: 3 })), (input) => {
        expectSame(input);
        expectSame(JSON.stringify(input));
      }),
      RUNS,
    );
  });

  it('mutated policies, lists of them and their JSON text: the same first issue (field and message) or the same result', () => {
    let rejected = 0;
    fc.assert(
      fc.property(fc.oneof(mutatedPolicyArb, fc.array(fc.oneof(mutatedPolicyArb, policyArb), { minLength: 1, maxLength: 3 })), (input) => {
        if (!expectSame(input).ok) rejected++;
        let text: string | undefined;
        try {
          text = JSON.stringify(input);
        } catch {
          // BigInt and cycles have no JSON text
        }
        if (text !== undefined) expectSame(text);
      }),
      RUNS,
    );
    // The generator must mostly produce rejected inputs, or it proves little.
    expect(rejected).toBeGreaterThan(RUNS.numRuns / 3);
  });

  it('arbitrary values and strings', () => {
    fc.assert(
      fc.property(fc.oneof(wildValue, fc.string({ unit: 'binary' }), fc.json(), edgeValue), (input) => {
        expectSame(input);
      }),
      RUNS,
    );
  });

  it('each boundary the schema draws, one at a time', () => {
    const base = {
      id: 'p',
      name: 'n',
      scope: { tenantId: 't' },
      caps: [{ amountCents: 5, window: 'per_day', action: 'block', reason: 'r' }],
      mode: 'enforce',
      version: 1,
      effectiveFrom: '2026-01-01T00:00:00Z',
    };
    const edges = [
      0,
      -0,
      1,
      -1,
      0.5,
      2 ** 53,
      2 ** 53 - 1,
      -(2 ** 53),
      1e300,
      NaN,
      Infinity,
      -Infinity,
      '',
      'x',
      '\ud800',
      true,
      null,
      undefined,
      [],
      [''],
      ['x'],
      {},
      1n,
      new Number(1),
      new String('x'),
      new Date(0),
      Object.create(null),
    ];
    const capFields = ['id', 'amountCents', 'window', 'action', 'downgradeTo', 'reason', 'selector', 'clampMaxTokens', 'clampMinTokens', 'models', 'extra'];
    const policyFields = ['id', 'name', 'scope', 'caps', 'mode', 'version', 'effectiveFrom', 'requiredCapability', 'defaultMaxOutputTokens', 'extra'];
    let rejected = 0;
    for (const v of edges) {
      for (const f of capFields) if (!expectSame({ ...base, caps: [{ ...base.caps[0], [f]: v }] }).ok) rejected++;
      for (const f of policyFields) if (!expectSame({ ...base, [f]: v }).ok) rejected++;
      for (const f of ['tenantId', 'teamId', 'provider', 'extra']) if (!expectSame({ ...base, scope: { tenantId: 't', [f]: v } }).ok) rejected++;
    }
    expect(rejected).toBeGreaterThan(300);
    // Fields and unknown keys reached through the prototype count as zod counts them (`in`, `for...in`).
    expect(expectSame(Object.assign(Object.create({ extra: 1 }), base)).ok).toBe(false);
    expect(expectSame(Object.assign(Object.create({ id: 'inherited' }), { ...base, id: undefined })).ok).toBe(false);
    expect(expectSame({ ...base, scope: Object.create({ tenantId: 't' }) }).ok).toBe(true);
    // Cross-field rules of a cap, each alone and after an unknown key.
    for (const cap of [
      { amountCents: 1, window: 'per_day', action: 'downgrade', reason: 'r' },
      { amountCents: 1, window: 'per_day', action: 'allow', reason: 'r', clampMaxTokens: true },
      { amountCents: 1, window: 'per_day', action: 'block', reason: 'r', clampMinTokens: 5 },
      { amountCents: 1, window: 'per_day', action: 'downgrade', reason: 'r', extra: 1 },
    ]) {
      expect(expectSame({ ...base, caps: [cap] }).ok).toBe(false);
    }
  });
});
