// The loopback fake provider the examples run against (it stands in for the
// OpenAI, Anthropic and Bedrock APIs, so they run offline). It is a test double
// of this repository, not part of the package: `npm run build` puts it in dist/internal/.
export { createFakeProvider } from '../../dist/internal/fake-provider.js';
