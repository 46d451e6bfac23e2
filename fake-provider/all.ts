import { anthropicRoutes } from './anthropic.js';
import { createAzureRoutes } from './azure.js';
import { createBedrockRoutes } from './bedrock.js';
import { openaiRoutes } from './openai.js';
import { FakeProvider, type FakeRoute } from './server.js';

/** The provider APIs the built-in fake speaks. */
export type FakeProviderName = 'openai' | 'anthropic' | 'bedrock' | 'azure';

const ROUTES: Record<FakeProviderName, () => FakeRoute[]> = {
  openai: () => openaiRoutes,
  anthropic: () => anthropicRoutes,
  bedrock: () => createBedrockRoutes(),
  azure: () => createAzureRoutes(),
};

/**
 * A {@link FakeProvider} speaking every provider API (or only `providers`).
 * Call `listen()` to start it on 127.0.0.1.
 *
 * OpenAI SDK: `baseURL: \`${url}/v1\``; Anthropic SDK: `baseURL: url`; Bedrock
 * client: `endpoint: url` with `requestHandler: new NodeHttpHandler()` (the
 * fake speaks HTTP/1.1, the client's default handler HTTP/2).
 * Azure: `new AzureOpenAI({ endpoint: url, apiVersion, apiKey })` (see `./azure.ts`).
 */
export function createFakeProvider(providers: FakeProviderName[] = Object.keys(ROUTES) as FakeProviderName[]): FakeProvider {
  return new FakeProvider(providers.flatMap((p) => ROUTES[p]()));
}
