import { context, createContextKey, type Context } from '@opentelemetry/api';
import { CAPABILITY_TIERS, type CapabilityTier } from '../../src/engine/capability.js';
import type { SpendScope } from '../../src/engine/policy.js';

/** Per-call overrides of the default scope and capability claim. */
export interface SpendCallOverrides {
  scope?: Partial<SpendScope>;
  capabilityClaim?: CapabilityTier;
}

const OVERRIDES_KEY = createContextKey('agentguard-spend call overrides');

/**
 * Runs `fn` with a scope and capability claim that every guarded call inside it
 * uses (through OpenTelemetry context, so it follows async work). Lets one
 * client serve many agents without changing call sites.
 */
export function withSpendScope<T>(overrides: SpendCallOverrides, fn: () => T): T {
  const merged = mergeOverrides(getSpendScopeOverrides(), overrides);
  return context.with(context.active().setValue(OVERRIDES_KEY, merged), fn);
}

/** The overrides set by enclosing {@link withSpendScope} calls in `ctx`. */
export function getSpendScopeOverrides(ctx: Context = context.active()): SpendCallOverrides {
  return (ctx.getValue(OVERRIDES_KEY) as SpendCallOverrides | undefined) ?? {};
}

/**
 * Request headers that override the scope of one call; adapters strip them
 * before the request leaves the process.
 */
export const OVERRIDE_HEADERS: Record<string, keyof SpendScope | 'capabilityClaim'> = {
  'x-agentguard-tenant-id': 'tenantId',
  'x-agentguard-team-id': 'teamId',
  'x-agentguard-user-id': 'userId',
  'x-agentguard-agent-id': 'agentId',
  'x-agentguard-task-id': 'taskId',
  'x-agentguard-capability': 'capabilityClaim',
};

/**
 * Reads and removes the override headers from a plain header object (returns a
 * copy without them). Header names are matched case-insensitively.
 */
export function takeOverrideHeaders(headers: Record<string, unknown> | undefined): {
  headers: Record<string, unknown> | undefined;
  overrides: SpendCallOverrides;
} {
  if (!headers || typeof headers !== 'object') return { headers, overrides: {} };
  const rest: Record<string, unknown> = {};
  const scope: Partial<SpendScope> = {};
  let capabilityClaim: CapabilityTier | undefined;
  let found = false;
  for (const [name, value] of Object.entries(headers)) {
    const field = OVERRIDE_HEADERS[name.toLowerCase()];
    if (!field) {
      rest[name] = value;
      continue;
    }
    found = true;
    if (value === undefined || value === null) continue;
    const text = String(value);
    if (field === 'capabilityClaim') {
      if (!(CAPABILITY_TIERS as readonly string[]).includes(text)) {
        throw new TypeError(`${name}: expected one of ${CAPABILITY_TIERS.join(', ')}, got ${JSON.stringify(text)}`);
      }
      capabilityClaim = text as CapabilityTier;
    } else {
      scope[field] = text;
    }
  }
  if (!found) return { headers, overrides: {} };
  return { headers: rest, overrides: { scope, ...(capabilityClaim ? { capabilityClaim } : {}) } };
}

/** `b` over `a`, field by field. */
export function mergeOverrides(a: SpendCallOverrides, b: SpendCallOverrides): SpendCallOverrides {
  const scope = { ...a.scope, ...b.scope };
  const capabilityClaim = b.capabilityClaim ?? a.capabilityClaim;
  return { scope, ...(capabilityClaim ? { capabilityClaim } : {}) };
}
