// ESM app: `node --import ./preload.mjs app.mjs`; imports the SDK after the loader hook is registered.
import OpenAI from 'openai';
import { VERSION } from 'openai/version';
import { createRequire } from 'node:module';

const { run } = createRequire(import.meta.url)('./scenario.cjs');
await run(OpenAI, VERSION);
