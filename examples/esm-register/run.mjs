// An unmodified ESM app under `node --import agentguard-spend/register`, offline.
// Run: node examples/esm-register/run.mjs
import { join } from 'node:path';
import { cli, run, setup } from '../lib/launch.mjs';

const s = await setup();
console.log('$ node --import agentguard-spend/register app.mjs');
const code = await run(['--import', 'agentguard-spend/register', join(import.meta.dirname, 'app.mjs')], s.env);
await s.fake.close();
console.log(`$ agentguard-spend verify ${s.logDir} --public-key ${s.publicKeyHex}`);
const verified = await cli(['verify', s.logDir, '--public-key', s.publicKeyHex]);
process.exitCode = code || verified;
