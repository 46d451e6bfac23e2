import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiRoutes } from '../../fake-provider/openai.js';
import { FakeProvider, type FakeRoute } from '../../fake-provider/server.js';
import { listChains, readChain } from '../../exporters/file/reader.js';
import { verifyDecisionLog } from '../../src/audit.js';
import { ChainWriter } from '../../src/audit/chain.js';
import { createSigner } from '../../src/audit/signer.js';
import { FileDecisionLogStore } from '../../src/stores.js';
import { generateKeypair, signingKeysToHex, type DecisionLogEntry } from '../../src/index.js';
import { run } from '../helpers/cli.js';
import { tempDir } from '../helpers/log.js';

const root = join(import.meta.dirname, '..', '..');
const child = join(root, 'test', 'fixtures', 'exporters', 'guarded-calls-child.mjs');
const keys = generateKeypair();

/** The fake provider, with a first route that SIGKILLs the child once it has received `killAt` chat calls. */
let fake: FakeProvider;
let target: { pid: number; killAt: number; delayMs: number; seen: number } | null = null;
const killer: FakeRoute = () => {
  const t = target;
  if (t && ++t.seen === t.killAt) {
    // At once (the child is waiting for this answer) or a moment later (the child may be inside a write or an fdatasync).
    const kill = () => process.kill(t.pid, 'SIGKILL');
    if (t.delayMs === 0) kill();
    else setTimeout(kill, t.delayMs);
  }
  return false;
};
beforeAll(async () => {
  fake = new FakeProvider([killer, ...openaiRoutes]);
  await fake.listen();
});
afterAll(() => fake.close());

/** Runs the child until it is killed; returns the max_tokens of each chat call the fake received. */
async function runUntilKilled(dir: string, durability: string, concurrency: number, killAt: number, delayMs: number, maxFileBytes: number): Promise<number[]> {
  fake.reset();
  const proc = spawn(process.execPath, [child], {
    env: {
      ...process.env,
      DIST: join(root, 'dist'),
      LOG_DIR: dir,
      CHAIN_ID: 'crash',
      DURABILITY: durability,
      SEED_HEX: signingKeysToHex(keys).privateKeyHex,
      FAKE_URL: fake.url,
      CONCURRENCY: String(concurrency),
      MAX_FILE_BYTES: String(maxFileBytes),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  target = { pid: proc.pid!, killAt, delayMs, seen: 0 };
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, s) => resolve(s)));
  target = null;
  expect(signal).toBe('SIGKILL');
  return fake.requestsTo('/v1/chat/completions').map((r) => (r.body as { max_tokens: number }).max_tokens);
}

async function logEntries(dir: string): Promise<DecisionLogEntry[]> {
  const [chain] = await listChains(dir);
  const entries: DecisionLogEntry[] = [];
  for await (const r of readChain(chain!)) {
    if (r.kind === 'entry') entries.push(r.entry);
    else if (r.kind !== 'torn') throw new Error(`unexpected ${r.kind} line`);
  }
  return entries;
}

type Decision = { entryType: string; decisionId: string; estimatedOutputTokens?: number };

describe('guarded OpenAI calls, kill -9 at random points (real child, real SDK, fake provider)', () => {
  // Kill points are random; each run prints them so a failure can be replayed.
  const runs = (['write', 'fsync'] as const).flatMap((durability) =>
    // 4 in flight writes small files (a few entries each): the kill may land in a rotation.
    [1, 4].map((concurrency) => ({
      durability,
      concurrency,
      maxFileBytes: concurrency === 1 ? 64 << 20 : 4_000,
      killAt: 20 + Math.floor(Math.random() * 50),
      delayMs: Math.floor(Math.random() * 3),
    })),
  );
  it.each(runs)(
    '$durability mode, $concurrency in flight, files of $maxFileBytes bytes, killed at call $killAt ($delayMs ms later): every call the provider saw has its decision in the log, in order, and the chain verifies and resumes',
    async ({ durability, concurrency, maxFileBytes, killAt, delayMs }) => {
      const t = tempDir();
      try {
        const seen = await runUntilKilled(t.dir, durability, concurrency, killAt, delayMs, maxFileBytes);
        expect(seen.length).toBeGreaterThanOrEqual(killAt);
        const entries = await logEntries(t.dir);
        // Nothing lost in the middle or reordered: sequences 0..n-1, each linked to the one before.
        expect(entries.map((e) => e.sequence)).toEqual(entries.map((_, i) => i));
        for (let i = 1; i < entries.length; i++) expect(entries[i]!.previousHash).toBe(entries[i - 1]!.entryHash);
        const decisions = entries.map((e) => e.decision as Decision).filter((d) => d.entryType === 'decision');
        const logged = new Set(decisions.map((d) => d.estimatedOutputTokens));
        // The call went to the provider only once its decision was written: each one the fake saw is in the log.
        for (const maxTokens of seen) expect(logged, `call with max_tokens ${maxTokens}`).toContain(maxTokens);
        // An outcome never comes before its decision.
        const at = new Map(entries.map((e, i) => [(e.decision as Decision).decisionId + (e.decision as Decision).entryType, i]));
        for (const d of decisions) {
          const outcome = at.get(`${d.decisionId}outcome`);
          if (outcome !== undefined) expect(outcome).toBeGreaterThan(at.get(`${d.decisionId}decision`)!);
        }

        if (maxFileBytes < 64 << 20) expect((await listChains(t.dir))[0]!.files.length).toBeGreaterThan(1);
        const library = await verifyDecisionLog(t.dir, keys.publicKey);
        expect(library.chains.map((c) => ({ ok: c.ok, entries: c.entries }))).toEqual([{ ok: true, entries: entries.length }]);
        // The chain resumes after the crash (lock taken over, torn tail set aside) and the CLI verifies it.
        const store = await FileDecisionLogStore.open({ dir: t.dir, chainId: 'crash', onWarning: () => undefined });
        const writer = new ChainWriter(createSigner(keys), await store.head());
        await store.append(writer.append({ entryType: 'decision', timestamp: new Date().toISOString(), resumed: true }));
        await store.close();
        const cli = run(['verify', t.dir, '-k', signingKeysToHex(keys).publicKeyHex]);
        expect(cli.stderr).toBe('');
        expect(cli.status).toBe(0);
      } finally {
        t.cleanup();
      }
    },
  );
});
