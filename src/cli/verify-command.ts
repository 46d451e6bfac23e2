import { isAbsolute, relative } from 'node:path';
import { verifyDecisionLog, type ChainFileVerification, type LogVerification } from '../../exporters/file/verify-log.js';
import { CliError } from './errors.js';
import { ProgressBar } from './format.js';
import { resolvePublicKey } from './public-key.js';

/** Runs `verify`; returns the exit code (0 only when every chain is intact). */
export async function runVerify(path: string, options: { publicKey?: string; json?: boolean }): Promise<number> {
  if (!options.publicKey) throw new CliError('--public-key: required (64 hex characters or a file holding them)');
  const publicKey = await resolvePublicKey(options.publicKey);
  const bar = new ProgressBar('verifying');
  let result: LogVerification;
  try {
    result = await verifyDecisionLog(path, publicKey, { onProgress: (d, t) => bar.update(d, t) });
  } catch (err) {
    throw new CliError(`<path>: ${(err as Error).message}`);
  } finally {
    bar.done();
  }
  if (result.chains.length === 0) throw new CliError(`<path>: no decision log files (*.jsonl) in ${path}`);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    for (const c of result.chains) process.stdout.write(describe(c));
    const bad = result.chains.filter((c) => !c.ok).length;
    process.stdout.write(`${result.chains.length} chain${result.chains.length === 1 ? '' : 's'}: ${result.chains.length - bad} intact, ${bad} failed\n`);
    if (bad > 0 && result.chains.every((c) => c.ok || (c.failure?.reason === 'wrong_signer' && c.failure.sequence === 0))) {
      process.stdout.write('hint: every chain is signed by another key; is --public-key the public key (keygen writes it to <key>.pub)?\n');
    }
  }
  return result.ok ? 0 : 1;
}

function describe(c: ChainFileVerification): string {
  const rel = (p: string) => {
    const r = relative(process.cwd(), p);
    return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
  };
  const files = `${c.files.length} file${c.files.length === 1 ? '' : 's'}`;
  let out = c.ok
    ? `${c.chainId}: ok, ${c.entries} entries in ${files}\n`
    : `${c.chainId}: FAILED at sequence ${c.failure!.sequence} (${c.failure!.reason}) in ${rel(c.failure!.file)}:${c.failure!.line}: ${c.failure!.message}; ${c.entries} entries intact before it\n`;
  if (c.tornTail) out += `  warning: torn last line (${c.tornTail.bytes} bytes, not an entry) at ${rel(c.tornTail.file)}:${c.tornTail.line}; it is set aside when the chain is resumed\n`;
  for (const s of c.tornSidecars) out += `  warning: torn line set aside after a crash: ${rel(s.path)} (${s.bytes} bytes)\n`;
  return out;
}
