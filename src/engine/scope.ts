import type { CallRequest } from './call-request.js';
import { SCOPE_FIELDS, type ScopeField, type SpendScope } from './policy.js';

/** The call's value of a scope field; `provider` falls back to the call's provider. */
export function scopeValue(request: CallRequest, field: ScopeField): string | undefined {
  return field === 'provider' ? (request.scope.provider ?? request.provider) : request.scope[field];
}

/** Whether every field the policy's scope sets matches the call. */
export function scopeMatches(policyScope: SpendScope, request: CallRequest): boolean {
  for (const f of SCOPE_FIELDS) {
    const want = policyScope[f];
    if (want !== undefined && scopeValue(request, f) !== want) return false;
  }
  return true;
}

/** The call's own scope fields, as recorded in a decision's `actor`. */
export function actorOf(request: CallRequest): Record<string, string> {
  const actor: Record<string, string> = {};
  for (const f of SCOPE_FIELDS) {
    const v = request.scope[f];
    if (v !== undefined) actor[f] = v;
  }
  return actor;
}

/**
 * The scope part of a counter key. Values are URI-encoded so that no scope
 * value (e.g. a tenant named `a,teamId=b`) can spell another scope's key; a
 * field the call does not set appears bare.
 */
export function scopeKey(fields: readonly ScopeField[], request: CallRequest): string {
  return fields
    .map((f) => {
      const v = scopeValue(request, f);
      return v === undefined ? f : `${f}=${encodeURIComponent(v)}`;
    })
    .join(',');
}
