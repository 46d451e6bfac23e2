/**
 * The built-in fake provider: a loopback HTTP server that speaks the OpenAI,
 * Anthropic and Bedrock APIs for the demo, the examples and the tests.
 */
export { FakeProvider, sendJson, sleep, type FakeBehaviour, type FakeRequest, type FakeRoute, type RecordedRequest } from './server.js';
export { bedrockRoutes, createBedrockRoutes, type BedrockFakeKnobs } from './bedrock.js';
export { OPENAI_FAKE_TEXT, openaiRoutes } from './openai.js';
export { anthropicMessagesRoute, anthropicRoutes, DEFAULT_ANTHROPIC_USAGE } from './anthropic.js';
export { createAzureRoutes, DEFAULT_AZURE_DEPLOYMENTS } from './azure.js';
export { createFakeProvider, type FakeProviderName } from './all.js';
