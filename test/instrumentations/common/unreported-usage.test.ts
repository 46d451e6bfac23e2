import { describe, expect, it } from 'vitest';
import { fillUnreported, StreamedOutput, streamAbandoned, usageNotReported } from '../../../instrumentations/common/unreported-usage.js';
import { errorName } from '../../../instrumentations/common/call-errors.js';

describe('unreported usage: the one rule', () => {
  it('uses the same reason names for every provider', () => {
    expect(errorName(usageNotReported())).toBe('UsageNotReported');
    expect(errorName(streamAbandoned())).toBe('StreamAbandoned');
  });

  it('counts streamed output in UTF-8 bytes at 3 bytes/token', () => {
    const out = new StreamedOutput();
    out.add('abcd');
    out.add('é');
    out.add(undefined);
    expect(out.bytes).toBe(6);
    expect(out.tokens).toBe(2);
  });

  it('fills only the parts not reported; a running output count is raised to the streamed estimate', () => {
    expect(fillUnreported(undefined, { inputTokens: 10, outputTokens: 500 })).toEqual({ inputTokens: 10, outputTokens: 500 });
    expect(fillUnreported({ inputTokens: 40, cachedInputTokens: 30 }, { inputTokens: 10, outputTokens: 7 }, true)).toEqual({
      inputTokens: 40,
      cachedInputTokens: 30,
      outputTokens: 7,
    });
    expect(fillUnreported({ inputTokens: 40, outputTokens: 1 }, { inputTokens: 10, outputTokens: 7 }, true)).toEqual({ inputTokens: 40, outputTokens: 7 });
    expect(fillUnreported({ inputTokens: 40, outputTokens: 9 }, { inputTokens: 10, outputTokens: 7 }, true)).toEqual({ inputTokens: 40, outputTokens: 9 });
    // A cache breakdown without a reported input total is dropped (it cannot exceed the estimate).
    expect(fillUnreported({ cachedInputTokens: 30 }, { inputTokens: 10, outputTokens: 0 })).toEqual({ inputTokens: 10, outputTokens: 0 });
  });
});
