import { CAPABILITY_TIERS, type CapabilityTier } from './capability.js';
import { PolicyValidationError } from './errors.js';
import { WINDOWS, type SpendWindow } from './windows.js';

/** Scope fields, in the order they appear in counter keys. */
export const SCOPE_FIELDS = ['tenantId', 'teamId', 'userId', 'agentId', 'taskId', 'provider'] as const;
export type ScopeField = (typeof SCOPE_FIELDS)[number];

/** Who a call is for. A policy applies to a call when every field it sets matches. */
export interface SpendScope {
  tenantId: string;
  teamId?: string;
  userId?: string;
  agentId?: string;
  taskId?: string;
  provider?: string;
}

/** What a cap does when it fires. */
export type CapAction = 'allow' | 'downgrade' | 'block' | 'shadow';

/** A limit on spend in one window. */
export interface SpendCap {
  /** Optional stable id; keys the cap's counters (defaults to its index). */
  id?: string;
  amountCents: number;
  window: SpendWindow;
  action: CapAction;
  /** Model to use instead when `action` is `downgrade`. */
  downgradeTo?: string;
  reason: string;
  /** Scope fields that key this cap's counter (default: the fields the policy's scope sets). */
  selector?: ScopeField[];
  /**
   * Block caps only: when the remaining budget cannot pay for the requested
   * worst case, lower the call's output bound (`max_tokens`) so that it fits,
   * and block only if even `clampMinTokens` output tokens would not fit.
   */
  clampMaxTokens?: boolean;
  /** Smallest output bound worth clamping to (default 1). */
  clampMinTokens?: number;
  /**
   * The models whose spend this cap counts and limits: exact names or `*`
   * patterns (`claude-opus-*`). Absent: every model. A call to a model the cap
   * does not name neither counts against it nor is limited by it.
   */
  models?: string[];
}

/** A named set of caps for a scope. */
export interface SpendPolicy {
  id: string;
  name: string;
  scope: SpendScope;
  caps: SpendCap[];
  mode: 'enforce' | 'shadow';
  /** Positive integer, recorded in each decision. */
  version: number;
  /** ISO 8601 instant from which the policy applies. */
  effectiveFrom: string;
  requiredCapability?: CapabilityTier;
  /**
   * The output bound the guard writes into a call that sent none, so the
   * reservation is exact and the provider enforces it.
   */
  defaultMaxOutputTokens?: number;
}

// Validation is hand-written rather than done with a schema library: it runs at
// start-up under `agentguard-spend/register`, where building a zod schema cost
// ~40 ms. It reports the issue a zod schema of the same shape reports first, with
// the same field path and message (test/engine/policy-differential.test.ts holds
// it to the reference schema in test/helpers/policy-zod.ts).

/** One problem found: where, what, and the value found there (`hasInput`: the value is shown). */
interface Issue {
  path: PropertyKey[];
  message: string;
  input?: unknown;
}

/** Validates a value and returns the parsed copy, or the first issue. */
type Check<T> = (value: unknown) => { ok: true; value: T } | { ok: false; issue: Issue };

const ok = <T>(value: T) => ({ ok: true as const, value });
const fail = (message: string, input: unknown, path: PropertyKey[] = []) => ({ ok: false as const, issue: { path, message, input } });

/** The type name of a value as zod reports it ("received ..."). */
function receivedType(data: unknown): string {
  const t = typeof data;
  if (t === 'number') return Number.isNaN(data) ? 'NaN' : Number.isFinite(data) ? 'number' : String(data);
  if (t === 'object') {
    if (data === null) return 'null';
    if (Array.isArray(data)) return 'array';
    const obj = data as { constructor?: { name?: string } };
    if (Object.getPrototypeOf(obj) !== Object.prototype && 'constructor' in obj && obj.constructor) return String(obj.constructor.name);
  }
  return t;
}

const invalidType = (expected: string, input: unknown) => fail(`Invalid input: expected ${expected}, received ${receivedType(input)}`, input);

const nonEmpty: Check<string> = (v) => {
  if (typeof v !== 'string') return invalidType('string', v);
  if (v.length < 1) return fail('must be a non-empty string', v);
  if (!v.isWellFormed()) return fail('must not contain a lone surrogate (it could not be signed)', v);
  return ok(v);
};

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * An integer within `min`..`max`. `intMessage` replaces the message of the
 * integer check (not a whole or not a safe number).
 */
