// An ordinary ESM app: no agentguard-spend code. Guarded by running it as
//   node --import agentguard-spend/register app.mjs
import OpenAI from 'openai';

const openai = new OpenAI({ maxRetries: 0 }); // OPENAI_BASE_URL / OPENAI_API_KEY from the environment
for (const max_tokens of [200, 5_000, 100_000]) {
  try {
    const r = await openai.chat.completions.create({ model: 'gpt-4o', max_tokens, messages: [{ role: 'user', content: 'Hello' }] });
    console.log(`app: max_tokens ${max_tokens}: answered by ${r.model}`);
  } catch (err) {
    console.log(`app: max_tokens ${max_tokens}: ${err.name}`);
  }
}
