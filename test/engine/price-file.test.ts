import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeypair, InMemoryDecisionLogStore, SpendGuard } from '../../src/index.js';
import { loadPriceFile, parsePriceOverrides, PriceFileError } from '../../src/engine/price-file.js';
import { watchPriceFile } from '../../src/engine/price-watch.js';

const dir = mkdtempSync(join(tmpdir(), 'agentguard-prices-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fieldOf(fn: () => unknown): PriceFileError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PriceFileError);
    return err as PriceFileError;
  }
  throw new Error('expected a PriceFileError');
}

describe('price files', () => {
  it('reads JSON and YAML overrides', () => {
    const json = join(dir, 'prices.json');
    writeFileSync(json, JSON.stringify({ openai: { 'prod-chat': { inputPerMTok: 2.5, outputPerMTok: 10, cachedInputPerMTok: 1.25 } } }));
    expect(loadPriceFile(json)).toEqual({ openai: { 'prod-chat': { inputPerMTok: 2.5, outputPerMTok: 10, cachedInputPerMTok: 1.25 } } });
    const yaml = join(dir, 'prices.yaml');
    writeFileSync(yaml, 'anthropic:\n  house-claude: { inputPerMTok: 3, outputPerMTok: 15 }\n');
    expect(loadPriceFile(yaml)).toEqual({ anthropic: { 'house-claude': { inputPerMTok: 3, outputPerMTok: 15 } } });
  });

  it('names the bad field, and the file', () => {
    expect(fieldOf(() => parsePriceOverrides({ openai: { m: { inputPerMTok: 1 } } })).field).toBe('openai.m.outputPerMTok');
    expect(fieldOf(() => parsePriceOverrides({ openai: { m: { inputPerMTok: 1, outputPerMTok: -2 } } })).message).toBe(
      'invalid prices: openai.m.outputPerMTok: expected a non-negative number of USD per million tokens, got -2',
    );
    expect(fieldOf(() => parsePriceOverrides({ openai: { m: { inputPerMTok: 1, outputPerMTok: 2, outputPerMtok: 3 } } })).field).toBe('openai.m.outputPerMtok');
    expect(fieldOf(() => parsePriceOverrides({ openai: { m: { inputPerMTok: '1', outputPerMTok: 2 } } })).field).toBe('openai.m.inputPerMTok');
    expect(fieldOf(() => parsePriceOverrides([])).field).toBe('$');
    expect(fieldOf(() => parsePriceOverrides({ openai: 'cheap' })).field).toBe('openai');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ openai: { m: { inputPerMTok: 1 } } }));
    expect(fieldOf(() => loadPriceFile(bad)).message).toContain(`(in ${bad})`);
    expect(fieldOf(() => loadPriceFile(join(dir, 'missing.json'))).message).toContain('cannot read price file');
  });

  it('hot reload: the next decision is priced with the new file; an invalid file leaves the prices in force', async () => {
    const path = join(dir, 'live.json');
    const write = (outputPerMTok: unknown) => writeFileSync(path, JSON.stringify({ openai: { 'prod-chat': { inputPerMTok: 0, outputPerMTok } } }));
    write(1000); // $1000 per Mtok: 100 output tokens = 10c
    const initial = loadPriceFile(path);
    const guard = new SpendGuard({ signingKeys: generateKeypair(), logStore: new InMemoryDecisionLogStore(), pricing: { overrides: initial } });
    const call = { provider: 'openai', model: 'prod-chat', scope: { tenantId: 't' }, estimatedInputTokens: 0, maxOutputTokens: 100 };
    const errors: Error[] = [];
    const watch = watchPriceFile(path, guard, initial, { onError: (e) => errors.push(e) });
    try {
      const before = await guard.decide(call);
      expect(before.decision.projectedCents).toBe(10);
      const basisBefore = before.decision.costBasis;
      write(3000);
      expect(watch.reload()).toBe(true);
      const after = await guard.decide(call);
      expect(after.decision.projectedCents).toBe(30);
      expect(after.decision.costBasis).not.toBe(basisBefore);
      // The outcome of the earlier call records the basis it was settled with.
      const outcome = await guard.settle(before, { inputTokens: 0, outputTokens: 100 });
      expect(outcome.decision.costBasis).toBe(after.decision.costBasis);
      write(-1);
      expect(watch.reload()).toBe(false);
      expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('openai.prod-chat.outputPerMTok')]);
      expect((await guard.decide(call)).decision.projectedCents).toBe(30);
    } finally {
      watch.close();
    }
  });
});
