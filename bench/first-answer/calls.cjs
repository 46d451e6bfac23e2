'use strict';
// The three providers' first call, shared by the first-answer apps (CommonJS and ESM):
// each builds the provider's client against the loopback fake and sends one small request.
const BEDROCK_MODEL = 'anthropic.claude-3-5-sonnet-20240620-v1:0';

/** `sdk`: the provider package's exports (`require` or `import()`); returns a function that sends one call. */
function clientFor(provider, sdk, url) {
  if (provider === 'openai') {
    const OpenAI = sdk.default ?? sdk;
    const client = new OpenAI({ apiKey: 'sk-startup-bench', baseURL: `${url}/v1`, maxRetries: 0 });
    return () => client.chat.completions.create({ model: 'gpt-4o', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello.' }] });
  }
  if (provider === 'anthropic') {
    const Anthropic = sdk.default ?? sdk;
    const client = new Anthropic({ apiKey: 'sk-startup-bench', baseURL: url, maxRetries: 0 });
    return () => client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello.' }] });
  }
  if (provider === 'bedrock') {
    const { BedrockRuntimeClient, ConverseCommand } = sdk;
    // The fake speaks HTTP/1.1 (the SDK's default handler would use HTTP/2 for this command).
    const { NodeHttpHandler } = require('@smithy/node-http-handler');
    const client = new BedrockRuntimeClient({
      region: 'us-east-1',
      endpoint: url,
      credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
    return () =>
      client.send(
        new ConverseCommand({ modelId: BEDROCK_MODEL, messages: [{ role: 'user', content: [{ text: 'Say hello.' }] }], inferenceConfig: { maxTokens: 64 } }),
      );
  }
  throw new Error(`unknown provider ${provider}`);
}

const PACKAGES = { openai: 'openai', anthropic: '@anthropic-ai/sdk', bedrock: '@aws-sdk/client-bedrock-runtime' };
module.exports = { clientFor, PACKAGES };
