'use strict';
// CommonJS app: `node --require ./setup-guard.cjs app.cjs`; requires the SDK after the hooks are in place.
const OpenAI = require('openai');
const { VERSION } = require('openai/version');
require('./scenario.cjs').run(OpenAI, VERSION).catch((e) => {
  console.error(e);
  process.exit(1);
});
