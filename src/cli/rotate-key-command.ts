import { stat } from 'node:fs/promises';
import { basename, isAbsolute, relative } from 'node:path';
import { ChainFileWriter } from '../../exporters/file/chain-file.js';
import type { CheckpointProblem } from '../../exporters/file/checkpoints.js';
import { parseChainFileName } from '../../exporters/file/naming.js';
import { listChains } from '../../exporters/file/reader.js';
import { scanTail } from '../../exporters/file/recovery.js';
import { ChainWriter, type DecisionLogEntry } from '../audit/chain.js';
import { loadSigningKeysFromFile, signerFingerprint, type SigningKeys } from '../audit/keys.js';
import { shownPath } from '../audit/hex.js';
import { isSignerChange } from '../audit/rotation.js';
import { createSigner, type Signer } from '../audit/signer.js';
import { CliError } from './errors.js';
import { resolvePublicKey } from './public-key.js';

/** Options of `agentguard-spend rotate-key`. */
export interface RotateKeyCommandOptions {
  /** File holding the current (outgoing) private key. */
  key?: string;
  /** File holding the incoming private key. */
  newKey?: string;
  /** The incoming public key (hex or file), when its private key is kept elsewhere. */
  newPublicKey?: string;
  /** The chain to rotate (file-name id); needed when the directory holds several. */
  chain?: string;
  reason?: string;
}

/** Exit code when the chain is locked by a live process. */
export const EXIT_LOCKED = 3;

const DEFAULT_REASON = 'key rotation (agentguard-spend rotate-key)';

/**
 * Runs `rotate-key`: appends a `signer_change` entry, signed by the current
 * key, that hands a resting chain (no process writing it) over to a new key,
 * and writes a checkpoint of it. Takes the chain's lock like a writer would,
 * so it refuses a chain that a live process holds. Returns the exit code.
 */
