import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileDecisionLogStore } from '../../src/stores.js';
import { buildReport } from '../../src/cli/report.js';
import { generateKeypair, parsePolicies } from '../../src/index.js';
import { ChainWriter } from '../../src/audit/chain.js';
import { createSigner } from '../../src/audit/signer.js';
import { run } from '../helpers/cli.js';
import { guardWith, tempDir } from '../helpers/log.js';

let cleanup = () => {};
afterEach(() => cleanup());

describe('report of a shadow policy inside an enforced decision', () => {
  it('counts a shadow cap that fired under an enforce policy as what enforcement would have done', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const policies = parsePolicies([
      { id: 'enforced', name: 'e', scope: { tenantId: 't' }, mode: 'enforce', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', caps: [] },
      {
        id: 'trial',
        name: 's',
        scope: { tenantId: 't', agentId: 'a' },
        mode: 'shadow',
        version: 1,
        effectiveFrom: '2026-01-01T00:00:00Z',
        caps: [{ amountCents: 2, window: 'per_call', action: 'downgrade', downgradeTo: 'small', reason: 'per-call soft' }],
      },
    ]);
    const store = await FileDecisionLogStore.open({ dir: t.dir });
    const guard = guardWith({ signingKeys: generateKeypair(), logStore: store, policies });
    const r = await guard.decide({
      provider: 'openai',
      model: 'big',
      scope: { tenantId: 't', agentId: 'a' },
      estimatedInputTokens: 1000,
      maxOutputTokens: 1000,
    });
    expect(r.decision).toMatchObject({
      enforcementMode: 'enforce',
      action: 'shadow',
      modelResolved: 'big',
      projectedCents: 4,
      projectedCentsIfEnforced: 1,
      triggeredCap: { action: 'downgrade' },
    });
    await guard.settle(r, { inputTokens: 1000, outputTokens: 1000 });
    await store.close();
    const report = await buildReport(t.dir);
    expect(report.total).toEqual({
      decisions: 1,
      allowed: 0,
      downgraded: 0,
      blocked: 0,
      shadowed: 1,
      wouldDowngrade: 1,
      wouldBlock: 0,
      savedCents: 0,
      wouldSaveCents: 3,
      outcomes: 1,
      actualCents: 4,
    });
  });
});

describe('report by cap', () => {
  it('names the cap that decided, with its model set; outcomes are not counted there', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const policies = parsePolicies([
      {
        id: 'budget',
        name: 'b',
        scope: { tenantId: 't' },
        mode: 'enforce',
        version: 1,
        effectiveFrom: '2026-01-01T00:00:00Z',
        caps: [{ amountCents: 2, window: 'per_call', action: 'downgrade', downgradeTo: 'small', models: ['big*'], reason: 'big calls over 2c go small' }],
      },
    ]);
    const store = await FileDecisionLogStore.open({ dir: t.dir });
    const guard = guardWith({ signingKeys: generateKeypair(), logStore: store, policies });
    const call = { provider: 'openai', scope: { tenantId: 't' }, estimatedInputTokens: 1000, maxOutputTokens: 1000 };
    const down = await guard.decide({ ...call, model: 'big' });
    expect(down.action).toBe('downgrade');
    await guard.settle(down, { inputTokens: 1000, outputTokens: 1000 });
    expect((await guard.decide({ ...call, model: 'small' })).action).toBe('allow');
    await store.close();
    const report = await buildReport(t.dir);
    expect(Object.keys(report.byCap)).toEqual(['(no cap)', 'budget: downgrade per_call 2c → small [models big*]']);
    expect(report.byCap['budget: downgrade per_call 2c → small [models big*]']).toMatchObject({ decisions: 1, downgraded: 1, savedCents: 3, outcomes: 0 });
    expect(report.byCap['(no cap)']).toMatchObject({ decisions: 1, allowed: 1, outcomes: 0 });
  });
});

describe('report tells entries apart by what they mean', () => {
  const fixtures = join(import.meta.dirname, '..', 'fixtures');

  it('the Python port’s outcome receipts are receipts, not settlements: no outcome and no actual spend is counted for them', async () => {
    // written by agentguard-spend 0.16.0's SpendGuard: 4 decisions, then record_outcome_receipt({ totalCostCents: 7, … })
    const file = join(fixtures, 'parity', 'python-0.16.0-file-store.jsonl');
    const last = JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1)!) as { decision: Record<string, unknown> };
    expect(last.decision).toMatchObject({ entryType: 'outcome', outcomeReceipt: { totalCostCents: 7 } });
    const report = await buildReport(file);
    expect(report).toMatchObject({ entries: 5, portReceipts: 1, malformed: 0 });
    expect(report.total).toMatchObject({ decisions: 4, allowed: 2, downgraded: 1, blocked: 1, shadowed: 0, outcomes: 0, actualCents: 0 });
    const r = run(['report', file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('5 entries in 1 chain (4 decisions, 0 settlements, 1 Python-port receipt (run metadata, not settlements))');
    expect(r.stdout).toContain('actual spend: $0.00');
  });

  it('a malformed entry or line is counted as malformed, never as a shadow decision; a key rotation is its own kind', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const keys = generateKeypair();
    const w = new ChainWriter(createSigner(keys));
    const good = {
      entryType: 'decision',
      decisionId: 'd-0',
      timestamp: '2026-03-01T10:00:00.000Z',
      action: 'block',
      enforcementMode: 'enforce',
      projectedCents: 4,
      policyId: 'p',
    };
    const lines = [
      w.append(good),
      w.append({ entryType: 'decision', decisionId: 'd-1', timestamp: '2026-03-01T10:00:01.000Z', policyId: 'p' }), // no action: malformed
      w.append({ ...good, decisionId: 'd-2', action: 'approve' }), // unknown action
      w.append({ entryType: 'outcome', originalDecisionId: 'd-0', outcome: 'settled', actualCents: 3, policyId: 'p' }),
      w.append({ entryType: 'outcome', originalDecisionId: 'd-0', outcome: 'paid', actualCents: 3 }), // unknown outcome
      w.rotate(createSigner(generateKeypair()), 'scheduled'),
    ].map((e) => JSON.stringify(e));
    lines.push(lines[0]!.replace('"decision":{', '"decision":{"action":"allow",')); // duplicate key: refused by the reader
    writeFileSync(join(t.dir, 'x.jsonl'), `${lines.join('\n')}\n{"sequence":`);
    const report = await buildReport(t.dir);
    expect(report).toMatchObject({ entries: 6, malformed: 4, tornLines: 1, signerChanges: 1, portReceipts: 0 });
    expect(report.total).toMatchObject({ decisions: 1, blocked: 1, shadowed: 0, wouldBlock: 0, outcomes: 1, actualCents: 3 });
  });
});