function integer(opts: { min: number; exclusiveMin: boolean; max?: number; intMessage?: string }): Check<number> {
  return (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return invalidType('number', v);
    if (!Number.isInteger(v)) return fail(opts.intMessage ?? 'Invalid input: expected int, received number', v);
    if (v > MAX_SAFE) return fail(opts.intMessage ?? `Too big: expected int to be <=${MAX_SAFE}`, v);
    if (v < -MAX_SAFE) return fail(opts.intMessage ?? `Too small: expected int to be >=${-MAX_SAFE}`, v);
    if (opts.exclusiveMin ? v <= opts.min : v < opts.min) return fail(`Too small: expected number to be ${opts.exclusiveMin ? '>' : '>='}${opts.min}`, v);
    if (opts.max !== undefined && v > opts.max) return fail(`Too big: expected number to be <=${opts.max}`, v);
    return ok(v);
  };
}

function oneOf<T extends string>(values: readonly T[]): Check<T> {
  const message = `Invalid option: expected one of ${values.map((x) => `"${x}"`).join('|')}`;
  return (v) => ((values as readonly unknown[]).includes(v) ? ok(v as T) : fail(message, v));
}

const boolean: Check<boolean> = (v) => (typeof v === 'boolean' ? ok(v) : invalidType('boolean', v));

function arrayOf<T>(item: Check<T>, minMessage?: string): Check<T[]> {
  return (v) => {
    if (!Array.isArray(v)) return invalidType('array', v);
    const out: T[] = [];
    // Index by length: holes of a sparse array are checked as undefined.
    for (let i = 0; i < v.length; i++) {
      const r = item(v[i]);
      if (!r.ok) return { ok: false, issue: { ...r.issue, path: [i, ...r.issue.path] } };
      out.push(r.value);
    }
    if (minMessage !== undefined && out.length < 1) return fail(minMessage, v);
    return ok(out);
  };
}

/** RFC 3339 date-time with seconds and `Z` or a `±hh:mm` offset (the form zod's `iso.datetime({ offset: true })` accepts). */
const DATETIME =
  /^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|([+-](?:[01]\d|2[0-3]):[0-5]\d)))$/;

const datetime: Check<string> = (v) => {
  if (typeof v !== 'string') return invalidType('string', v);
  return DATETIME.test(v) ? ok(v) : fail('Invalid ISO datetime', v);
};

type Shape = Record<string, { check: Check<unknown>; optional?: boolean }>;

/**
 * A strict object: each field of `shape` in order (a missing required field is
 * checked as undefined), then keys the shape does not name, then `refine` on
 * the parsed object. Absent optional fields stay absent in the result.
 */
function strictObject<T>(shape: Shape, refine?: (value: T) => Issue | null): Check<T> {
  const keys = Object.keys(shape);
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return invalidType('object', v);
    const input = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const field = shape[key]!;
      const present = key in input;
      const value = input[key];
      if (field.optional && value === undefined) {
        if (present) out[key] = undefined;
        continue;
      }
      const r = field.check(value);
      if (!r.ok) return { ok: false, issue: { ...r.issue, path: [key, ...r.issue.path] } };
      out[key] = r.value;
    }
    const unknown: string[] = [];
    for (const key in input) if (!Object.prototype.hasOwnProperty.call(shape, key)) unknown.push(key);
    if (unknown.length > 0) return fail(`Unrecognized key${unknown.length > 1 ? 's' : ''}: ${unknown.map((k) => `"${k}"`).join(', ')}`, v);
    const issue = refine?.(out as T);
    return issue ? { ok: false, issue } : ok(out as T);
  };
}

const scopeCheck = strictObject<SpendScope>({
  tenantId: { check: nonEmpty },
  teamId: { check: nonEmpty, optional: true },
  userId: { check: nonEmpty, optional: true },
  agentId: { check: nonEmpty, optional: true },
  taskId: { check: nonEmpty, optional: true },
  provider: { check: nonEmpty, optional: true },
});

