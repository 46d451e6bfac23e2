import { listChains, readChain } from '../../exporters/file/reader.js';
import type { SpendDecision } from '../audit/decision.js';
import { SCOPE_FIELDS } from '../engine/policy.js';
import { capLabel } from './replay/cap-label.js';

/**
 * Counts and cents for one group of decisions. Cents are whole cents, as in
 * the log.
 */
export interface Tally {
  /** Pre-call decision entries. */
  decisions: number;
  /** Calls passed unchanged with no cap firing. */
  allowed: number;
  /** Calls whose model enforcement rewrote. */
  downgraded: number;
  /** Calls enforcement stopped before the provider was contacted. */
  blocked: number;
  /** Calls passed unchanged although a cap fired in shadow (shadow mode or a shadow policy/cap). */
  shadowed: number;
  /** Of `shadowed`: enforcement would have downgraded. */
  wouldDowngrade: number;
  /** Of `shadowed`: enforcement would have blocked. */
  wouldBlock: number;
  /** Projected cents enforcement saved: blocked calls' projection, plus for downgrades the projection at the requested model less the one at the target. */
  savedCents: number;
  /** The same for shadowed decisions: what enforcement would have saved. */
  wouldSaveCents: number;
  /** Outcome (settlement) entries. */
  outcomes: number;
  /** Actual spend from outcome entries. */
  actualCents: number;
}

/** What `agentguard-spend report` prints. */
export interface DecisionReport {
  chains: number;
  entries: number;
  /** Lines that were not JSON objects, or torn last lines; not counted. */
  skippedLines: number;
  total: Tally;
  byPolicy: Record<string, Tally>;
  /** Keyed by the actor's scope fields, e.g. `tenantId=acme,agentId=bot`. */
  byScope: Record<string, Tally>;
  /** Keyed by UTC day `YYYY-MM-DD` of the entry's timestamp. */
  byDay: Record<string, Tally>;
  /**
   * Pre-call decisions keyed by the cap that decided, with its policy and model
   * set (`budget: downgrade per_day 500c → claude-sonnet-4-5 [models claude-opus-*]`);
   * `(no cap)` when none did. Outcome entries name no cap and are not counted here.
   */
  byCap: Record<string, Tally>;
}

/** An empty {@link Tally}. */
export function emptyTally(): Tally {
  return { decisions: 0, allowed: 0, downgraded: 0, blocked: 0, shadowed: 0, wouldDowngrade: 0, wouldBlock: 0, savedCents: 0, wouldSaveCents: 0, outcomes: 0, actualCents: 0 };
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** What one entry adds to a tally. */
function contribution(d: Partial<SpendDecision>): Tally {
  const t = emptyTally();
  if (d.entryType === 'outcome') {
    t.outcomes = 1;
    t.actualCents = num(d.actualCents);
    return t;
  }
  t.decisions = 1;
  const projected = num(d.projectedCents);
  const downgradeSaving = (from: unknown, to: unknown) => (typeof from === 'number' && typeof to === 'number' ? Math.max(0, from - to) : 0);
  // What enforcement would have done, for a call passed unchanged although a cap fired.
  let would: string | undefined;
  if (d.action === 'allow') {
    t.allowed = 1;
  } else if (d.enforcementMode === 'shadow') {
    t.shadowed = 1;
    would = d.action;
  } else if (d.action === 'block') {
    t.blocked = 1;
    t.savedCents = projected;
  } else if (d.action === 'downgrade') {
    t.downgraded = 1;
    t.savedCents = downgradeSaving(d.projectedCentsRequested, projected);
  } else {
    t.shadowed = 1;
    would = d.triggeredCap?.action;
  }
  if (would === 'block') {
    t.wouldBlock = 1;
    t.wouldSaveCents = projected;
  } else if (would === 'downgrade') {
    t.wouldDowngrade = 1;
    t.wouldSaveCents = downgradeSaving(projected, d.projectedCentsIfEnforced);
  }
  return t;
}

function add(into: Tally, c: Tally): void {
  for (const k of Object.keys(c) as (keyof Tally)[]) into[k] += c[k];
}

function addTo(map: Record<string, Tally>, key: string, c: Tally): void {
  add((map[key] ??= emptyTally()), c);
}

/** `tenantId=acme,agentId=bot` for an actor, fields in scope order; `(none)` without one. */
export function scopeKey(actor: unknown): string {
  if (!actor || typeof actor !== 'object') return '(none)';
  const a = actor as Record<string, unknown>;
  const parts = SCOPE_FIELDS.filter((f) => typeof a[f] === 'string').map((f) => `${f}=${a[f] as string}`);
  return parts.length ? parts.join(',') : '(none)';
}

/** Accumulates entries into a {@link DecisionReport}, one at a time (flat memory but for the group keys). */
export class ReportBuilder {
  readonly report: DecisionReport = { chains: 0, entries: 0, skippedLines: 0, total: emptyTally(), byPolicy: {}, byScope: {}, byDay: {}, byCap: {} };

  /** Adds one stored entry. */
  add(entry: { decision?: unknown }): void {
    const d = (entry.decision ?? {}) as Partial<SpendDecision>;
    const c = contribution(d);
    this.report.entries++;
    add(this.report.total, c);
    addTo(this.report.byPolicy, typeof d.policyId === 'string' ? d.policyId : '(none)', c);
    addTo(this.report.byScope, scopeKey(d.actor), c);
    addTo(this.report.byDay, typeof d.timestamp === 'string' ? d.timestamp.slice(0, 10) : '(unknown)', c);
    if (d.entryType !== 'outcome') addTo(this.report.byCap, capLabel(d.policyId, d.triggeredCap), c);
  }
}

/** Reads every chain under `path` (streaming) into a report. Does not verify signatures. */
export async function buildReport(path: string): Promise<DecisionReport> {
  const builder = new ReportBuilder();
  const chains = await listChains(path);
  builder.report.chains = chains.length;
  for (const chain of chains) {
    for await (const r of readChain(chain)) {
      if (r.kind === 'entry') builder.add(r.entry);
      else builder.report.skippedLines++;
    }
  }
  const sortKeys = (m: Record<string, Tally>) => Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  builder.report.byPolicy = sortKeys(builder.report.byPolicy);
  builder.report.byScope = sortKeys(builder.report.byScope);
  builder.report.byDay = sortKeys(builder.report.byDay);
  builder.report.byCap = sortKeys(builder.report.byCap);
  return builder.report;
}
