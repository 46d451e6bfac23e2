import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { shownPath } from '../audit/hex.js';

/** `yaml` is loaded only for a YAML file (30-60 ms of start-up a JSON file does not pay). */
function parseYaml(text: string): unknown {
  return (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);
}

/**
 * Reads a configuration file as JSON (`.json`) or YAML (anything else; YAML
 * also accepts JSON). `fail` turns a message naming the file (a `what`, e.g.
 * `policy file`) into the caller's error type.
 */
export function readJsonOrYaml(path: string, what: string, fail: (message: string) => Error): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw fail(`cannot read ${what} ${shownPath(path)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const json = /\.json$/i.test(path);
  try {
    return json ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw fail(`${shownPath(path)} is not valid ${json ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
}
