import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PolicyValidationError } from './errors.js';
import { parsePolicies, type SpendPolicy } from './policy.js';

/** `yaml` is loaded only for a YAML policy (30-60 ms of start-up a JSON policy does not pay). */
function parseYaml(text: string): unknown {
  return (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);
}

/**
 * Reads and validates a policy file holding one policy or a list, as JSON or
 * YAML (by extension; `.json` is JSON, anything else is parsed as YAML, which
 * also accepts JSON). Errors name the file and the bad field.
 */
export function loadPolicyFile(path: string): SpendPolicy[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PolicyValidationError('$', `cannot read policy file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new PolicyValidationError('$', `${path} is not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    return parsePolicies(value);
  } catch (err) {
    if (err instanceof PolicyValidationError) throw new PolicyValidationError(err.field, `${err.message.replace(/^invalid policy: [^:]*: /, '')} (in ${path})`);
    throw err;
  }
}
