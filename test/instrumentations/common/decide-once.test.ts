import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { decideOnce } from '../../../instrumentations/common/decide-once.js';

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

describe('decideOnce', () => {
  it('marks a decided call; the next layer passes it through and consumes the mark', () => {
    const openai = decideOnce('openai');
    expect(openai.alreadyDecided()).toBe(false);
    const seen: boolean[] = [];
    context.with(openai.markDecided(context.active()), () => {
      seen.push(openai.alreadyDecided());
      openai.passThrough(() => seen.push(openai.alreadyDecided()));
      seen.push(openai.alreadyDecided());
    });
    expect(seen).toEqual([true, false, true]);
  });

  it('is per SDK, and shared by every copy of the package (Symbol.for)', () => {
    const ctx = decideOnce('bedrock').markDecided(ROOT_CONTEXT);
    expect(decideOnce('openai').alreadyDecided(ctx)).toBe(false);
    expect(decideOnce('bedrock').alreadyDecided(ctx)).toBe(true);
    expect(ctx.getValue(Symbol.for('agentguard-spend.bedrock.guarded-call'))).toBe(true);
  });
});

describe('decideOnce and the safety net', () => {
  it('every mark also sets the provider-http key, which an inner pass-through leaves in place', () => {
    const openai = decideOnce('openai');
    const net = decideOnce('provider-http');
    const seen: boolean[] = [];
    // An explicit wrapper decides; the register-instrumented client below passes through (consuming the openai mark).
    context.with(openai.markDecided(context.active()), () => openai.passThrough(() => seen.push(openai.alreadyDecided(), net.alreadyDecided())));
    expect(seen).toEqual([false, true]);
    for (const sdk of ['anthropic', 'bedrock', 'ai-sdk']) expect(net.alreadyDecided(decideOnce(sdk).markDecided(ROOT_CONTEXT))).toBe(true);
    expect(net.alreadyDecided(ROOT_CONTEXT)).toBe(false);
  });
});
