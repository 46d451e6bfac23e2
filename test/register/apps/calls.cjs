'use strict';
// Provider calls of the test apps. Knows nothing of agentguard-spend: the apps
// are plain SDK users, pointed at the fake provider by FAKE_URL.
// APP_CALLS: JSON [{ model, maxTokens, stream? }]. Prints one JSON line per call.

function clientFor(provider, sdk, extra) {
  const url = process.env.FAKE_URL;
  if (provider === 'openai') {
    const OpenAI = sdk.default ?? sdk.OpenAI ?? sdk;
    return new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-test-app', maxRetries: 0 });
  }
  if (provider === 'anthropic') {
    const Anthropic = sdk.default ?? sdk.Anthropic ?? sdk;
    return new Anthropic({ baseURL: url, apiKey: 'sk-ant-test-app', maxRetries: 0 });
  }
  const ns = sdk.BedrockRuntimeClient ? sdk : sdk.default;
  return {
    ns,
    client: new ns.BedrockRuntimeClient({
      region: 'us-east-1',
      endpoint: url,
      credentials: { accessKeyId: 'AKIDTESTAPP', secretAccessKey: 'test-app-secret' },
      requestHandler: new extra.NodeHttpHandler(),
      maxAttempts: 1,
    }),
  };
}

async function oneCall(provider, c, { model, maxTokens, stream }) {
  const prompt = 'Say hello in five words.';
  if (provider === 'openai') {
    if (stream) {
      const s = await c.chat.completions.create({ model, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: prompt }] });
      let model_ = '';
      for await (const chunk of s) model_ = chunk.model || model_;
      return model_;
    }
    const r = await c.chat.completions.create({ model, max_tokens: maxTokens, messages: [{ role: 'user', content: prompt }] });
    return r.model;
  }
  if (provider === 'anthropic') {
    if (stream) {
      const s = await c.messages.create({ model, max_tokens: maxTokens, stream: true, messages: [{ role: 'user', content: prompt }] });
      let model_ = '';
      for await (const ev of s) if (ev.type === 'message_start') model_ = ev.message.model;
      return model_;
    }
    const r = await c.messages.create({ model, max_tokens: maxTokens, messages: [{ role: 'user', content: prompt }] });
    return r.model;
  }
  const input = { modelId: model, messages: [{ role: 'user', content: [{ text: prompt }] }], inferenceConfig: { maxTokens } };
  if (stream) {
    const s = await c.client.send(new c.ns.ConverseStreamCommand(input));
    for await (const _ of s.stream);
    return null;
  }
  await c.client.send(new c.ns.ConverseCommand(input));
  return null; // Converse does not echo the model; the fake's request path has it.
}

/** Runs APP_CALLS (APP_LOOP=1: forever), printing `{"call":i,...}` lines; then `{"done":true}`. */
async function run(provider, sdk, extra) {
  const c = clientFor(provider, sdk, extra);
  const calls = JSON.parse(process.env.APP_CALLS);
  const loop = process.env.APP_LOOP === '1';
  for (let i = 0; loop || i < calls.length; i++) {
    const spec = calls[i % calls.length];
    try {
      const model = await oneCall(provider, c, spec);
      process.stdout.write(`${JSON.stringify({ call: i, ok: true, model })}\n`);
    } catch (e) {
      process.stdout.write(`${JSON.stringify({ call: i, ok: false, name: e && e.name, message: String(e && e.message) })}\n`);
    }
  }
  process.stdout.write(`${JSON.stringify({ done: true })}\n`);
}

module.exports = { run };
