import { shownPath } from '../audit/hex.js';
import { readJsonOrYaml } from './config-file.js';
import { PolicyValidationError } from './errors.js';
import { parsePolicies, type SpendPolicy } from './policy.js';

/** What a policy file holds: its policies and, in the document form, a deployment map. */
export interface PolicyDocument {
  policies: SpendPolicy[];
  /** Azure OpenAI deployment name → model (`azureDeployments:` in the document form). */
  azureDeployments?: Readonly<Record<string, string>>;
}

const DOCUMENT_KEYS = ['policies', 'azureDeployments'];

/**
 * Reads and validates a policy file holding one policy or a list, as JSON or
 * YAML (by extension; `.json` is JSON, anything else is parsed as YAML, which
 * also accepts JSON). Errors name the file and the bad field.
 */
export function loadPolicyFile(path: string): SpendPolicy[] {
  return loadPolicyDocument(path).policies;
}

/**
 * As {@link loadPolicyFile}, also accepting the document form
 * `{ policies: [...], azureDeployments: { deployment: model } }` (an object
 * with a `policies` key), whose deployment map is returned beside the policies.
 */
export function loadPolicyDocument(path: string): PolicyDocument {
  const value = readJsonOrYaml(path, 'policy file', (message) => new PolicyValidationError('$', message));
  try {
    if (!isDocument(value)) return { policies: parsePolicies(value) };
    for (const key of Object.keys(value)) {
      if (!DOCUMENT_KEYS.includes(key)) throw new PolicyValidationError(key, `unknown key of a policy document (expected ${DOCUMENT_KEYS.join(', ')})`);
    }
    const policies = parsePolicies(value.policies);
    if (value.azureDeployments === undefined) return { policies };
    return { policies, azureDeployments: deploymentMap(value.azureDeployments) };
  } catch (err) {
    if (err instanceof PolicyValidationError)
      throw new PolicyValidationError(err.field, `${err.message.replace(/^invalid policy: [^:]*: /, '')} (in ${shownPath(path)})`);
    throw err;
  }
}

function isDocument(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, 'policies');
}

function deploymentMap(value: unknown): Readonly<Record<string, string>> {
  const fail = (message: string) => new PolicyValidationError('azureDeployments', message);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw fail(`expected an object of deployment name → model name, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
  for (const [deployment, model] of Object.entries(value)) {
    if (!deployment.trim()) throw fail('a deployment name is empty');
    if (typeof model !== 'string' || !model.trim()) throw fail(`deployment "${deployment}" maps to ${JSON.stringify(model)}, expected a model name`);
  }
  return Object.freeze({ ...(value as Record<string, string>) });
}
