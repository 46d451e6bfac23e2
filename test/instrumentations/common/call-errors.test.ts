import { describe, expect, it } from 'vitest';
import { errorName, StreamAbandonedError, UsageNotReportedError } from '../../../instrumentations/common/call-errors.js';

describe('errorName', () => {
  it('uses a set name', () => {
    const e = new Error('secret prompt text');
    e.name = 'AbortError';
    expect(errorName(e)).toBe('AbortError');
    expect(errorName(new TypeError('x'))).toBe('TypeError');
  });

  it('falls back to the constructor name when a subclass leaves name as Error (like openai SDK errors)', () => {
    class APIConnectionError extends Error {}
    class BadRequestError extends APIConnectionError {}
    expect(errorName(new BadRequestError('prompt: hello'))).toBe('BadRequestError');
  });

  it('never returns the message', () => {
    const e = new Error('prompt: hello');
    expect(errorName(e)).toBe('Error');
    class Quiet extends Error {}
    expect(errorName(new Quiet('prompt: hello'))).toBe('Quiet');
  });

  it('gives the typeof of a thrown non-Error', () => {
    expect(errorName('prompt: hello')).toBe('string');
    expect(errorName({ message: 'prompt' })).toBe('object');
    expect(errorName(undefined)).toBe('undefined');
  });
});

describe('settlement errors', () => {
  it('default names, and the per-provider reason names kept in the log', () => {
    expect(errorName(new UsageNotReportedError())).toBe('UsageNotReportedError');
    expect(errorName(new StreamAbandonedError())).toBe('StreamAbandonedError');
    const legacy = new UsageNotReportedError('no usage', 'UsageNotReported');
    expect(legacy).toBeInstanceOf(UsageNotReportedError);
    expect(errorName(legacy)).toBe('UsageNotReported');
    expect(errorName(new StreamAbandonedError('closed', 'StreamAborted'))).toBe('StreamAborted');
  });
});
