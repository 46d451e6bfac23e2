import { open, stat, unlink } from 'node:fs/promises';
import { generateKeypair, signingKeysToHex } from '../audit/keys.js';
import { CliError } from './errors.js';

/** Options of `agentguard-spend keygen`. */
export interface KeygenOptions {
  out: string;
  force?: boolean;
}

/**
 * Writes a fresh Ed25519 key: the private seed as hex to `out` (mode 0600) and
 * the public key as hex to `out.pub`. Refuses to overwrite either unless
 * `force`. Returns the public key hex (the private key is never printed).
 */
export async function keygen(options: KeygenOptions): Promise<{ publicKeyHex: string; privateKeyFile: string; publicKeyFile: string }> {
  const privateKeyFile = options.out;
  const publicKeyFile = `${options.out}.pub`;
  for (const file of [privateKeyFile, publicKeyFile]) {
    if (await exists(file)) {
      if (!options.force) throw new CliError(`--out: ${file} already exists; pass --force to overwrite it`);
      await unlink(file);
    }
  }
  const { privateKeyHex, publicKeyHex } = signingKeysToHex(generateKeypair());
  await writeNew(privateKeyFile, `${privateKeyHex}\n`, 0o600);
  await writeNew(publicKeyFile, `${publicKeyHex}\n`, 0o644);
  return { publicKeyHex, privateKeyFile, publicKeyFile };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** Creates `file` (never follows or reuses an existing one) with `mode` from the start. */
async function writeNew(file: string, text: string, mode: number): Promise<void> {
  let fh;
  try {
    fh = await open(file, 'wx', mode);
  } catch (err) {
    throw new CliError(`--out: cannot create ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    await fh.chmod(mode); // the umask may have narrowed it; never widened
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
