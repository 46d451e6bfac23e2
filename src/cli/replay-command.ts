import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { listChains, readChain, type ChainSource } from '../../exporters/file/reader.js';
import type { PricingConfig } from '../engine/guard.js';
import { loadPolicyFile } from '../engine/policy-file.js';
import type { SpendPolicy } from '../engine/policy.js';
import { GenaiPricesTable, OverridePriceTable } from '../engine/pricing.js';
import { replayDecisions, type ReplayReport, type ReplayTally } from './replay/index.js';
import { CliError } from './errors.js';
import { dollars, table } from './format.js';

/** Options of `agentguard-spend replay`. */
export interface ReplayCommandOptions {
  policy: string;
  json?: boolean;
  prices?: string;
  keepModes?: boolean;
  onUnknownModel?: string;
}

/** Adds the `replay` command to the CLI. */
export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description(
      'Replay the calls recorded in a decision log against candidate policies (as enforced), in time order with a fresh spend store, and report what would change against what happened: calls blocked, downgraded and clamped, cents saved (projected and actual), by day, policy and scope. Works on shadow-mode and enforce-mode logs; calls that were blocked never ran and are replayed with their projection only.',
    )
    .argument('<dir>', 'log directory or .jsonl file')
    .requiredOption('-p, --policy <file>', 'candidate policy file (JSON or YAML: one policy or a list)')
    .option('--json', 'print JSON (cents as integers)')
    .option(
      '--prices <file>',
      'JSON per-model price overrides { provider: { model: { inputPerMTok, outputPerMTok, ... } } } over the bundled table (use the ones the log was written with)',
    )
    .option('--keep-modes', 'evaluate each candidate policy in its own mode instead of as enforced (a shadow policy then changes nothing)')
    .option('--on-unknown-model <action>', 'a model without a price: block or allow', 'block')
    .action(async (dir: string, opts: { policy: string; json?: boolean; prices?: string; keepModes?: boolean; onUnknownModel?: string }) => {
      process.exitCode = await runReplay(dir, opts);
    });
}

/** Runs `replay`: prints tables, or JSON with `json`. */
export async function runReplay(path: string, options: ReplayCommandOptions): Promise<number> {
  let policies: SpendPolicy[];
  try {
    policies = loadPolicyFile(options.policy);
  } catch (err) {
    throw new CliError(`--policy: ${(err as Error).message}`);
  }
  const onUnknownModel = options.onUnknownModel ?? 'block';
  if (onUnknownModel !== 'block' && onUnknownModel !== 'allow')
    throw new CliError(`--on-unknown-model: expected block or allow, got ${JSON.stringify(onUnknownModel)}`);
  const pricing = options.prices ? loadPrices(options.prices) : undefined;

  let chains: ChainSource[];
  try {
    chains = await listChains(path);
  } catch (err) {
    throw new CliError(`<dir>: ${(err as Error).message}`);
  }
  if (chains.length === 0) throw new CliError(`<dir>: no decision log files (*.jsonl) in ${path}`);
  let unreadable = 0;
  const sources = chains.map((chain) =>
    (async function* () {
      for await (const r of readChain(chain)) {
        if (r.kind === 'entry') yield r.entry;
        else unreadable++;
      }
    })(),
  );
  const report = await replayDecisions(sources, { policies, onUnknownModel, enforce: !options.keepModes, ...(pricing ? { pricing } : {}) });
  if (unreadable > 0) report.warnings.unshift(`${unreadable} unreadable line${unreadable === 1 ? '' : 's'} (not JSON, or torn) skipped`);
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReplay(report)}\n`);
  return 0;
}

/** Reads `--prices`: per-model prices in USD per million tokens over the bundled table, `{ "<provider>": { "<model>": { "inputPerMTok": 2.5, "outputPerMTok": 10 } } }`. */
function loadPrices(file: string): PricingConfig {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`--prices: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new CliError(`--prices: ${file}: expected a JSON object { provider: { model: { inputPerMTok, outputPerMTok } } }`);
  try {
    return { table: new OverridePriceTable(value as NonNullable<PricingConfig['overrides']>, new GenaiPricesTable()) };
  } catch (err) {
    throw new CliError(`--prices: ${file}: ${(err as Error).message}`);
  }
}

/** The terminal form of a replay report. */
export function formatReplay(r: ReplayReport): string {
  const t = r.total;
  const policies = r.candidate.policies.map((p) => `${p.id} v${p.version}${p.mode === 'shadow' ? ' (shadow)' : ''}`).join(', ');
  const lines = [
    `replayed ${t.calls} call${t.calls === 1 ? '' : 's'} from ${r.log.chains} chain${r.log.chains === 1 ? '' : 's'} (${r.log.entries} entries) against ${policies}, priced with ${r.candidate.costBasis}`,
    `recorded:  ${t.blocked} blocked, ${t.downgraded} downgraded, ${t.clamped} clamped; projected ${dollars(t.projectedCents)}, actual ${dollars(t.actualCents)}`,
    `candidate: ${t.wouldBlock} blocked, ${t.wouldDowngrade} downgraded, ${t.wouldClamp} clamped; projected ${dollars(t.wouldProjectCents)}, actual ${dollars(t.wouldSpendCents)}`,
    `change:    ${t.changed} call${t.changed === 1 ? '' : 's'} (${t.newlyBlocked} newly blocked, ${t.unblocked} unblocked); saves ${dollars(t.savedProjectedCents)} projected, ${dollars(t.savedActualCents)} actual`,
    ...r.warnings.map((w) => `warning: ${w}`),
    '',
    section('by day (UTC)', r.byDay),
    '',
    section('by policy', r.byPolicy),
    '',
    section('by scope', r.byScope),
    '',
    section('by cap (candidate)', r.byCap),
  ];
  return lines.join('\n');
}

function section(title: string, groups: Record<string, ReplayTally>): string {
  const header = [title, 'calls', 'changed', 'blocked', 'downgraded', 'clamped', 'projected', 'actual', 'saved proj', 'saved actual'];
  const rows = Object.entries(groups).map(([k, g]) => [
    k,
    String(g.calls),
    String(g.changed),
    `${g.blocked}→${g.wouldBlock}`,
    `${g.downgraded}→${g.wouldDowngrade}`,
    `${g.clamped}→${g.wouldClamp}`,
    `${dollars(g.projectedCents)}→${dollars(g.wouldProjectCents)}`,
    `${dollars(g.actualCents)}→${dollars(g.wouldSpendCents)}`,
    dollars(g.savedProjectedCents),
    dollars(g.savedActualCents),
  ]);
  return table(header, rows);
}
