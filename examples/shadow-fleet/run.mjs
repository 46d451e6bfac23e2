// Shadow rollout across a fleet: AGENTGUARD_MODE=shadow on every instance turns every
// policy into shadow (decide, sign, log, never change a call). Each instance writes its
// own chain into one shared log directory; `report` then says what enforcement would
// have blocked or downgraded, and what it would have saved.
// Run: node examples/shadow-fleet/run.mjs
import { join } from 'node:path';
import { cli, run, setup } from '../lib/launch.mjs';

const s = await setup();
const agents = ['billing-agent', 'support-agent', 'triage-agent'];
const codes = await Promise.all(
  agents.map((agent) =>
    run(['--require', 'agentguard-spend/register', join(import.meta.dirname, 'agent.cjs')], {
      ...s.env,
      AGENTGUARD_MODE: 'shadow',
      AGENTGUARD_SCOPE_AGENT_ID: agent,
    }),
  ),
);
console.log(
  `every call reached the provider unchanged: ${s.fake.requests.length} requests, all ${[...new Set(s.fake.requests.map((r) => r.body.model))].join(', ')}`,
);
await s.fake.close();
console.log(`$ agentguard-spend report ${s.logDir}`);
const reported = await cli(['report', s.logDir]);
const verified = await cli(['verify', s.logDir, '--public-key', s.publicKeyHex]);
process.exitCode = codes.find((c) => c !== 0) ?? (reported || verified);
