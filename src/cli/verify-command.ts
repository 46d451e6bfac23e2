import { isAbsolute, relative } from 'node:path';
import { verifyDecisionLog, type ChainFileVerification, type LogVerification } from '../../exporters/file/verify-log.js';
import type { OrphanCheckpoints } from '../../exporters/file/checkpoints.js';
import { isOtlpLogPath } from '../../exporters/otlp/otlp-files.js';
import { verifyOtlpLog } from '../../exporters/otlp/verify-otlp.js';
import { CliError } from './errors.js';
import { printable, ProgressBar } from './format.js';
import { resolvePublicKey } from './public-key.js';

/** Options of `agentguard-spend verify`. */
export interface VerifyCommandOptions {
  publicKey?: string;
  /** `--trusted-key`, repeatable: hex or files. */
  trustedKey?: string[];
  /** `--checkpoints`, repeatable: checkpoint files or directories. */
  checkpoints?: string[];
  /** False with `--no-auto-checkpoints`: ignore `*.checkpoints.jsonl` found next to the chains. */
  autoCheckpoints?: boolean;
  json?: boolean;
}

/** Runs `verify`; returns the exit code (0 only when every chain is intact and every checkpoint accounted for). */
export async function runVerify(path: string, options: VerifyCommandOptions): Promise<number> {
  const trusted = options.trustedKey ?? [];
  if (!options.publicKey && trusted.length === 0) {
    throw new CliError('--public-key: required (64 hex characters or a file holding them), unless --trusted-key names the keys');
  }
  const publicKey = options.publicKey ? await resolvePublicKey(options.publicKey) : null;
  const trustedKeys: Uint8Array[] = [];
  for (const t of trusted) trustedKeys.push(await resolvePublicKey(t, '--trusted-key'));
  const bar = new ProgressBar('verifying');
  let result: LogVerification;
  // What an OpenTelemetry Collector's file exporter stored (OTLP JSON, gzip or not), or the JSONL log.
  const otlp = await isOtlpLogPath(path);
  try {
    result = otlp
      ? await verifyOtlpLog(path, publicKey, { trustedKeys, checkpoints: options.checkpoints ?? [] })
      : await verifyDecisionLog(path, publicKey, {
          onProgress: (d, t) => bar.update(d, t),
          trustedKeys,
          checkpoints: options.checkpoints ?? [],
          findCheckpoints: options.autoCheckpoints !== false,
        });
  } catch (err) {
    const msg = (err as Error).message;
    const given = (options.checkpoints ?? []).find((c) => msg.startsWith(`${c}:`));
    throw new CliError(printable(given ? `--checkpoints: ${msg}` : `<path>: ${msg}`));
  } finally {
    bar.done();
  }
  if (result.chains.length === 0 && !result.orphanCheckpoints) {
    throw new CliError(
      otlp
        ? `<path>: no agentguard decision-log records in the OTLP files at ${printable(path)}`
        : `<path>: no decision log files (*.jsonl) in ${printable(path)}`,
    );
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    for (const c of result.chains) process.stdout.write(describe(c));
    for (const o of result.orphanCheckpoints ?? []) process.stdout.write(describeOrphan(o));
    if ('otlp' in result) process.stdout.write(describeOtlp((result as Awaited<ReturnType<typeof verifyOtlpLog>>).otlp));
    const bad = result.chains.filter((c) => !c.ok).length;
    const orphans = result.orphanCheckpoints?.length ?? 0;
    const n = result.chains.length;
    process.stdout.write(
      `${n} chain${n === 1 ? '' : 's'}: ${n - bad} intact, ${bad} failed${orphans ? `; ${orphans} set${orphans === 1 ? '' : 's'} of checkpoints without their log` : ''}\n`,
    );
    if (bad > 0 && result.chains.every((c) => c.ok || (c.failure?.reason === 'wrong_signer' && c.failure.sequence === 0))) {
      process.stdout.write('hint: every chain is signed by another key; is --public-key the public key (keygen writes it to <key>.pub)?\n');
    }
  }
  return result.ok ? 0 : 1;
}

/** A path to print: relative to the working directory when under it, control characters escaped. */
const rel = (p: string) => {
  const r = relative(process.cwd(), p);
  return printable(r && !r.startsWith('..') && !isAbsolute(r) ? r : p);
};

/** What verify prints for one chain; every value from a file name or a log line goes through {@link printable} or `rel`. */
function describe(c: ChainFileVerification): string {
  const id = printable(c.chainId);
  const files = `${c.files.length} file${c.files.length === 1 ? '' : 's'}`;
  const cps = c.checkpoints;
  let out: string;
  if (c.ok) {
    const checked = cps ? `, ${cps.count} checkpoint${cps.count === 1 ? '' : 's'} matched` : '';
    out = `${id}: ok, ${c.entries} entries in ${files}${checked}\n`;
  } else {
    const f = c.failure!;
    const where = f.file ? ` in ${rel(f.file)}:${f.line}` : '';
    const cp = f.checkpoint && f.reason !== 'bad_checkpoint' ? ` (checkpoint ${rel(f.checkpoint.file)}:${f.checkpoint.line})` : '';
    out = `${id}: FAILED at sequence ${f.sequence} (${f.reason})${where}: ${printable(f.message)}${cp}; ${c.entries} entries intact before it\n`;
  }
  if (cps) {
    const found = new Set(cps.found ?? []);
    const list = cps.files.map((p) => `${rel(p)}${found.has(p) ? ', found next to the chain' : ''}`).join('; ');
    out += `  checkpoints: ${cps.count} from ${list || '(none)'}\n`;
    if (cps.tornLines) out += `  warning: ${cps.tornLines} torn checkpoint line${cps.tornLines === 1 ? '' : 's'} skipped (a crash while writing it)\n`;
  } else {
    out += '  warning: no checkpoints for this chain: a cut-off tail or a swapped log cannot be detected (see --checkpoints)\n';
  }
  if (c.signers && c.signers.length > 1)
    out += `  signers: ${c.signers.map(printable).join(' -> ')} (${c.signers.length - 1} key rotation${c.signers.length === 2 ? '' : 's'})\n`;
  if (c.tornTail)
    out += `  warning: torn last line (${c.tornTail.bytes} bytes, not an entry) at ${rel(c.tornTail.file)}:${c.tornTail.line}; it is set aside when the chain is resumed\n`;
  for (const s of c.tornSidecars) out += `  warning: torn line set aside after a crash: ${rel(s.path)} (${s.bytes} bytes)\n`;
  return out;
}

function describeOrphan(o: OrphanCheckpoints): string {
  return `${printable(o.chainId)}: FAILED (${o.reason}): ${printable(o.message)}; in ${o.files.map(rel).join(', ')}\n`;
}

function describeOtlp(o: { files: string[]; duplicates: number; tornLines: number }): string {
  let out = `read ${o.files.length} OTLP file${o.files.length === 1 ? '' : 's'}`;
  if (o.duplicates) out += `; ${o.duplicates} duplicate record${o.duplicates === 1 ? '' : 's'} ignored (delivered more than once)`;
  if (o.tornLines) out += `; warning: ${o.tornLines} request${o.tornLines === 1 ? '' : 's'} cut short skipped`;
  return `${out}\n`;
}
