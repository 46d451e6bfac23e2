import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The benchmark scripts still run and print the JSON document the docs page is
// generated from: `npm run bench` with the smallest sizes, the hot-path and
// start-up benchmarks only (they run against the built package: `npm test` builds
// it first). No figure is judged here: speed targets live in bench/.
const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'agentguard-bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Added = Record<string, number | number[] | null>;
type Doc = {
  results: {
    hotpath: { variants: Record<string, Record<string, number>>; added: Record<string, Added>; checks: Record<string, { calls: number; entries: number }> };
    startup: Record<string, unknown>;
  };
  summary: { figure: string; value: number; target: string; met?: string }[];
};

describe('npm run bench -- --smoke --only=hotpath,startup', () => {
  it('prints the figures as JSON, with targets judged in the summary, and the docs page renders them', async () => {
    const out = join(dir, 'results.json');
    const { stdout } = await run(process.execPath, ['bench/run.mjs', '--smoke', '--only=hotpath,startup', `--out=${out}`], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    });
    const doc = JSON.parse(stdout) as Doc;
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(doc);

    const H = doc.results.hotpath;
    expect(Object.keys(H.variants)).toEqual(['direct', 'forwarder', 'memory', 'batch', 'write', 'fsync']);
    for (const name of ['forwarder', 'memory', 'batch', 'write', 'fsync']) {
      const a = H.added[name]!;
      for (const k of ['addedP50Us', 'addedP99Us', 'overForwarderP50Us', 'addedMainThreadCpuUs', 'throughputRatio', 'throughputRatioToForwarder']) {
        expect(typeof a[k], `${name}.${k}`).toBe('number');
      }
      expect(a.throughputRatio as number).toBeGreaterThan(0);
    }
    // Every guarded variant left two signed entries per call (read back from its log).
    for (const name of ['memory', 'batch', 'write', 'fsync']) {
      expect(H.checks[name]!.calls).toBeGreaterThan(0);
      expect(H.checks[name]!.entries).toBeGreaterThanOrEqual(2 * H.checks[name]!.calls);
    }

    const S = doc.results.startup;
    for (const k of ['addedMs', 'addedToFirstCallMs', 'forwarderAddedToFirstCallMs', 'firstCallRatioToForwarder']) expect(typeof S[k], k).toBe('number');

    const row = (figure: string) => doc.summary.find((s) => s.figure === figure);
    expect(row('guarded call: added p50 µs, file log batch')).toMatchObject({ target: '≤ 100', met: expect.stringMatching(/^(met|missed)$/) });
    expect(row('guarded call: added p50 µs, file log write')).toMatchObject({ target: '≤ 150', met: expect.stringMatching(/^(met|missed)$/) });
    expect(row('guarded call: added main-thread CPU µs, file log batch')).toMatchObject({ target: '≤ 110' });
    expect(row('32 in flight: guarded calls/s / direct, file log batch')).toMatchObject({ target: '≥ 0.85' });
    expect(row('start-up added ms (first answer in)')).toMatchObject({ target: '≤ 60', met: expect.stringMatching(/^(met|missed)$/) });
    expect(row('guarded call: added p50 µs, loopback forwarder (peer)')?.met).toBeUndefined();

    const { stdout: page } = await run(process.execPath, ['bench/markdown.mjs', out], { cwd: root });
    expect(page).toContain('## What a guarded call costs, by durability');
    expect(page).toContain('| guarded, file log `batch` |');
    expect(page).toContain('`node app.cjs + first call via forwarder`');
    expect(page).toMatch(/Sending the first call through a bare loopback forwarder instead adds -?[\d.]+ ms/);
  }, 180_000);
});
