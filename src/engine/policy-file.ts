import { shownPath } from '../audit/hex.js';
import { readJsonOrYaml } from './config-file.js';
import { PolicyValidationError } from './errors.js';
import { parsePolicies, type SpendPolicy } from './policy.js';

/**
 * Reads and validates a policy file holding one policy or a list, as JSON or
 * YAML (by extension; `.json` is JSON, anything else is parsed as YAML, which
 * also accepts JSON). Errors name the file and the bad field.
 */
export function loadPolicyFile(path: string): SpendPolicy[] {
  const value = readJsonOrYaml(path, 'policy file', (message) => new PolicyValidationError('$', message));
  try {
    return parsePolicies(value);
  } catch (err) {
    if (err instanceof PolicyValidationError) throw new PolicyValidationError(err.field, `${err.message.replace(/^invalid policy: [^:]*: /, '')} (in ${shownPath(path)})`);
    throw err;
  }
}
