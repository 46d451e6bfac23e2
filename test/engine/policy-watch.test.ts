import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeypair, loadPolicyFile, SpendGuard, watchPolicyFile, type PolicyWatch } from '../../src/index.js';

const policy = (version: number, amountCents: number) => ({
  id: 'p',
  name: 'p',
  scope: { tenantId: 't' },
  mode: 'enforce',
  version,
  effectiveFrom: '2026-01-01T00:00:00Z',
  caps: [{ amountCents, window: 'per_call', action: 'block', reason: 'per call' }],
});

const call = { provider: 'openai', model: 'gpt-4o', scope: { tenantId: 't' }, estimatedInputTokens: 1000, maxOutputTokens: 1000 };

function waitFor(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (predicate()) return resolve();
      if (Date.now() - start > timeoutMs) return reject(new Error('timed out waiting for reload'));
      setTimeout(tick, 10);
    };
    tick();
  });
}

let watcher: PolicyWatch | undefined;
afterEach(() => watcher?.close());

describe('watchPolicyFile', () => {
  it('applies a changed file to the next decision and keeps the old policy on a bad file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentguard-watch-'));
    const file = join(dir, 'policy.json');
    writeFileSync(file, JSON.stringify(policy(1, 1)));
    const guard = new SpendGuard({ signingKeys: generateKeypair(), policies: loadPolicyFile(file) });
    const reloads: number[] = [];
    const errors: string[] = [];
    watcher = watchPolicyFile(file, guard, { onReload: (p) => reloads.push(p[0]!.version), onError: (e) => errors.push(e.message), debounceMs: 10 });

    // 1000 in + 1000 out tokens of gpt-4o project to 2c: version 1 (1c per call) blocks.
    let r = await guard.decide(call);
    expect([r.action, r.decision.policyVersion]).toEqual(['block', 1]);

    writeFileSync(file, JSON.stringify(policy(2, 100)));
    await waitFor(() => reloads.length === 1);
    r = await guard.decide(call);
    expect([r.action, r.decision.policyVersion]).toEqual(['allow', 2]);

    // An invalid file is rejected with the field named; version 2 stays in force.
    writeFileSync(file, JSON.stringify({ ...policy(3, 100), mode: 'sometimes' }));
    await waitFor(() => errors.length > 0);
    expect(errors[0]).toMatch(/mode/);
    r = await guard.decide(call);
    expect(r.decision.policyVersion).toBe(2);

    // Editors that save by rename are seen too.
    const tmp = join(dir, 'policy.json.tmp');
    writeFileSync(tmp, JSON.stringify(policy(4, 1)));
    renameSync(tmp, file);
    await waitFor(() => reloads.length === 2);
    r = await guard.decide(call);
    expect([r.action, r.decision.policyVersion]).toEqual(['block', 4]);
    expect(reloads).toEqual([2, 4]);
  });

  it('a reload that downgrades to a model without a price is rejected; the policies in force stay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentguard-watch-'));
    const file = join(dir, 'policy.json');
    writeFileSync(file, JSON.stringify(policy(1, 100)));
    const guard = new SpendGuard({ signingKeys: generateKeypair(), policies: loadPolicyFile(file) });
    const errors: string[] = [];
    watcher = watchPolicyFile(file, guard, { onError: (e) => errors.push(e.message), debounceMs: 10 });
    writeFileSync(
      file,
      JSON.stringify({
        ...policy(2, 100),
        caps: [{ amountCents: 1, window: 'per_call', action: 'downgrade', downgradeTo: 'gpt-nonexistent', reason: 'small' }],
      }),
    );
    await waitFor(() => errors.length > 0);
    expect(errors[0]).toMatch(/policy p: caps\[0\] .*downgrades to "gpt-nonexistent", which has no price/);
    expect((await guard.decide(call)).decision.policyVersion).toBe(1);
  });

  it('the document form: its azureDeployments are reloaded with the file, apart from the policies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentguard-watch-'));
    const file = join(dir, 'policy.yaml');
    const doc = (version: number, azureDeployments?: Record<string, unknown>) =>
      JSON.stringify({ policies: [policy(version, 100)], ...(azureDeployments ? { azureDeployments } : {}) });
    writeFileSync(file, doc(1, { 'prod-chat': 'gpt-4o' }));
    const guard = new SpendGuard({ signingKeys: generateKeypair(), policies: loadPolicyFile(file) });
    const maps: unknown[] = [];
    const reloads: number[] = [];
    const errors: string[] = [];
    watcher = watchPolicyFile(file, guard, {
      azureDeployments: { 'prod-chat': 'gpt-4o' },
      onAzureDeployments: (d) => maps.push(d),
      onReload: (p) => reloads.push(p[0]!.version),
      onError: (e) => errors.push(e.message),
      debounceMs: 10,
    });
    const reload = () => watcher!.reload();

    // The same document again: nothing changed.
    expect(reload()).toBe(false);
    // Only the map changes: the map is reported, the policies stay as they are.
    writeFileSync(file, doc(1, { 'prod-chat': 'gpt-4o', 'prod-mini': 'gpt-4o-mini' }));
    await waitFor(() => maps.length === 1);
    expect(maps).toEqual([{ 'prod-chat': 'gpt-4o', 'prod-mini': 'gpt-4o-mini' }]);
    expect(reloads).toEqual([]);
    // Only the policies change: the map is not reported again.
    writeFileSync(file, doc(2, { 'prod-chat': 'gpt-4o', 'prod-mini': 'gpt-4o-mini' }));
    expect(reload()).toBe(true);
    expect([reloads, maps.length]).toEqual([[2], 1]);
    // An invalid map rejects the whole file: neither its policies nor its map take effect.
    writeFileSync(file, doc(3, { 'prod-chat': '' }));
    expect(reload()).toBe(false);
    expect(errors.at(-1)).toMatch(/azureDeployments: deployment "prod-chat" maps to "", expected a model name/);
    expect([guard.policies[0]!.version, reloads, maps.length]).toEqual([2, [2], 1]);
    // Removing the map reports undefined.
    writeFileSync(file, doc(4));
    expect(reload()).toBe(true);
    expect(maps.at(-1)).toBeUndefined();
    expect(maps).toHaveLength(2);
  });
});