const capCheck = strictObject<SpendCap>(
  {
    id: { check: nonEmpty, optional: true },
    amountCents: { check: integer({ min: 0, exclusiveMin: false, max: MAX_SAFE, intMessage: 'must be whole cents' }) },
    window: { check: oneOf(WINDOWS) },
    action: { check: oneOf(['allow', 'downgrade', 'block', 'shadow'] as const) },
    downgradeTo: { check: nonEmpty, optional: true },
    reason: { check: nonEmpty },
    selector: { check: arrayOf(oneOf(SCOPE_FIELDS)), optional: true },
    clampMaxTokens: { check: boolean, optional: true },
    clampMinTokens: { check: integer({ min: 0, exclusiveMin: true }), optional: true },
    models: { check: arrayOf(nonEmpty, 'must name at least one model'), optional: true },
  },
  (cap) => {
    if (cap.action === 'downgrade' && !cap.downgradeTo)
      return { path: ['downgradeTo'], message: 'is required when action is "downgrade"', input: cap.downgradeTo };
    if (cap.clampMaxTokens && cap.action !== 'block')
      return { path: ['clampMaxTokens'], message: 'applies only to caps whose action is "block"', input: cap.clampMaxTokens };
    if (cap.clampMinTokens !== undefined && !cap.clampMaxTokens)
      return { path: ['clampMinTokens'], message: 'needs clampMaxTokens: true', input: cap.clampMinTokens };
    return null;
  },
);

const policyCheck = strictObject<SpendPolicy>({
  id: { check: nonEmpty },
  name: { check: nonEmpty },
  scope: { check: scopeCheck },
  caps: { check: arrayOf(capCheck) },
  mode: { check: oneOf(['enforce', 'shadow'] as const) },
  version: { check: integer({ min: 0, exclusiveMin: true }) },
  effectiveFrom: { check: datetime },
  requiredCapability: { check: oneOf(CAPABILITY_TIERS), optional: true },
  defaultMaxOutputTokens: { check: integer({ min: 0, exclusiveMin: true, max: MAX_SAFE }), optional: true },
});

/**
 * Validates one policy (a JSON string or an object). Throws
 * {@link PolicyValidationError} naming the first bad field and its value.
 */
export function parsePolicy(input: string | unknown): SpendPolicy {
  const list = parsePolicies(input);
  if (list.length !== 1) throw new PolicyValidationError('$', `expected one policy, got a list of ${list.length}`);
  return list[0]!;
}

/** Validates a policy document holding one policy or a list of policies. */
export function parsePolicies(input: string | unknown): SpendPolicy[] {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (err) {
      throw new PolicyValidationError('$', `not valid JSON (${(err as Error).message})`);
    }
  }
  const many = Array.isArray(value);
  // Array.from turns holes of a sparse array into undefined, which is then validated (map() would skip them).
  const items: unknown[] = many ? Array.from(value as unknown[]) : [value];
  if (items.length === 0) throw new PolicyValidationError('$', 'the policy list is empty');
  const policies = items.map((item, i) => {
    const result = policyCheck(item);
    if (!result.ok) {
      const { issue } = result;
      throw new PolicyValidationError(formatPath(many ? [i, ...issue.path] : issue.path), `${issue.message}${describeInput(issue.input)}`);
    }
    return result.value;
  });
  const ids = new Set<string>();
  for (const [i, p] of policies.entries()) {
    if (ids.has(p.id)) throw new PolicyValidationError(formatPath(many ? [i, 'id'] : ['id']), `duplicate policy id ${JSON.stringify(p.id)}`);
    ids.add(p.id);
    // A cap id keys its counters: two caps with one id would share a counter.
    const capIds = new Set<string>();
    for (const [j, cap] of p.caps.entries()) {
      if (cap.id === undefined) continue;
      if (capIds.has(cap.id))
        throw new PolicyValidationError(
          formatPath([...(many ? [i] : []), 'caps', j, 'id']),
          `duplicate cap id ${JSON.stringify(cap.id)} in policy ${JSON.stringify(p.id)}`,
        );
      capIds.add(cap.id);
    }
  }
  return policies;
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '$';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function describeInput(input: unknown): string {
  if (input === undefined) return ' (missing)';
  const text = safeText(input);
  return ` (got ${text.length > 80 ? `${text.slice(0, 77)}...` : text})`;
}

/** A short text for any value: JSON where possible; never throws (BigInt, null-prototype objects, cycles). */
function safeText(input: unknown): string {
  try {
    const json = JSON.stringify(input);
    if (json !== undefined) return json;
  } catch {
    // not JSON-serializable: fall through
  }
  try {
    return typeof input === 'bigint' ? `${input}n` : String(input);
  } catch {
    return Object.prototype.toString.call(input);
  }
}
