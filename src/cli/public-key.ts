import { readFile, stat } from 'node:fs/promises';
import { hexToBytes, shownPath } from '../audit/hex.js';
import { CliError } from './errors.js';

const HEX64 = /^[0-9a-fA-F]{64}$/;

/**
 * The public key of `--public-key` (or of the option named by `option`): 64
 * hex characters, or a file holding them (keygen's `.pub` file). The error
 * names the option and never echoes a value that could be a key.
 */
export async function resolvePublicKey(value: string, option = '--public-key'): Promise<Uint8Array> {
  const text = value.trim();
  if (HEX64.test(text)) return hexToBytes(text.toLowerCase(), 'public key', 32);
  let isFile = false;
  try {
    isFile = (await stat(value)).isFile();
  } catch {
    isFile = false;
  }
  if (!isFile) {
    const hexish = /^[0-9a-fA-F]+$/.test(text);
    throw new CliError(
      hexish
        ? `${option}: expected 64 hex characters (32 bytes), got ${text.length}`
        : `${option}: not 64 hex characters and not a readable file: ${shownPath(value)}`,
    );
  }
  const content = (await readFile(value, 'utf8')).trim();
  if (!HEX64.test(content)) throw new CliError(`${option}: ${value} does not hold a public key (expected 64 hex characters, e.g. keygen's .pub file)`);
  return hexToBytes(content.toLowerCase(), 'public key', 32);
}
