import { describe, expect, it } from 'vitest';
import { InMemoryDecisionLogStore, type DecisionLogEntry } from '../../src/index.js';
import { verifyChain } from '../../src/audit.js';
import { call, KEYS, makeGuard, policy } from '../helpers/engine.js';

/** An entry as far as the store looks at it: its position. */
const entryAt = (sequence: number) => ({ sequence, entryHash: sequence.toString(16).padStart(64, '0') }) as DecisionLogEntry;

describe('InMemoryDecisionLogStore is bounded', () => {
  it('keeps the 10 000 most recent entries by default; head and the order check follow the last entry', () => {
    const store = new InMemoryDecisionLogStore();
    expect(store.capacity).toBe(10_000);
    for (let i = 0; i < 10_005; i++) store.append(entryAt(i));
    const kept = store.entries();
    expect(kept).toHaveLength(10_000);
    expect([kept[0]!.sequence, kept.at(-1)!.sequence, store.dropped]).toEqual([5, 10_004, 5]);
    expect(kept.every((e, i) => e.sequence === i + 5)).toBe(true);
    expect(store.head()).toEqual({ sequence: 10_004, entryHash: entryAt(10_004).entryHash });
    expect(() => store.append(entryAt(10_004))).toThrow('log append out of order: expected sequence 10005, got 10004');
  });

  it("a guard's chain continues across what was dropped, and the kept entries are the chain's signed tail", async () => {
    const logStore = new InMemoryDecisionLogStore({ capacity: 3 });
    const { guard } = makeGuard({ logStore, policy: policy({ caps: [{ amountCents: 100, window: 'per_day', action: 'block' }] }) });
    for (let i = 0; i < 3; i++) await guard.settle(await guard.decide(call({ maxOutputTokens: 1000 })), { inputTokens: 0, outputTokens: 10 });
    const kept = logStore.entries();
    expect(kept.map((e) => e.sequence)).toEqual([3, 4, 5]);
    expect(logStore.dropped).toBe(3);
    // Each kept entry links to the one before it.
    expect(kept[1]!.previousHash).toBe(kept[0]!.entryHash);
    expect(kept[2]!.previousHash).toBe(kept[1]!.entryHash);
    // A new guard on the same store resumes after the last entry, not after the kept ones' start.
    const { guard: next } = makeGuard({ logStore });
    const r = await next.decide(call());
    expect(r.entry.sequence).toBe(6);
    expect(r.entry.previousHash).toBe(kept[2]!.entryHash);
  });

  it('capacity Infinity keeps every entry (opt-in), and a bad capacity is named', () => {
    const all = new InMemoryDecisionLogStore({ capacity: Infinity });
    for (let i = 0; i < 12_000; i++) all.append(entryAt(i));
    expect([all.entries().length, all.dropped]).toEqual([12_000, 0]);
    for (const bad of [0, -1, 2.5, Number.NaN]) {
      expect(() => new InMemoryDecisionLogStore({ capacity: bad })).toThrow(
        /^InMemoryDecisionLogStore: capacity: expected a positive integer or Infinity, got/,
      );
    }
  });

  it('a full chain that was never dropped still verifies', async () => {
    const logStore = new InMemoryDecisionLogStore({ capacity: 4 });
    const { guard } = makeGuard({ logStore });
    for (let i = 0; i < 4; i++) await guard.decide(call());
    expect(verifyChain(logStore.entries(), KEYS.publicKey)).toEqual({ ok: true, count: 4 });
  });
});
