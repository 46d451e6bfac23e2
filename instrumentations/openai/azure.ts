import { deploymentForModel, modelOfDeployment, NoAzureDeploymentError, routableModels, type AzureDeployments } from '../common/azure-deployments.js';
import type { CallDescription } from '../common/guarded-call.js';
import type { PreparedCall, ProviderAdapter } from '../common/provider-adapter.js';
import type { StainlessRequest } from '../common/stainless.js';
import type { OpenAIEndpoint } from './adapter.js';

export {
  AZURE_DEPLOYMENTS_ENV,
  deploymentForModel,
  mergeAzureDeployments,
  modelOfDeployment,
  NoAzureDeploymentError,
  parseAzureDeployments,
  routableModels,
  validateAzureDeployments,
  type AzureDeployments,
} from '../common/azure-deployments.js';

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

/** Paths by base URL: `azureShapeOf` runs for every call, and a client's base URL rarely changes (bounded like a cache). */
const urlPaths = new Map<string, string | null>();
const URL_PATHS_MAX = 256;

function urlPath(url: string): string | undefined {
  let path = urlPaths.get(url);
  if (path === undefined) {
    try {
      path = new URL(url).pathname;
    } catch {
      path = null;
    }
    if (urlPaths.size >= URL_PATHS_MAX) urlPaths.clear();
    urlPaths.set(url, path);
  }
  return path ?? undefined;
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
