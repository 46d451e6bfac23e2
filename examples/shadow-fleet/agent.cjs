'use strict';
// One instance of a fleet's agent: ordinary OpenAI SDK code. CALLS gpt-4o calls
// with growing max_tokens.
const OpenAI = require('openai');

const openai = new OpenAI({ maxRetries: 0 });
(async () => {
  const sizes = [200, 5_000, 100_000].slice(0, Number(process.env.CALLS ?? 3));
  for (const max_tokens of sizes) {
    const r = await openai.chat.completions.create({ model: 'gpt-4o', max_tokens, messages: [{ role: 'user', content: 'Summarise the ticket' }] });
    console.log(`${process.env.AGENTGUARD_SCOPE_AGENT_ID}: max_tokens ${max_tokens}: answered by ${r.model}`);
  }
})();
