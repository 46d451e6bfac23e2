// (2) Engine: decide + settle (two signed entries) with the in-memory stores,
// against 2 × (JCS + SHA-256 + sign) measured in the same run.
import { generateKeypair, parsePolicy, SpendGuard } from '../dist/index.js';
import { computeEntryHash, createSigner } from '../dist/internal/audit.js';
import { floorResults, typicalDecision } from './floor.mjs';
import { HeadOnlyLogStore, machine, measure, measureSync, median, report, round, table } from './lib.mjs';

/** The engine benchmark's guard: two window caps (day, month) that never fire. */
export function benchGuardConfig(signingKeys) {
  return {
    signingKeys,
    policy: parsePolicy({
      id: 'tenant-daily',
      name: 'Tenant daily',
      scope: { tenantId: 'acme' },
      mode: 'enforce',
      version: 1,
      effectiveFrom: '2026-01-01T00:00:00Z',
      caps: [
        { amountCents: 1e12, window: 'per_day', action: 'block', reason: 'daily' },
        { amountCents: 1e12, window: 'per_month', action: 'downgrade', downgradeTo: 'gpt-4o-mini', reason: 'monthly', selector: ['tenantId', 'agentId'] },
      ],
    }),
  };
}

/**
 * The floor (1) and decide + settle, measured in alternating rounds so drift on
 * a shared machine hits both alike; ratios per round, the median reported.
 * Ratios use CPU time per op (steadier than wall time when other processes
 * compete for the cores) and wall time.
 */
export async function engineResults(iterations = 20000, rounds = 5) {
  const floor = floorResults(iterations);
  const keys = generateKeypair();
  const guard = new SpendGuard({ ...benchGuardConfig(keys), logStore: new HeadOnlyLogStore() });
  const signer = createSigner(keys, 'node');
  const request = { provider: 'openai', model: 'gpt-4o', scope: { tenantId: 'acme', agentId: 'agent-7' }, estimatedInputTokens: 1000, maxOutputTokens: 500 };
  const usage = { inputTokens: 900, outputTokens: 300, cachedInputTokens: 100 };
  const body = { sequence: 42, decision: typicalDecision, previousHash: '0'.repeat(64), signerFingerprint: signer.fingerprint };
  const per = Math.ceil(iterations / rounds);
  const pairs = [];
  for (let r = 0; r < rounds; r++) {
    const entry = measureSync('entry: jcs + sha256 + sign (node)', () => signer.sign(Buffer.from(computeEntryHash(body), 'hex')), {
      iterations: per,
      warmup: r === 0 ? 2000 : 200,
    });
    const engine = await measure(
      'decide + settle (2 signed entries, in-memory)',
      async () => {
        const d = await guard.decide(request);
        await guard.settle(d, usage);
      },
      { iterations: per, warmup: r === 0 ? 2000 : 200 },
    );
    pairs.push({ entry, engine, cpuRatio: engine.cpuUs / (2 * entry.cpuUs), wallRatio: engine.meanUs / (2 * entry.meanUs) });
  }
  const mid = (xs) => median(xs);
  const engineCpuUs = mid(pairs.map((p) => p.engine.cpuUs));
  const engineWallUs = mid(pairs.map((p) => p.engine.meanUs));
  const summary = {
    name: 'decide + settle (2 signed entries, in-memory)',
    iterations: per * rounds,
    opsPerSec: Math.round(1e6 / engineWallUs),
    meanUs: round(engineWallUs),
    p50Us: round(mid(pairs.map((p) => p.engine.p50Us))),
    p99Us: round(mid(pairs.map((p) => p.engine.p99Us))),
    cpuUs: round(engineCpuUs),
  };
  return {
    results: [...floor, summary],
    floorPairCpuUs: round(2 * mid(pairs.map((p) => p.entry.cpuUs))),
    ratioToFloor: round(mid(pairs.map((p) => p.cpuRatio))),
    ratioToFloorWall: round(mid(pairs.map((p) => p.wallRatio))),
    ratioPerRound: pairs.map((p) => round(p.cpuRatio)),
    signedEntriesPerSec: Math.round(2e6 / engineWallUs),
    signedEntriesPerCpuSec: Math.round(2e6 / engineCpuUs),
    targets: { ratioToFloor: 1.4, signedEntriesPerSec: 16000 },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { results, ...summary } = await engineResults(process.argv.includes('--quick') ? 10000 : 20000);
  report('engine', results, { machine: await machine(), ...summary });
  table(
    '(1)+(2) floor and engine (µs per op)',
    results.map(({ name, meanUs, cpuUs, p50Us, p99Us }) => ({ name, meanUs, cpuUs, p50Us, p99Us })),
  );
}
