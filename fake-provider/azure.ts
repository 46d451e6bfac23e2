import { openaiRoutes } from './openai.js';
import { sendJson, type FakeRequest, type FakeRoute } from './server.js';

/**
 * Azure OpenAI routes of the fake provider, shaped like the real service:
 * `POST /openai/deployments/{deployment}/chat/completions?api-version=…`,
 * `POST /openai/responses?api-version=…` (the deployment in the body's
 * `model`), and the v1 API `POST /openai/v1/chat/completions` and
 * `/openai/v1/responses`, `/openai/v1/embeddings` (the deployment in the body's `model`). The model
 * answering is the deployment's, as on Azure: responses name it, and a
 * deployment the fake does not know gets Azure's 404 `DeploymentNotFound`.
 * Bodies and streams are the OpenAI routes' (see `./openai.ts`).
 *
 * `AzureOpenAI` client: `endpoint: url` (or `baseURL: \`${url}/openai\``);
 * the v1 API: a plain `OpenAI` client with `baseURL: \`${url}/openai/v1\``.
 */

/** Deployment name → model served, by default: deployments named after their model, plus two custom names. */
export const DEFAULT_AZURE_DEPLOYMENTS: Readonly<Record<string, string>> = Object.freeze({
  'gpt-4o': 'gpt-4o',
  'gpt-4o-mini': 'gpt-4o-mini',
  'prod-chat': 'gpt-4o',
  'prod-mini': 'gpt-4o-mini',
  'prod-embed': 'text-embedding-3-small',
});

const DEPLOYMENT_PATH = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/;

/** The Azure routes, serving `deployments` (name → model). */
export function createAzureRoutes(deployments: Readonly<Record<string, string>> = DEFAULT_AZURE_DEPLOYMENTS): FakeRoute[] {
  const route: FakeRoute = async (req, res, provider) => {
    if (req.method !== 'POST') return false;
    const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
    const inPath = DEPLOYMENT_PATH.exec(req.path);
    let openaiPath: string;
    let deployment: unknown;
    if (inPath) [openaiPath, deployment] = ['/v1/chat/completions', decodeURIComponent(inPath[1]!)];
    else if (req.path === '/openai/responses') [openaiPath, deployment] = ['/v1/responses', body.model];
    else if (req.path === '/openai/v1/chat/completions' || req.path === '/openai/v1/responses' || req.path === '/openai/v1/embeddings')
      [openaiPath, deployment] = [req.path.slice('/openai'.length), body.model];
    else return false;
    if (!req.path.startsWith('/openai/v1/') && !new URL(req.raw.url ?? '/', 'http://fake').searchParams.get('api-version')) {
      return sendJson(res, 404, { error: { code: '404', message: 'Resource not found' } });
    }
    const model = typeof deployment === 'string' && Object.hasOwn(deployments, deployment) ? deployments[deployment] : undefined;
    if (!model) {
      return sendJson(res, 404, { error: { code: 'DeploymentNotFound', message: 'The API deployment for this resource does not exist.' } });
    }
    const forwarded: FakeRequest = { ...req, path: openaiPath, body: { ...body, model } };
    for (const r of openaiRoutes) if (await r(forwarded, res, provider)) return true;
    return false;
  };
  return [route];
}
