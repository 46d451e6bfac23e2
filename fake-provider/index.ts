/**
 * The built-in fake provider: a loopback HTTP server that speaks the OpenAI,
 * Anthropic and Bedrock APIs for the demo, the examples and the tests.
 */
export { FakeProvider, sendJson, sleep, type FakeBehaviour, type FakeRequest, type FakeRoute, type RecordedRequest } from './server.js';
export { bedrockRoutes, createBedrockRoutes, type BedrockFakeKnobs } from './bedrock.js';
export { createFakeProvider, type FakeProviderName } from './all.js';
