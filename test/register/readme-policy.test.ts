/**
 * The README's policy file, exactly as the README shows it (read from
 * README.md here, so the two cannot drift), under `register` with an
 * unmodified openai app against the fake provider: allowed, then downgraded
 * past $5 a day, clamped at the downgrade target near $20, then blocked.
 * Prices come from an `AGENTGUARD_PRICES` file (output only) so every
 * projection is exact: gpt-4o 0.1c and gpt-4o-mini 0.025c per output token.
 * The fake reports 16 000 output tokens, charged at each call's bound.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../fake-provider/server.js';
import { hexToBytes } from '../../src/audit/hex.js';
import { verifyChain } from '../../src/audit/verify.js';
import { agentguardEnv, callResults, chainsOnDisk, decisionsOf, root, runApp, startFake, workspace } from '../helpers/register.js';

/** The yaml block that follows "A policy file:" in README.md. */
function readmePolicy(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /A policy file:\n\n```yaml\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md: no yaml block after "A policy file:"');
  return block[1]!;
}

const PRICES = { openai: { 'gpt-4o': { inputPerMTok: 0, outputPerMTok: 1000 }, 'gpt-4o-mini': { inputPerMTok: 0, outputPerMTok: 250 } } };

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFake();
});
afterAll(async () => {
  await fake.close();
});

describe("the README's policy under register", () => {
  it('allow, downgrade past $5 a day, clamp at the target near $20, then block: in the signed log and at the fake', async () => {
    const policy = readmePolicy();
    // The caps this test walks through; a README edit that changes them fails here first.
    expect(policy).toContain('{ amountCents: 500, window: per_day, action: downgrade, downgradeTo: gpt-4o-mini');
    expect(policy).toContain('{ amountCents: 2000, window: per_day, action: block, clampMaxTokens: true');
    fake.reset();
    fake.behaviour.usage = { inputTokens: 20, outputTokens: 16_000 };
    const ws = workspace();
    try {
      const policyFile = join(ws.dir, 'policy.yaml');
      writeFileSync(policyFile, policy);
      const pricesFile = join(ws.dir, 'prices.json');
      writeFileSync(pricesFile, JSON.stringify(PRICES));
      const run = await runApp({
        format: 'cjs',
        provider: 'openai',
        calls: [{ model: 'gpt-4o', maxTokens: 4500 }, ...Array.from({ length: 5 }, () => ({ model: 'gpt-4o', maxTokens: 16_000 }))],
        env: { ...agentguardEnv(ws), AGENTGUARD_POLICY: policyFile, AGENTGUARD_PRICES: pricesFile },
        fakeUrl: fake.url,
      });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(callResults(run).map((c) => (c.ok ? c.model : c.name))).toEqual([
        'gpt-4o',
        'gpt-4o-mini',
        'gpt-4o-mini',
        'gpt-4o-mini',
        'gpt-4o-mini',
        'AgentGuardBlockedError',
      ]);
      // What the provider received: the blocked call never arrived; the clamped one asked for what $3.50 buys at mini.
      expect(fake.requests.map((r) => (r.body as { model: string; max_tokens: number }).model)).toEqual([
        'gpt-4o',
        'gpt-4o-mini',
        'gpt-4o-mini',
        'gpt-4o-mini',
        'gpt-4o-mini',
      ]);
      expect(fake.requests.map((r) => (r.body as { max_tokens: number }).max_tokens)).toEqual([4500, 16_000, 16_000, 16_000, 14_000]);

      const chains = await chainsOnDisk(ws.logDir);
      expect(chains).toHaveLength(1);
      expect(verifyChain(chains[0]!.entries, hexToBytes(ws.publicKeyHex)).ok).toBe(true);
      const decisions = decisionsOf(chains[0]!.entries);
      expect(decisions.map((d) => [d.action, d.modelResolved, d.projectedCents, d.estimatedOutputTokens])).toEqual([
        ['allow', 'gpt-4o', 450, 4500],
        ['downgrade', 'gpt-4o-mini', 400, 16_000],
        ['downgrade', 'gpt-4o-mini', 400, 16_000],
        ['downgrade', 'gpt-4o-mini', 400, 16_000],
        ['downgrade', 'gpt-4o-mini', 350, 14_000],
        // Blocked calls are recorded as asked: the requested model and its projection.
        ['block', 'gpt-4o', 1600, 16_000],
      ]);
      expect(decisions.every((d) => d.policyId === 'acme-daily' && d.modelRequested === 'gpt-4o')).toBe(true);
      expect(decisions[1]!.triggeredCap).toMatchObject({ action: 'downgrade', reason: 'after $5 a day use mini' });
      expect(decisions[4]).toMatchObject({ requestedMaxOutputTokens: 16_000, clampedMaxOutputTokens: 14_000 });
      expect(decisions[4]!.reasons.at(-1)).toBe('clamped max output tokens 16000 → 14000 at gpt-4o-mini: acme-daily/1 per_day cap 2000c: at most $20 a day');
      expect(decisions[5]!.triggeredCap).toMatchObject({ action: 'block', reason: 'at most $20 a day' });
      expect(decisions[5]!.reasons).toContain('clampMaxTokens: not even 1 output tokens fit at gpt-4o-mini');

      const outcomes = chains[0]!.entries.map((e) => e.decision).filter((d) => d.entryType === 'outcome');
      expect(outcomes.map((o) => [o.outcome, o.modelResolved, o.actualCents])).toEqual([
        ['settled', 'gpt-4o', 450],
        ['settled', 'gpt-4o-mini', 400],
        ['settled', 'gpt-4o-mini', 400],
        ['settled', 'gpt-4o-mini', 400],
        ['settled', 'gpt-4o-mini', 350],
      ]);
      // The day's spend ends at the block cap exactly.
      expect(outcomes.reduce((sum, o) => sum + o.actualCents!, 0)).toBe(2000);
    } finally {
      ws.cleanup();
    }
  });
});
