// Register settings end to end, in real child processes: a price file prices a model the
// bundled table lacks, and a chain resumed under another key is refused before the app runs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKeypair, signingKeysToHex } from '../../src/index.js';
import { agentguardEnv, callResults, chainsOnDisk, decisionsOf, runApp, useFakeProvider, type Workspace } from '../helpers/register.js';

const { fake, workspace } = useFakeProvider();
let ws: Workspace;

describe('AGENTGUARD_PRICES', () => {
  it('prices a model the bundled table does not know, so a call to it is decided at that price instead of failing closed', async () => {
    ws = workspace();
    const prices = join(ws.dir, 'prices.yaml');
    // $250 per Mtok of output: 200 output tokens project to 5c (+ a little input), under every cap.
    writeFileSync(prices, 'openai:\n  house-model: { inputPerMTok: 1, outputPerMTok: 250 }\n');
    const calls = [{ model: 'house-model', maxTokens: 200 }];
    const unpriced = await runApp({ format: 'cjs', provider: 'openai', calls, fakeUrl: fake().url, env: agentguardEnv(ws) });
    expect(callResults(unpriced).map((r) => r.ok)).toEqual([false]);
    expect(fake().requests).toHaveLength(0);

    const priced = await runApp({ format: 'cjs', provider: 'openai', calls, fakeUrl: fake().url, env: { ...agentguardEnv(ws), AGENTGUARD_PRICES: prices } });
    expect(priced.stderr).toBe('');
    expect(callResults(priced).map((r) => r.ok)).toEqual([true]);
    expect(fake().requests).toHaveLength(1);
    const chains = await chainsOnDisk(ws.logDir);
    const decisions = chains.flatMap((c) => decisionsOf(c.entries));
    const allowed = decisions.filter((d) => d.action === 'allow');
    expect(allowed).toHaveLength(1);
    expect(allowed[0]).toMatchObject({ modelRequested: 'house-model', modelResolved: 'house-model', projectedCents: 6 });
    expect(allowed[0]!.costBasis).toMatch(/\+overrides:/);
    expect((fake().requests[0]!.body as { model: string }).model).toBe('house-model');
  });

  it('a bad price file stops start-up with one line naming the variable and the field (exit 78)', async () => {
    ws = workspace();
    const prices = join(ws.dir, 'prices.json');
    writeFileSync(prices, JSON.stringify({ openai: { 'house-model': { inputPerMTok: 1 } } }));
    const run = await runApp({ format: 'cjs', provider: 'openai', calls: [], fakeUrl: fake().url, env: { ...agentguardEnv(ws), AGENTGUARD_PRICES: prices } });
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(/^agentguard-spend: AGENTGUARD_PRICES: invalid prices: openai\.house-model\.outputPerMTok: is required/);
  });
});

describe('AGENTGUARD_CHAIN_ID with another signing key', () => {
  it('is refused before the app runs (exit 78), and the chain stays as it was', async () => {
    ws = workspace();
    const env = { ...agentguardEnv(ws), AGENTGUARD_CHAIN_ID: 'fixed' };
    const first = await runApp({ format: 'cjs', provider: 'openai', calls: [{ model: 'gpt-4o', maxTokens: 200 }], fakeUrl: fake().url, env });
    expect(first.code).toBe(0);
    const before = await chainsOnDisk(ws.logDir);
    expect(before.map((c) => c.entries.length)).toEqual([2]);

    const otherKey = join(ws.dir, 'other.key');
    writeFileSync(otherKey, `${signingKeysToHex(generateKeypair()).privateKeyHex}\n`, { mode: 0o600 });
    const second = await runApp({
      format: 'cjs',
      provider: 'openai',
      calls: [{ model: 'gpt-4o', maxTokens: 200 }],
      fakeUrl: fake().url,
      env: { ...env, AGENTGUARD_SIGNING_KEY_FILE: otherKey },
    });
    expect(second.code).toBe(78);
    expect(second.stderr).toMatch(/^agentguard-spend: AGENTGUARD_CHAIN_ID: .*rotate-key/);
    expect(callResults(second)).toEqual([]);
    expect((await chainsOnDisk(ws.logDir)).map((c) => c.entries.length)).toEqual([2]);

    // The same key resumes the chain.
    const third = await runApp({ format: 'cjs', provider: 'openai', calls: [{ model: 'gpt-4o', maxTokens: 200 }], fakeUrl: fake().url, env });
    expect(third.code).toBe(0);
    expect((await chainsOnDisk(ws.logDir)).map((c) => c.entries.length)).toEqual([4]);
  });
});
