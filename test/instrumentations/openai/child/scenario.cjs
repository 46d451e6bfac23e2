'use strict';
// The calls both child apps make; prints one JSON line for the parent test.
async function run(OpenAI, sdkVersion) {
  const { guard, log } = globalThis.__agentguardTest;
  const client = new OpenAI({ apiKey: 'sk-child', baseURL: `${process.env.FAKE_URL}/v1`, maxRetries: 0 });
  const messages = [{ role: 'user', content: 'hello' }];
  const out = { sdkVersion };
  const proto = (OpenAI.OpenAI ?? OpenAI).Chat.Completions.prototype;
  out.contribOnTop = proto.create.__wrapped === true;
  const completion = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 10 });
  out.content = completion.choices[0].message.content;
  const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 10, stream: true });
  let chunks = 0;
  for await (const _ of stream) chunks++;
  out.chunks = chunks;
  const withResponse = await client.responses.create({ model: 'gpt-4o', input: 'hi', max_output_tokens: 10 }).withResponse();
  out.responseStatus = withResponse.response.status;
  try {
    await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 50000 });
    out.blocked = null;
  } catch (e) {
    out.blocked = e.name;
  }
  for (let i = 0; i < 100 && guard.pendingCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
  out.pending = guard.pendingCount;
  const entries = log.entries().map((e) => e.decision);
  out.decisions = entries.filter((d) => d.entryType === 'decision').map((d) => d.action);
  out.outcomes = entries.filter((d) => d.entryType === 'outcome').map((d) => d.outcome);
  console.log(JSON.stringify(out));
}
module.exports = { run };
