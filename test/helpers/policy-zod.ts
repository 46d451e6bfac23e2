/**
 * The zod schema the policy validator of `src/engine/policy.ts` replaced, kept as
 * the reference of the differential test (test/engine/policy-differential.test.ts):
 * the hand-written validator must accept exactly what this accepts and report the
 * same first issue (field and message).
 */
import { z } from 'zod';
import { CAPABILITY_TIERS } from '../../src/engine/capability.js';
import { PolicyValidationError } from '../../src/engine/errors.js';
import { SCOPE_FIELDS, type SpendPolicy } from '../../src/engine/policy.js';
import { WINDOWS } from '../../src/engine/windows.js';

const nonEmpty = z
  .string()
  .min(1, 'must be a non-empty string')
  .refine((s) => s.isWellFormed(), 'must not contain a lone surrogate (it could not be signed)');

const scopeSchema = z
  .object({
    tenantId: nonEmpty,
    teamId: nonEmpty.optional(),
    userId: nonEmpty.optional(),
    agentId: nonEmpty.optional(),
    taskId: nonEmpty.optional(),
    provider: nonEmpty.optional(),
  })
  .strict();

const capSchema = z
  .object({
    id: nonEmpty.optional(),
    amountCents: z.number().int('must be whole cents').nonnegative().max(Number.MAX_SAFE_INTEGER),
    window: z.enum(WINDOWS),
    action: z.enum(['allow', 'downgrade', 'block', 'shadow']),
    downgradeTo: nonEmpty.optional(),
    reason: nonEmpty,
    selector: z.array(z.enum(SCOPE_FIELDS)).optional(),
    clampMaxTokens: z.boolean().optional(),
    clampMinTokens: z.number().int().positive().optional(),
    models: z.array(nonEmpty).min(1, 'must name at least one model').optional(),
  })
  .strict()
  .superRefine((cap, ctx) => {
    if (cap.action === 'downgrade' && !cap.downgradeTo) {
      ctx.addIssue({ code: 'custom', path: ['downgradeTo'], message: 'is required when action is "downgrade"', input: cap.downgradeTo });
    }
    if (cap.clampMaxTokens && cap.action !== 'block') {
      ctx.addIssue({ code: 'custom', path: ['clampMaxTokens'], message: 'applies only to caps whose action is "block"', input: cap.clampMaxTokens });
    }
    if (cap.clampMinTokens !== undefined && !cap.clampMaxTokens) {
      ctx.addIssue({ code: 'custom', path: ['clampMinTokens'], message: 'needs clampMaxTokens: true', input: cap.clampMinTokens });
    }
  });

const policySchema = z
  .object({
    id: nonEmpty,
    name: nonEmpty,
    scope: scopeSchema,
    caps: z.array(capSchema),
    mode: z.enum(['enforce', 'shadow']),
    version: z.number().int().positive(),
    effectiveFrom: z.iso.datetime({ offset: true }),
    requiredCapability: z.enum(CAPABILITY_TIERS).optional(),
    defaultMaxOutputTokens: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();

/** Validates a policy document holding one policy or a list of policies. */
export function parsePoliciesWithZod(input: string | unknown): SpendPolicy[] {
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
    const result = policySchema.safeParse(item, { reportInput: true });
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const field = formatPath(many ? [i, ...issue.path] : issue.path);
      throw new PolicyValidationError(field, `${issue.message}${describeInput(issue)}`);
    }
    return result.data as SpendPolicy;
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

function describeInput(issue: z.core.$ZodIssue): string {
  if (!('input' in issue)) return '';
  const input = (issue as { input?: unknown }).input;
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
