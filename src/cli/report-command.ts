import { buildReport, type DecisionReport, type Tally } from './report.js';
import { CliError } from './errors.js';
import { dollars, printable, table } from './format.js';

/** Runs `report`; prints tables, or JSON with `json`. */
export async function runReport(path: string, options: { json?: boolean }): Promise<number> {
  let report: DecisionReport;
  try {
    report = await buildReport(path);
  } catch (err) {
    throw new CliError(printable(`<dir>: ${(err as Error).message}`));
  }
  if (report.chains === 0) throw new CliError(`<dir>: no decision log files (*.jsonl) in ${printable(path)}`);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const t = report.total;
  const lines = [
    `${report.entries} entries in ${report.chains} chain${report.chains === 1 ? '' : 's'} (${t.decisions} decisions, ${t.outcomes} settlements${others(report)}); signatures not checked here: run verify`,
    `enforced: ${t.blocked} blocked, ${t.downgraded} downgraded, saved ${dollars(t.savedCents)} (projected)`,
    `shadow: ${t.shadowed} passed unchanged, would have blocked ${t.wouldBlock} and downgraded ${t.wouldDowngrade}, saving ${dollars(t.wouldSaveCents)} (projected)`,
    `actual spend: ${dollars(t.actualCents)}`,
    '',
    section('by day (UTC)', report.byDay),
    '',
    section('by policy', report.byPolicy),
    '',
    section('by scope', report.byScope),
    '',
    section('by cap', report.byCap),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** The entries and lines not in the tallies, when there are any. */
function others(r: DecisionReport): string {
  const parts = [
    r.portReceipts ? `${r.portReceipts} Python-port receipt${r.portReceipts === 1 ? '' : 's'} (run metadata, not settlements)` : '',
    r.signerChanges ? `${r.signerChanges} key rotation${r.signerChanges === 1 ? '' : 's'}` : '',
    r.malformed ? `${r.malformed} malformed (not counted)` : '',
    r.tornLines ? `${r.tornLines} torn last line${r.tornLines === 1 ? '' : 's'}` : '',
  ].filter(Boolean);
  return parts.length ? `, ${parts.join(', ')}` : '';
}

function section(title: string, groups: Record<string, Tally>): string {
  const header = [title, 'decisions', 'allowed', 'downgraded', 'blocked', 'shadowed', 'would dngr', 'would block', 'saved', 'would save', 'actual'];
  const rows = Object.entries(groups).map(([k, g]) => [
    k,
    String(g.decisions),
    String(g.allowed),
    String(g.downgraded),
    String(g.blocked),
    String(g.shadowed),
    String(g.wouldDowngrade),
    String(g.wouldBlock),
    dollars(g.savedCents),
    dollars(g.wouldSaveCents),
    dollars(g.actualCents),
  ]);
  return table(header, rows);
}
