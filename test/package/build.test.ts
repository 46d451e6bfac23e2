import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// These run the built package (`npm test` builds it first) in a child Node process.
const root = fileURLToPath(new URL('../../', import.meta.url));
const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

/** A script that exercises the public API and prints one JSON line. */
const body = (m: string) => `
  const keys = ${m}.generateKeypair();
  const w = new ${m}.ChainWriter(${m}.createSigner(keys));
  const entries = [w.append({ a: 1 }), w.append({ b: '\\u2028😀' })];
  const guard = new ${m}.SpendGuard({ signingKeys: keys, policy: ${m}.parsePolicy({ id: 'p', name: 'p', scope: { tenantId: 't' }, mode: 'enforce', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', caps: [] }) });
  const costBasis = guard.costBasis;
  console.log(JSON.stringify({
    keyLength: keys.publicKey.length,
    verified: ${m}.verifyChain(entries, keys.publicKey),
    tampered: ${m}.verifyChain([entries[0], { ...entries[1], sequence: 2 }], keys.publicKey).reason,
    jcs: ${m}.canonicalJson({ b: 1, a: [-0, 1e-7] }),
    blocked: new ${m}.AgentGuardBlockedError({ reasons: ['r'], triggeredCap: null }) instanceof ${m}.AgentGuardError,
    costBasis,
  }));`;

const expected = (costBasis: string) => ({
  keyLength: 32,
  verified: { ok: true, count: 2 },
  tampered: 'sequence_gap',
  jcs: '{"a":[0,1e-7],"b":1}',
  blocked: true,
  costBasis,
});

describe('built package', () => {
  it('dist/ has the ESM, CommonJS and type entry points of package.json "exports"', () => {
    for (const f of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) expect(existsSync(root + f), f).toBe(true);
  });

  it('the CommonJS build loads with require() and works', () => {
    const out = node(['-e', `const m = require(${JSON.stringify(root + 'dist/index.cjs')});${body('m')}`]);
    const result = JSON.parse(out);
    expect(result).toEqual(expected(result.costBasis));
    expect(result.costBasis).toMatch(/^@pydantic\/genai-prices@\d+\.\d+\.\d+/);
  });

  it('the ESM build loads with import and works', () => {
    const out = node(['--input-type=module', '-e', `import * as m from ${JSON.stringify(root + 'dist/index.js')};${body('m')}`]);
    const result = JSON.parse(out);
    expect(result).toEqual(expected(result.costBasis));
    expect(result.costBasis).toMatch(/^@pydantic\/genai-prices@\d+\.\d+\.\d+/);
  });

  it('"agentguard-spend" resolves to the CommonJS build for require and the ESM build for import', () => {
    expect(node(['-e', `console.log(require.resolve('agentguard-spend'))`]).trim()).toBe(root + 'dist/index.cjs');
    expect(node(['--input-type=module', '-e', `console.log(import.meta.resolve('agentguard-spend'))`]).trim()).toBe(`file://${root}dist/index.js`);
  });

  it('examples/core-quickstart.mjs (the README example) runs', () => {
    const lines = node(['examples/core-quickstart.mjs']).trim().split('\n');
    // 1200 in × $2.50/M + 800 out × $10/M = 1.1c → 2c; actual 156 × $2.50 + 1024 × $1.25 + 312 × $10 (per M) = 0.479c → 1c.
    expect(lines).toEqual(['allow gpt-4o 2c reserved', 'actual 1c', '{ ok: true, count: 2 }']);
  });

  it('the README shows that same example, verbatim', () => {
    const readme = readFileSync(root + 'README.md', 'utf8');
    const example = readFileSync(root + 'examples/core-quickstart.mjs', 'utf8').split('\n').slice(1).join('\n');
    // The js block that follows the README's pointer to examples/core-quickstart.mjs.
    const block = readme.split('(`examples/core-quickstart.mjs`, runs offline):\n\n```js\n')[1]!.split('```')[0]!;
    expect(block).toBe(example);
    expect(block.split('\n').filter(Boolean).length).toBeLessThanOrEqual(20);
  });
});
