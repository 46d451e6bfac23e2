import type { TriggeredCap } from '../../audit/decision.js';

/**
 * A triggered cap as one line, naming its policy and, when the cap counts only
 * some models, its model set: `budget: downgrade per_day 500c → claude-sonnet-4-5 [models claude-opus-*]`.
 * `(no cap)` for a decision no cap decided.
 */
export function capLabel(policyId: unknown, cap: TriggeredCap | null | undefined): string {
  if (!cap || typeof cap !== 'object') return '(no cap)';
  const policy = typeof policyId === 'string' ? policyId : '(none)';
  const target = typeof cap.downgradeTo === 'string' ? ` → ${cap.downgradeTo}` : '';
  const models = Array.isArray(cap.models) && cap.models.length > 0 ? ` [models ${cap.models.join(', ')}]` : '';
  return `${policy}: ${String(cap.action)} ${String(cap.window)} ${String(cap.amountCents)}c${target}${models}`;
}