export async function runRotateKey(dir: string, options: RotateKeyCommandOptions): Promise<number> {
  if (!options.key) throw new CliError('--key: required (the file holding the current private key, as written by keygen)');
  if (!options.newKey && !options.newPublicKey)
    throw new CliError('--new-key: required (the file holding the new private key; or give only its public key with --new-public-key)');
  if (options.newKey && options.newPublicKey) throw new CliError('--new-key: give --new-key or --new-public-key, not both');
  try {
    if (!(await stat(dir)).isDirectory()) throw new CliError(`<log dir>: ${dir} is not a directory`);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`<log dir>: ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
  const outgoing = loadKeys(options.key, '--key');
  const outgoingSigner = createSigner(outgoing);
  let incoming: Signer;
  if (options.newKey) {
    incoming = createSigner(loadKeys(options.newKey, '--new-key'));
  } else {
    const publicKey = await resolvePublicKey(options.newPublicKey!, '--new-public-key');
    incoming = {
      publicKey,
      fingerprint: signerFingerprint(publicKey),
      sign: () => {
        throw new Error('rotate-key: the incoming key signs nothing here');
      },
    };
  }
  if (incoming.fingerprint === outgoingSigner.fingerprint) throw new CliError(`--new-key: the new key is the current key (${incoming.fingerprint})`);
  const reason = options.reason ?? DEFAULT_REASON;
  if (reason.trim() === '') throw new CliError('--reason: must not be empty');

  const chainId = await pickChain(dir, options.chain);
  const problems: CheckpointProblem[] = [];
  let writer: ChainFileWriter;
  try {
    writer = await ChainFileWriter.open({
      dir,
      chainId,
      fsync: true,
      onWarning: (w) => process.stderr.write(`warning: ${w.message}\n`),
      checkpoints: { onError: (p) => problems.push(p) },
    });
  } catch (err) {
    const msg = (err as Error).message;
    if (/ is in use by pid /.test(msg)) {
      throw new CliError(`${msg}. A running process rotates its own key: SpendGuard.rotateSigningKey(newKeys, reason); or stop it first`, EXIT_LOCKED);
    }
    throw new CliError(`<log dir>: cannot open chain ${chainId}: ${msg}`);
  }
  let entry: DecisionLogEntry;
  try {
    const head = writer.head;
    if (!head) throw new CliError(`--chain: chain ${chainId} has no entries: nothing to rotate; start the guard with the new key`);
    const last = await lastEntry(writer.recovery.files, head.sequence);
    if (!last) throw new CliError(`<log dir>: cannot read entry ${head.sequence} (the head) of chain ${chainId}`);
    const current = isSignerChange(last.decision) ? String((last.decision as { newSignerFingerprint?: unknown }).newSignerFingerprint) : last.signerFingerprint;
    if (current !== outgoingSigner.fingerprint) {
      throw new CliError(
        `--key: chain ${chainId} is signed by ${current} at its head (sequence ${head.sequence}), not by this key (${outgoingSigner.fingerprint}); give the key the chain's process signs with now`,
      );
    }
    if (current === incoming.fingerprint) throw new CliError(`--new-key: chain ${chainId} is already signed by ${incoming.fingerprint}`);
    writer.attachSigner(outgoingSigner);
    entry = new ChainWriter(outgoingSigner, head).rotate(incoming, reason);
    writer.enqueue(entry);
    if (options.newKey) writer.attachSigner(incoming);
  } catch (err) {
    await writer.close().catch(() => undefined);
    throw err;
  }
  await writer.close();
  const file = writer.files.at(-1)!;
  const rel = (p: string) => {
    const r = relative(process.cwd(), p);
    return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
  };
  const lines = [
    `rotated chain ${chainId} at sequence ${entry.sequence}: signer ${outgoingSigner.fingerprint} -> ${incoming.fingerprint} (reason: ${JSON.stringify(reason)})`,
    `wrote the signer_change entry to ${rel(file)}`,
  ];
  if (writer.checkpointsWritten > 0 && writer.checkpointFile)
    lines.push(`wrote a checkpoint of sequence ${entry.sequence}, signed by ${outgoingSigner.fingerprint}, to ${rel(writer.checkpointFile)}`);
  lines.push(
    `next: start the chain's process with the new key${options.newKey ? ` (${options.newKey})` : ''}; auditors keep verifying with the first public key`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  for (const p of problems) process.stderr.write(`warning: ${p.message}\n`);
  return 0;
}

function loadKeys(path: string, option: string): SigningKeys {
  try {
    return loadSigningKeysFromFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // The loader's messages name the file and never its contents.
    throw new CliError(`${option}: ${code === 'ENOENT' ? `${shownPath(path)}: no such file` : (err as Error).message.split(path).join(shownPath(path))}`);
  }
}

/** The chain to rotate: `--chain`, or the only chain in `dir`. */
async function pickChain(dir: string, chain: string | undefined): Promise<string> {
  const ids = (await listChains(dir)).filter((c) => c.files.some((f) => parseChainFileName(basename(f.path)))).map((c) => c.chainId);
  if (chain !== undefined) {
    if (!ids.includes(chain)) throw new CliError(`--chain: no chain ${JSON.stringify(chain)} in ${dir}${ids.length ? ` (chains: ${ids.join(', ')})` : ''}`);
    return chain;
  }
  if (ids.length === 1) return ids[0]!;
  if (ids.length === 0) throw new CliError(`<log dir>: no decision log chain in ${dir}`);
  throw new CliError(`--chain: ${dir} holds ${ids.length} chains; name one with --chain (${ids.join(', ')})`);
}

/** The last intact entry of a chain's files, which must be at `sequence`. */
async function lastEntry(files: readonly string[], sequence: number): Promise<DecisionLogEntry | null> {
  for (let i = files.length - 1; i >= 0; i--) {
    const { last } = await scanTail(files[i]!);
    if (last) return last.sequence === sequence ? last : null;
  }
  return null;
}
