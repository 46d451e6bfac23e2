import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDecisionLog } from '../../exporters/file/reader.js';
import type { SpendDecision } from '../audit/decision.js';
import { CliError } from './errors.js';
import { keygen } from './keygen.js';
import { runReport } from './report-command.js';
import { runVerify } from './verify-command.js';

/** Options of `agentguard-spend demo`. */
export interface DemoOptions {
  /** Where to write the key, policy and log (default: a new temp directory, kept). */
  dir?: string;
}

/**
 * The sample policy: Acme's agents get 20c a day; after 12c, gpt-4o calls go to
 * gpt-4o-mini. Each of the agent's three gpt-4o calls sends about 34,000 tokens
 * of notes with max_tokens 1,500 (projected 10c; the fake reports 34,000 in and
 * 1,200 out, 10c): the first is allowed (10c), the second downgraded (10 + 10 >
 * 12; 1c at gpt-4o-mini), the third blocked (11 + 10 > 20).
 */
export const DEMO_POLICY = {
  id: 'acme-daily',
  name: 'Acme agents: daily budget',
  scope: { tenantId: 'acme' },
  mode: 'enforce',
  version: 1,
  effectiveFrom: '2025-01-01T00:00:00Z',
  caps: [
    { amountCents: 12, window: 'per_day', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'after 12c a day, gpt-4o calls go to gpt-4o-mini' },
    { amountCents: 20, window: 'per_day', action: 'block', reason: 'Acme agents spend at most 20c a day' },
  ],
};
/** What the fake reports per call: about what the agent sends (its notes) and a 1,200-token answer. */
const DEMO_USAGE = { inputTokens: 34_000, outputTokens: 1_200 };

/** The package root (dist/cli.js → ..). */
function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

/**
 * Runs the offline demo: the built-in fake provider on 127.0.0.1, a temp key and
 * sample policy, the demo agent under `node --require agentguard-spend/register`,
 * then the decisions from the signed log, `verify` and `report`. Returns the exit code.
 */
export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const root = packageRoot();
  const agent = join(root, 'examples', 'demo', 'agent.cjs');
  const register = join(root, 'dist', 'register.cjs');
  for (const f of [agent, register]) if (!existsSync(f)) throw new CliError(`demo: ${f} is missing; run \`npm run build\` in ${root}`, 1);
  try {
    createRequire(agent).resolve('openai');
  } catch {
    throw new CliError('demo: the demo agent uses the OpenAI SDK; install it with `npm install openai`', 1);
  }
  const { createFakeProvider } = await import('../../fake-provider/all.js');

  const dir = options.dir ? resolve(options.dir) : await mkdtemp(join(tmpdir(), 'agentguard-demo-'));
  await mkdir(dir, { recursive: true });
  const keyFile = join(dir, 'signing.key');
  const policyFile = join(dir, 'policy.json');
  const logDir = join(dir, 'logs');
  const { publicKeyHex } = await keygen({ out: keyFile, force: true });
  await writeFile(policyFile, `${JSON.stringify(DEMO_POLICY, null, 2)}\n`);

  const fake = createFakeProvider(['openai']);
  const url = await fake.listen();
  fake.behaviour = { usage: DEMO_USAGE };
  const out = (s = '') => process.stdout.write(`${s}\n`);
  out(`agentguard-spend demo (offline: fake provider on ${url}, files in ${dir})`);
  out(`policy ${DEMO_POLICY.id}: ${DEMO_POLICY.caps.map((c) => c.reason).join('; ')}`);
  out('');
  out('$ node --require agentguard-spend/register examples/demo/agent.cjs');
  let code: number | null;
  try {
    code = await runChild(process.execPath, ['--require', register, '--require', join(root, 'examples', 'demo', 'print-spans.cjs'), agent], {
      ...process.env,
      AGENTGUARD_POLICY: policyFile,
      AGENTGUARD_SIGNING_KEY_FILE: keyFile,
      AGENTGUARD_LOG_DIR: logDir,
      AGENTGUARD_SCOPE_TENANT_ID: 'acme',
      AGENTGUARD_SCOPE_AGENT_ID: 'demo-agent',
      AGENTGUARD_MODE: '',
      OPENAI_BASE_URL: `${url}/v1`,
      OPENAI_API_KEY: 'sk-demo-not-a-real-key',
    });
  } finally {
    await fake.close();
  }
  if (code !== 0) throw new CliError(`demo: the agent exited with code ${code}`, 1);

  out('');
  out(`decisions in the signed log (${logDir}):`);
  for await (const { entries } of readDecisionLog(logDir)) {
    for await (const entry of entries) {
      const d = entry.decision as SpendDecision;
      const what =
        d.entryType === 'outcome'
          ? `  settled   actual ${d.actualCents}c`
          : `${d.action.padEnd(9)} ${d.modelRequested}${d.modelResolved !== d.modelRequested ? ` → ${d.modelResolved}` : ''}, projected ${d.projectedCents}c, day so far ${d.windowSpendBefore}c: ${d.reasons[0]}`;
      out(`  #${entry.sequence} ${what}`);
    }
  }
  out('');
  out(`$ agentguard-spend verify ${logDir} --public-key ${publicKeyHex}`);
  const verified = await runVerify(logDir, { publicKey: publicKeyHex });
  out('');
  out(`$ agentguard-spend report ${logDir}`);
  await runReport(logDir, {});
  return verified;
}

function runChild(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const indent = (stream: NodeJS.WriteStream) => {
      let buffered = '';
      return (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const l of lines) stream.write(`  ${l}\n`);
      };
    };
    child.stdout.on('data', indent(process.stdout));
    child.stderr.on('data', indent(process.stderr));
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
}
