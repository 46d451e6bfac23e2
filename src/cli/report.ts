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
  /** Settlements of a decision (`entryType: 'outcome'` with `originalDecisionId` and `outcome: settled|released`). */
  outcomes: number;
  /** Actual spend from settlements. */
  actualCents: number;
}

/** What `agentguard-spend report` prints. */
export interface DecisionReport {
  chains: number;
  /** Lines read as entries (every kind below). */
  entries: number;
  /**
   * Not counted in any tally: lines the strict line reader refused (not JSON,
   * a duplicate key, an unsigned field, …), and entries that are neither a
   * decision, a settlement, a Python-port receipt nor a signer change (e.g. a
   * decision without a known `action`).
   */
  malformed: number;
  /** Last lines without a newline (a write torn by a crash); not counted. */
  tornLines: number;
  /**
   * The Python port's signed receipts (`entryType` `outcome` with an
   * `outcomeReceipt`, `settlement`, `governance`): metadata about a run, not a
   * settlement of one of its decisions, so neither outcomes nor actual spend.
   */
  portReceipts: number;
  /** Key rotations (`signer_change` entries). */
  signerChanges: number;
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
  return {
    decisions: 0,
    allowed: 0,
    downgraded: 0,
    blocked: 0,
    shadowed: 0,
    wouldDowngrade: 0,
    wouldBlock: 0,
    savedCents: 0,
    wouldSaveCents: 0,
    outcomes: 0,
    actualCents: 0,
  };
}

const isCents = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const ACTIONS: ReadonlySet<unknown> = new Set(['allow', 'downgrade', 'block', 'shadow']);
const MODES: ReadonlySet<unknown> = new Set(['enforce', 'shadow']);
const PORT_RECEIPTS: ReadonlySet<unknown> = new Set(['outcome', 'settlement', 'governance']);

/** What kind of entry a decision payload is; only `decision` and `outcome` are tallied. */
export type EntryKind = 'decision' | 'outcome' | 'port_receipt' | 'signer_change' | 'malformed';

/**
 * Tells entries apart by what they mean, not by `entryType` alone: our
 * settlement is an `outcome` naming `originalDecisionId` and `outcome:
 * settled|released`; the Python port's `outcome` is a receipt of run metadata
 * (`outcomeReceipt`) and settles nothing. A decision needs a known `action`,
 * `enforcementMode` and integer `projectedCents`; anything else is malformed.
 */
export function entryKind(d: Record<string, unknown>): EntryKind {
  const type: unknown = d.entryType ?? 'decision';
  if (type === 'signer_change') return 'signer_change';
  if (type === 'outcome' && typeof d.originalDecisionId === 'string') {
    const settled = (d.outcome === 'settled' || d.outcome === 'released') && (d.actualCents === undefined || isCents(d.actualCents));
    return settled ? 'outcome' : 'malformed';
  }
  if (PORT_RECEIPTS.has(type)) {
    const receipt = type === 'outcome' ? d.outcomeReceipt : type === 'governance' ? d.governanceReceipt : true;
    return receipt !== null && receipt !== undefined && d.originalDecisionId === undefined ? 'port_receipt' : 'malformed';
  }
  if (type !== 'decision') return 'malformed';
  return ACTIONS.has(d.action) && MODES.has(d.enforcementMode) && isCents(d.projectedCents) ? 'decision' : 'malformed';
}

const num = (v: unknown): number => (isCents(v) ? v : 0);

/** What one decision or settlement adds to a tally. */
function contribution(d: Partial<SpendDecision>, kind: 'decision' | 'outcome'): Tally {
  const t = emptyTally();
  if (kind === 'outcome') {
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
  readonly report: DecisionReport = {
    chains: 0,
    entries: 0,
    malformed: 0,
    tornLines: 0,
    portReceipts: 0,
    signerChanges: 0,
    total: emptyTally(),
    byPolicy: {},
    byScope: {},
    byDay: {},
    byCap: {},
  };

  /** Adds one stored entry. */
  add(entry: { decision?: unknown }): void {
    const d = (entry.decision ?? {}) as Partial<SpendDecision>;
    this.report.entries++;
    const kind = entryKind(d as Record<string, unknown>);
    if (kind === 'malformed') return void this.report.malformed++;
    if (kind === 'port_receipt') return void this.report.portReceipts++;
    if (kind === 'signer_change') return void this.report.signerChanges++;
    const c = contribution(d, kind);
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
      else if (r.kind === 'torn') builder.report.tornLines++;
      else builder.report.malformed++;
    }
  }
  const sortKeys = (m: Record<string, Tally>) => Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  builder.report.byPolicy = sortKeys(builder.report.byPolicy);
  builder.report.byScope = sortKeys(builder.report.byScope);
  builder.report.byDay = sortKeys(builder.report.byDay);
  builder.report.byCap = sortKeys(builder.report.byCap);
  return builder.report;
}
