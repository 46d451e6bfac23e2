/** `agentguard-spend replay` from the built CLI (dist/cli.js), on a real shadow-mode log. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/log.js';
import { PRICES, SEVEN_CALLS, tenantPolicy, writeJson, writeLog } from '../helpers/replay.js';

const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let tmp: ReturnType<typeof tempDir>;
let log: string;
let candidate: string;
let prices: string;
beforeAll(async () => {
  tmp = tempDir('agentguard-replay-cli-');
  log = join(tmp.dir, 'log');
  await writeLog(log, tenantPolicy('live', [{ amountCents: 10 }]), SEVEN_CALLS, { modeOverride: 'shadow' });
  // The candidate of replay.test.ts's first case: a 13c daily cap blocks a2, b2, a3.
  candidate = writeJson(tmp.dir, 'candidate.json', { ...tenantPolicy('cand', [{ amountCents: 13, reason: 'daily budget' }]), version: 2 });
  prices = writeJson(tmp.dir, 'prices.json', PRICES.overrides);
});
afterAll(() => tmp.cleanup());

describe('agentguard-spend replay', () => {
  it('has --help', () => {
    const r = run(['replay', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: agentguard-spend replay [options] <dir>');
    expect(r.stdout).toContain('--policy <file>');
  });

  it('prints what would change, by day, policy and scope', () => {
    const r = run(['replay', log, '--policy', candidate, '--prices', prices]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^replayed 7 calls from 2 chains \(14 entries\) against cand v2, priced with @pydantic\/genai-prices@[^ ]+\+overrides:[0-9a-f]{12}$/,
    );
    expect(lines.slice(1, 4)).toEqual([
      'recorded:  0 blocked, 0 downgraded, 0 clamped; projected $0.49, actual $0.42',
      'candidate: 3 blocked, 0 downgraded, 0 clamped; projected $0.28, actual $0.24',
      'change:    3 calls (3 newly blocked, 0 unblocked); saves $0.21 projected, $0.18 actual',
    ]);
    expect(r.stdout).toContain(
      [
        'by scope              calls  changed  blocked  downgraded  clamped    projected       actual  saved proj  saved actual',
        '--------------------  -----  -------  -------  ----------  -------  -----------  -----------  ----------  ------------',
        'tenantId=t,agentId=a      4        2      0→2         0→0      0→0  $0.28→$0.14  $0.24→$0.12       $0.14         $0.12',
        'tenantId=t,agentId=b      3        1      0→1         0→0      0→0  $0.21→$0.14  $0.18→$0.12       $0.07         $0.06',
      ].join('\n'),
    );
    expect(r.stdout).toContain('2026-03-02        5        3      0→3');
    expect(r.stdout).not.toContain('warning');
  });

  it('--json prints the report with integer cents', () => {
    const r = run(['replay', log, '--policy', candidate, '--prices', prices, '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.total).toMatchObject({ calls: 7, changed: 3, wouldBlock: 3, savedProjectedCents: 21, savedActualCents: 18 });
    expect(Object.keys(report.byDay)).toEqual(['2026-03-02', '2026-03-03']);
    expect(report.candidate.policies).toEqual([{ id: 'cand', version: 2, mode: 'enforce' }]);
  });

  it('warns when the log was priced with another table, and names the models it cannot price', () => {
    const r = run(['replay', log, '--policy', candidate]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /warning: 7 decisions were priced with @pydantic\/genai-prices@[^ ]+\+overrides:[0-9a-f]{12}; the replay prices with @pydantic\/genai-prices@[^ +]+, so cents may differ\n/,
    );
    expect(r.stdout).toMatch(
      /warning: 7 calls are blocked only because openai\/big has no price in @pydantic\/genai-prices@[^ ]+ \(give its price, or allow unknown models\)\n/,
    );
  });

  it('rejects bad input with one line naming what is wrong', () => {
    const missing = run(['replay', log]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("required option '-p, --policy <file>' not specified");

    const bad = writeJson(tmp.dir, 'bad.json', { ...tenantPolicy('x', []), caps: [{ amountCents: -1, window: 'per_day', action: 'block', reason: 'r' }] });
    const invalid = run(['replay', log, '--policy', bad]);
    expect(invalid.status).toBe(2);
    expect(invalid.stderr).toMatch(/^agentguard-spend replay: error: --policy: .*caps\[0\]\.amountCents.*\(in .*bad\.json\)\n$/);

    const empty = run(['replay', tmp.dir, '--policy', candidate]);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toBe(`agentguard-spend replay: error: <dir>: no decision log files (*.jsonl) in ${tmp.dir}\n`);

    const badPrices = writeJson(tmp.dir, 'badprices.json', { openai: { big: { inputPerMTok: 'ten' } } });
    const priced = run(['replay', log, '--policy', candidate, '--prices', badPrices]);
    expect(priced.status).toBe(2);
    expect(priced.stderr).toMatch(/--prices: .*badprices\.json: pricing\.overrides\.openai\.big\.inputPerMTok: expected a non-negative number/);

    const mode = run(['replay', log, '--policy', candidate, '--on-unknown-model', 'maybe']);
    expect(mode.status).toBe(2);
    expect(mode.stderr).toContain('--on-unknown-model: expected block or allow, got "maybe"');
  });
});
