import { describe, expect, it } from 'vitest';
import { parsePolicies, parsePolicy, PolicyValidationError } from '../../src/index.js';

const valid = {
  id: 'p-1',
  name: 'Tenant acme',
  scope: { tenantId: 'acme', teamId: 'research' },
  caps: [
    { amountCents: 5000, window: 'per_day', action: 'block', reason: 'daily ceiling' },
    {
      id: 'agent-day',
      amountCents: 1000,
      window: 'per_day',
      action: 'downgrade',
      downgradeTo: 'gpt-4o-mini',
      reason: 'per agent',
      selector: ['tenantId', 'agentId'],
    },
  ],
  mode: 'enforce',
  version: 3,
  effectiveFrom: '2026-01-01T00:00:00Z',
  requiredCapability: 'data_write',
};

/** The error parsePolicies throws for `input`. */
function errorOf(input: unknown): PolicyValidationError {
  try {
    parsePolicies(input);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyValidationError);
    return err as PolicyValidationError;
  }
  throw new Error('expected parsePolicies to throw');
}

const withCap = (cap: Record<string, unknown>) => ({ ...valid, caps: [cap] });
const baseCap = { amountCents: 100, window: 'per_day', action: 'block', reason: 'r' };

describe('parsePolicy / parsePolicies: accepted forms', () => {
  it('one policy as an object or as JSON text', () => {
    const a = parsePolicy(valid);
    const b = parsePolicy(JSON.stringify(valid));
    expect(a).toEqual(valid);
    expect(b).toEqual(valid);
    expect(parsePolicies(valid)).toEqual([valid]);
  });

  it('a list of policies as an array or as JSON text', () => {
    const list = [valid, { ...valid, id: 'p-2', mode: 'shadow', requiredCapability: undefined }];
    const parsed = parsePolicies(JSON.stringify(list));
    expect(parsed.map((p) => [p.id, p.mode])).toEqual([
      ['p-1', 'enforce'],
      ['p-2', 'shadow'],
    ]);
    expect(parsePolicies(list)).toHaveLength(2);
  });

  it('parsePolicy accepts a one-element list but not a longer one', () => {
    expect(parsePolicy([valid]).id).toBe('p-1');
    expect(() => parsePolicy([valid, { ...valid, id: 'p-2' }])).toThrow('invalid policy: $: expected one policy, got a list of 2');
  });

  it('accepts every window, action, tier, and offsets in effectiveFrom', () => {
    for (const window of ['per_call', 'per_minute', 'per_hour', 'per_day', 'per_month']) {
      for (const action of ['allow', 'block', 'shadow']) expect(parsePolicy(withCap({ ...baseCap, window, action })).caps[0]!.window).toBe(window);
    }
    for (const tier of ['read_only', 'data_write', 'payment_initiate', 'payment_execute']) {
      expect(parsePolicy({ ...valid, requiredCapability: tier }).requiredCapability).toBe(tier);
    }
    expect(parsePolicy({ ...valid, effectiveFrom: '2026-01-01T01:00:00.123+01:00' }).effectiveFrom).toBe('2026-01-01T01:00:00.123+01:00');
    expect(parsePolicy({ ...valid, caps: [] }).caps).toEqual([]);
    expect(parsePolicy(withCap({ ...baseCap, amountCents: 0 })).caps[0]!.amountCents).toBe(0);
  });
});

describe('parsePolicies: errors name the field and the value', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['bad window', withCap({ ...baseCap, window: 'per_week' }), 'caps[0].window', /\(got "per_week"\)/],
    ['bad action', withCap({ ...baseCap, action: 'deny' }), 'caps[0].action', /\(got "deny"\)/],
    ['downgrade without downgradeTo', withCap({ ...baseCap, action: 'downgrade' }), 'caps[0].downgradeTo', /required when action is "downgrade"/],
    ['negative amountCents', withCap({ ...baseCap, amountCents: -1 }), 'caps[0].amountCents', /\(got -1\)/],
    ['fractional amountCents', withCap({ ...baseCap, amountCents: 12.5 }), 'caps[0].amountCents', /whole cents.*\(got 12\.5\)/],
    ['string amountCents', withCap({ ...baseCap, amountCents: '100' }), 'caps[0].amountCents', /\(got "100"\)/],
    ['huge amountCents', withCap({ ...baseCap, amountCents: 2 ** 53 }), 'caps[0].amountCents', /9007199254740992/],
    ['missing reason', withCap({ amountCents: 1, window: 'per_day', action: 'block' }), 'caps[0].reason', /\(missing\)/],
    ['bad selector field', withCap({ ...baseCap, selector: ['agentId', 'region'] }), 'caps[0].selector[1]', /\(got "region"\)/],
    ['unknown cap key', withCap({ ...baseCap, amountUsd: 1 }), 'caps[0]', /amountUsd/],
    ['unknown policy key', { ...valid, owner: 'me' }, '$', /owner/],
    ['unknown scope key', { ...valid, scope: { tenantId: 'a', region: 'eu' } }, 'scope', /region/],
    ['missing tenantId', { ...valid, scope: { teamId: 't' } }, 'scope.tenantId', /\(missing\)/],
    ['empty tenantId', { ...valid, scope: { tenantId: '' } }, 'scope.tenantId', /non-empty.*\(got ""\)/],
    ['bad effectiveFrom', { ...valid, effectiveFrom: 'next tuesday' }, 'effectiveFrom', /\(got "next tuesday"\)/],
    ['date-only effectiveFrom', { ...valid, effectiveFrom: '2026-01-01' }, 'effectiveFrom', /\(got "2026-01-01"\)/],
    ['bad mode', { ...valid, mode: 'audit' }, 'mode', /\(got "audit"\)/],
    ['version 0', { ...valid, version: 0 }, 'version', /\(got 0\)/],
    ['fractional version', { ...valid, version: 1.5 }, 'version', /\(got 1\.5\)/],
    ['bad capability', { ...valid, requiredCapability: 'admin' }, 'requiredCapability', /\(got "admin"\)/],
    ['caps not a list', { ...valid, caps: {} }, 'caps', /\(got \{\}\)/],
    ['missing id', { ...valid, id: undefined }, 'id', /\(missing\)/],
  ];
  it.each(cases)('%s → %s', (_name, input, field, value) => {
    const err = errorOf(input);
    expect(err.field).toBe(field);
    expect(err.message.startsWith(`invalid policy: ${field}: `)).toBe(true);
    expect(err.message).toMatch(value);
  });

  it('in a list, the field path starts with the index', () => {
    const err = errorOf([valid, withCap({ ...baseCap, id: 'second', window: 'weekly' })]);
    expect(err.field).toBe('[1].caps[0].window');
    expect(err.message).toMatch(/\(got "weekly"\)/);
  });

  it('duplicate ids in a list name the second one', () => {
    const err = errorOf([valid, { ...valid, name: 'other' }]);
    expect(err.field).toBe('[1].id');
    expect(err.message).toBe('invalid policy: [1].id: duplicate policy id "p-1"');
  });

  it('bad JSON text, an empty list, and a non-object', () => {
    expect(errorOf('{ not json').message).toMatch(/^invalid policy: \$: not valid JSON/);
    expect(errorOf('[]').message).toBe('invalid policy: $: the policy list is empty');
    expect(errorOf(42).field).toBe('$');
    expect(errorOf([valid, null]).field).toBe('[1]');
  });

  it('long values are shortened in the message', () => {
    const err = errorOf({ ...valid, mode: 'x'.repeat(500) });
    expect(err.message.length).toBeLessThan(200);
    expect(err.message).toContain('...');
  });
});
