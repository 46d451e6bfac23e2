'use strict';
// The demo's agent: an ordinary OpenAI SDK app with no agentguard-spend code in it.
// `agentguard-spend demo` runs it as `node --require agentguard-spend/register agent.cjs`
// against the built-in fake provider (OPENAI_BASE_URL), so every call is guarded.
const OpenAI = require('openai');

const client = new OpenAI({ maxRetries: 0 });
const steps = ['Plan the trip', 'Book the hotel', 'Write the summary'];
// Each step sends the trip's notes as context (about 30,000 tokens), as a real agent would.
const notes = Array.from(
  { length: 1500 },
  (_, i) => `Note ${i + 1}: the traveller prefers quiet hotels near the old town, early trains and vegetarian food.`,
).join('\n');

async function main() {
  for (const [i, step] of steps.entries()) {
    try {
      const r = await client.chat.completions.create({
        model: 'gpt-4o',
        max_tokens: 1500,
        messages: [
          { role: 'system', content: notes },
          { role: 'user', content: step },
        ],
      });
      console.log(`agent: step ${i + 1} (${step}): asked for gpt-4o, answered by ${r.model}`);
    } catch (err) {
      console.log(`agent: step ${i + 1} (${step}): ${err.name}: ${err.message}`);
    }
  }
}

main();
