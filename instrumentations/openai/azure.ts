import { AgentGuardError } from '../../src/audit/errors.js';
import type { CallDescription } from '../common/guarded-call.js';
import type { PreparedCall, ProviderAdapter } from '../common/provider-adapter.js';
import type { StainlessRequest } from '../common/stainless.js';
import type { OpenAIEndpoint } from './adapter.js';

/**
 * Azure OpenAI: a call names a deployment, not a model, and Azure picks the
 * model from the deployment. The guard prices and decides the deployment's
 * model (from {@link AzureDeployments}), and a downgrade goes to a deployment
 * that serves the target model; with a deployment map, a downgrade to a model
 * no deployment serves is not taken (the call is described with the models
 * the deployments serve as its `routableModels`, and the decision says so).
 * The call made is the call logged.
 *
 * Where the deployment is named (openai SDK's `AzureOpenAI.buildRequest`):
 * chat completions go to `/deployments/<d>/chat/completions`, where `d` is the
 * client's `deployment` option, else the body's `model`, unless the base URL
 * already ends in `/deployments/<d>`; the Responses API (and Azure's `/openai/v1`
 * API with a plain `OpenAI` client) takes the deployment from the body's `model`.
 * A downgrade therefore rewrites the body's `model` when it names the
 * deployment, and otherwise the request's `path` option (a documented
 * `RequestOptions` field, which the SDK's `post()` lets override the
 * resource's path): `/deployments/<target>/chat/completions`, or the full URL
 * when the base URL pins a deployment.
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
  }
}

/** How an Azure client names the deployment of a call. */
export interface AzureClientShape {
  /** The `AzureOpenAI` client's `deployment` option. */
  deployment?: string;
  /** A base URL ending in `/deployments/<name>`: the name, and the base URL. */
  pinned?: { deployment: string; baseURL: string };
  /** The path is not deployment-scoped: every endpoint takes the deployment from the body's `model` (Azure's `/openai/v1` API). */
  bodyOnly?: boolean;
}

/**
 * The Azure shape of `client`, or undefined for a client that is not Azure's:
 * an `AzureOpenAI` (it has `apiVersion` and `deploymentName`), or any openai
 * client whose base URL path ends in `/openai/v1` (Azure's v1 API).
 */
export function azureShapeOf(client: unknown): AzureClientShape | undefined {
  if (!client || typeof client !== 'object') return undefined;
  const c = client as { apiVersion?: unknown; deploymentName?: unknown; baseURL?: unknown };
  const path = typeof c.baseURL === 'string' ? urlPath(c.baseURL) : undefined;
  if (!('deploymentName' in c) || typeof c.apiVersion !== 'string') {
    return path && /\/openai\/v1\/?$/.test(path) ? { bodyOnly: true } : undefined;
  }
  const segments = path?.split('/') ?? [];
  const at = segments.indexOf('deployments');
  const pinned = at >= 0 && segments[at + 1] ? { deployment: decodeURIComponent(segments[at + 1]!), baseURL: c.baseURL as string } : undefined;
  return {
    ...(typeof c.deploymentName === 'string' && c.deploymentName ? { deployment: c.deploymentName } : {}),
    ...(pinned ? { pinned } : {}),
  };
}

function urlPath(url: string): string | undefined {
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

/** Where a call's deployment is named, and which one. */
interface CallDeployment {
  name: string;
  /** `body`: the body's `model`; `client`: the client's option; `baseURL`: a pinned base URL. */
  from: 'body' | 'client' | 'baseURL';
}

function deploymentOf(endpoint: OpenAIEndpoint, shape: AzureClientShape, body: Record<string, unknown>): CallDeployment | undefined {
  if (endpoint === 'chat.completions' && !shape.bodyOnly) {
    if (shape.pinned) return { name: shape.pinned.deployment, from: 'baseURL' };
    if (shape.deployment) return { name: shape.deployment, from: 'client' };
  }
  return typeof body.model === 'string' && body.model ? { name: body.model, from: 'body' } : undefined;
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

/**
 * The OpenAI adapter of `endpoint` for a call through an Azure client: the
 * call is described with its deployment's model, and prepared for the
 * deployment that serves the decided model (see the module comment).
 */
export function azureAdapter(
  base: ProviderAdapter<StainlessRequest>,
  endpoint: OpenAIEndpoint,
  shape: AzureClientShape,
  deployments: AzureDeployments = {},
): ProviderAdapter<StainlessRequest> {
  const bodyOf = (request: StainlessRequest) => (request.params && typeof request.params === 'object' ? request.params : {}) as Record<string, unknown>;
  return {
    describe(request): CallDescription | undefined {
      const body = bodyOf(request);
      const deployment = deploymentOf(endpoint, shape, body);
      if (!deployment) return base.describe(request);
      const described = base.describe({ ...request, params: { ...body, model: modelOfDeployment(deployment.name, deployments) } });
      const routable = routableModels(deployments);
      return described && routable ? { ...described, routableModels: routable } : described;
    },
    prepare(request, decided: PreparedCall): StainlessRequest {
      const body = bodyOf(request);
      const deployment = deploymentOf(endpoint, shape, body);
      if (!deployment) return base.prepare(request, decided);
      const requested = modelOfDeployment(deployment.name, deployments);
      const target = decided.model === requested ? deployment.name : deploymentForModel(decided.model, deployments);
      if (target === undefined) throw new NoAzureDeploymentError(requested, decided.model, deployments);
      if (target === deployment.name) return base.prepare(request, { ...decided, model: typeof body.model === 'string' ? body.model : decided.model });
      // The body's `model` keeps naming what it named: the deployment, or the model.
      const bodyModel = deployment.from === 'body' || body.model === deployment.name ? target : decided.model;
      const prepared = base.prepare(request, { ...decided, model: bodyModel });
      if (deployment.from === 'body') return prepared;
      const options = prepared.options && typeof prepared.options === 'object' ? (prepared.options as Record<string, unknown>) : {};
      return { ...prepared, options: { ...options, path: chatPath(shape, target) } };
    },
    responseUsage: (response) => base.responseUsage(response),
    streamUsage: (request) => base.streamUsage(request),
  };
}

/** The chat-completions path of `deployment`: relative to the client's base URL, or absolute when the base URL pins another deployment. */
function chatPath(shape: AzureClientShape, deployment: string): string {
  const relative = `/deployments/${encodeURIComponent(deployment)}/chat/completions`;
  if (!shape.pinned) return relative;
  const url = new URL(shape.pinned.baseURL);
  const segments = url.pathname.split('/');
  const at = segments.indexOf('deployments');
  url.pathname =
    [...segments.slice(0, at), 'deployments', encodeURIComponent(deployment), ...segments.slice(at + 2)].join('/').replace(/\/$/, '') + '/chat/completions';
  return url.toString();
}
