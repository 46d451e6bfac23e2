import { afterEach, describe, expect, it } from 'vitest';
import { MAX_LOG_LINE_LENGTH } from '../../src/audit/log-line.js';
import { parseLogLine, verifyDecisionLog } from '../../src/audit.js';
import { FileDecisionLogStore, readDecisionLog } from '../../src/stores.js';
import { generateKeypair, parsePolicy } from '../../src/index.js';
import { readFileSync } from 'node:fs';
import { guardWith, openPolicy, tempDir } from '../helpers/log.js';

const keys = generateKeypair();
let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});

describe('every line the writer produces is one the readers accept', () => {
  it('refuses an entry whose line would exceed MAX_LOG_LINE_LENGTH (a 2 MB cap reason), writing nothing; the chain goes on', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const store = await FileDecisionLogStore.open({ dir: t.dir });
    const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() });
    const call = (userId: string) => ({ provider: 'openai', model: 'big', scope: { tenantId: 't', userId }, estimatedInputTokens: 10, maxOutputTokens: 10 });
    // A shadow cap that fires on every call: its reason is written into the decision (twice: reasons and triggeredCap).
    const reasonPolicy = (reason: string) =>
      parsePolicy({
        id: 'loud',
        name: 'loud',
        scope: { tenantId: 't' },
        mode: 'enforce',
        version: 1,
        effectiveFrom: '2020-01-01T00:00:00Z',
        caps: [{ amountCents: 0, window: 'per_call', action: 'shadow', reason }],
      });
    await guard.decide(call('u1'));
    // A 2 MB name never reaches the writer: the engine bounds what a call carries.
    await expect(guard.decide(call('x'.repeat(2 << 20)))).rejects.toThrow(/^CallRequest\.scope\.userId: 2097152 bytes of UTF-8, more than the 256 allowed/);
    guard.setPolicies([reasonPolicy('x'.repeat(2 << 20))]);
    await expect(guard.decide(call('u1'))).rejects.toThrow(
      new RegExp(
        `^decision log append failed: decision log append: entry 1 would be a \\d+-byte line, over the ${MAX_LOG_LINE_LENGTH}-byte limit of a log line`,
      ),
    );
    // Just under the limit still goes through, and is read back.
    guard.setPolicies([reasonPolicy('y'.repeat((MAX_LOG_LINE_LENGTH - 8192) / 2))]);
    await guard.decide(call('u1'));
    guard.setPolicies([openPolicy()]);
    await guard.decide(call('u2'));
    await store.close();

    const lines = store.files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
    expect(lines.map((l) => parseLogLine(l).sequence)).toEqual([0, 1, 2]);
    for (const l of lines) expect(Buffer.byteLength(l) + 1).toBeLessThanOrEqual(MAX_LOG_LINE_LENGTH);
    let read = 0;
    for await (const { entries } of readDecisionLog(t.dir)) for await (const _ of entries) read++;
    expect(read).toBe(3);
    expect((await verifyDecisionLog(t.dir, keys.publicKey)).ok).toBe(true);
  });
});
