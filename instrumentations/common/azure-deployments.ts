import { AgentGuardError } from '../../src/audit/errors.js';
import { markNotRetryable } from '../../src/engine/errors.js';

/**
 * Azure OpenAI deployments: a call names a deployment, and Azure picks the
 * model from it. Shared by the `openai` SDK's `AzureOpenAI` and the AI SDK's
 * `@ai-sdk/azure`: the guard prices the deployment's model, and a downgrade
 * goes to a deployment that serves the target (a call carries the models its
 * deployments serve as `routableModels`), so the call made is the call logged.
 */

/** Azure deployment name → the model it serves, e.g. `{ 'prod-chat': 'gpt-4o' }`. */
export type AzureDeployments = Readonly<Record<string, string>>;

/** The environment variable `register` reads the deployments from. */
export const AZURE_DEPLOYMENTS_ENV = 'AGENTGUARD_AZURE_DEPLOYMENTS';

/**
 * Parses `prod-chat=gpt-4o,prod-mini=gpt-4o-mini` (the form of
 * `AGENTGUARD_AZURE_DEPLOYMENTS`; spaces around names are ignored). Throws a
 * `TypeError` naming `source` and the bad entry.
 */
export function parseAzureDeployments(text: string, source: string = AZURE_DEPLOYMENTS_ENV): AzureDeployments {
  const out: Record<string, string> = {};
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const eq = entry.indexOf('=');
    if (eq < 0) throw new TypeError(`${source}: entry "${entry}" has no "=": expected deployment=model, e.g. prod-chat=gpt-4o`);
    const deployment = entry.slice(0, eq).trim();
    const model = entry.slice(eq + 1).trim();
    if (!deployment) throw new TypeError(`${source}: entry "${entry}" names no deployment before "="`);
    if (!model) throw new TypeError(`${source}: deployment "${deployment}" names no model after "="`);
    if (Object.hasOwn(out, deployment)) throw new TypeError(`${source}: deployment "${deployment}" is listed twice`);
    out[deployment] = model;
  }
  return Object.freeze(out);
}

/** `base` with `over`'s entries on top (a name both list maps to `over`'s model); undefined when neither is given. */
export function mergeAzureDeployments(base: AzureDeployments | undefined, over: AzureDeployments | undefined): AzureDeployments | undefined {
  if (!base) return over;
  if (!over) return base;
  return Object.freeze({ ...base, ...over });
}

/** Checks a deployments map given in code; throws a `TypeError` naming `source` and the bad entry. */
export function validateAzureDeployments(value: unknown, source = 'azureDeployments'): AzureDeployments {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new TypeError(`${source}: expected an object of deployment name → model name, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  for (const [deployment, model] of Object.entries(value)) {
    if (!deployment.trim()) throw new TypeError(`${source}: a deployment name is empty`);
    if (typeof model !== 'string' || !model.trim())
      throw new TypeError(`${source}: deployment "${deployment}" maps to ${JSON.stringify(model)}, expected a model name`);
  }
  return value as AzureDeployments;
}

/**
 * A decision that names a model no configured Azure deployment serves. The
 * guard does not make one: a call through an Azure client carries the models
 * its deployments serve (`CallRequest.routableModels`), and a downgrade to
 * any other is not taken. Should a decision name one anyway, sending the call
 * to the requested deployment would log a model that was not called, so it
 * fails closed: nothing is sent, the reservation is released (the log's
 * outcome says `released: NoAzureDeploymentError`), and retry handlers leave
 * it alone (`status` 403, `x-should-retry: false`).
 */
export class NoAzureDeploymentError extends AgentGuardError {
  /** The model the policy asked for. */
  readonly model: string;
  readonly status: 403;
  readonly code: 'agentguard_no_azure_deployment';
  readonly headers: Readonly<Record<string, string>>;
  // Assigned in the constructor, not initialised in the class body (see AgentGuardBlockedError).
  constructor(requested: string, model: string, deployments: AzureDeployments) {
    const listed = Object.entries(deployments)
      .map(([d, m]) => `${d}=${m}`)
      .join(',');
    super(
      `agentguard: the policy downgraded ${requested} to ${model}, but no Azure deployment serves ${model} (azureDeployments: ${listed}); not downgraded, the call was not sent. Add a deployment of ${model} to azureDeployments (${AZURE_DEPLOYMENTS_ENV})`,
    );
    this.name = 'NoAzureDeploymentError';
    this.model = model;
    this.status = 403;
    this.code = 'agentguard_no_azure_deployment';
    this.headers = Object.freeze({ 'x-should-retry': 'false' });
    markNotRetryable(this);
  }
}

/**
 * The model a deployment serves: its entry in `deployments`, else its own
 * name (deployments named after their model, Azure's common convention).
 */
export function modelOfDeployment(deployment: string, deployments: AzureDeployments): string {
  return Object.hasOwn(deployments, deployment) ? deployments[deployment]! : deployment;
}

/**
 * The deployment to send a call for `model` to: the first one `deployments`
 * lists for it; without any deployments configured, one named after the
 * model; otherwise none.
 */
export function deploymentForModel(model: string, deployments: AzureDeployments): string | undefined {
  for (const [deployment, served] of Object.entries(deployments)) if (served === model) return deployment;
  return Object.keys(deployments).length === 0 ? model : undefined;
}

/**
 * The models a call can be sent to: those the configured deployments serve
 * (the call's own deployment's model is always one); undefined without a
 * map, where a deployment named after any model is assumed.
 */
export function routableModels(deployments: AzureDeployments): readonly string[] | undefined {
  if (routableCache.has(deployments)) return routableCache.get(deployments);
  const unique = [...new Set(Object.values(deployments))];
  const models = unique.length > 0 ? Object.freeze(unique) : undefined;
  // A map is replaced, not changed, when it is reloaded: one list per map object.
  if (Object.isFrozen(deployments)) routableCache.set(deployments, models);
  return models;
}
const routableCache = new WeakMap<AzureDeployments, readonly string[] | undefined>();
