/**
 * The lifecycle every provider shares, driven through a minimal adapter over
 * plain objects against a real engine: what is decided, what is sent, how the
 * call ends. The providers' own tests drive it through the real SDKs.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideOnce } from '../../../instrumentations/common/decide-once.js';
import { finishResponse, observeStream, sendInCall, startGuardedCall } from '../../../instrumentations/common/guarded-runner.js';
import type { ProviderAdapter, ReportedUsage } from '../../../instrumentations/common/provider-adapter.js';
import { StreamedOutput } from '../../../instrumentations/common/unreported-usage.js';
import { AgentGuardBlockedError, type CallRequest, type SpendDecision } from '../../../src/index.js';
import { makeGuard, policy, usd } from '../../helpers/engine.js';

interface ToyRequest {
  model: string;
  max?: number;
  guarded?: boolean;
}
type ToyEvent = { text?: string; usage?: { input: number; output: number }; internal?: boolean };

const toy: ProviderAdapter<ToyRequest, { usage?: { input: number; output: number } }, ToyEvent> = {
  describe: (r) =>
    r.guarded === false
      ? undefined
      : {
          provider: 'openai',
          operation: 'chat',
          model: r.model,
          estimatedInputTokens: 10,
          maxOutputTokens: r.max ?? 1000,
          outputBoundSent: r.max !== undefined,
          stream: false,
        },
  prepare: (r, decided) => {
    if (decided.maxOutputTokens !== undefined && decided.maxOutputTokens < 5) throw new Error('bound too small to write');
    return { ...r, model: decided.model, ...(decided.maxOutputTokens !== undefined ? { max: decided.maxOutputTokens } : {}) };
  },
  responseUsage: (res) => (res.usage ? { final: { inputTokens: res.usage.input, outputTokens: res.usage.output } } : {}),
  streamUsage: () => {
    let final: ReportedUsage['final'];
    const output = new StreamedOutput();
    return {
      observe: (e) => {
        output.add(e.text);
        if (e.usage) final = { inputTokens: e.usage.input, outputTokens: e.usage.output };
      },
      visible: (e) => !e.internal,
      get usage() {
        return { final };
      },
      output,
    };
  },
};

const prices = { prices: { openai: { 'gpt-4o': { inputNanocentsPerToken: usd(2.5), outputNanocentsPerToken: usd(10) } } } };

function setup(caps: object[] = []) {
  const made = makeGuard({ policies: [policy({ caps })], ...prices } as never);
  const requests: CallRequest[] = [];
  const decide = made.guard.decide.bind(made.guard);
  made.guard.decide = (request: CallRequest) => {
    requests.push(request);
    return decide(request);
  };
  const binding = { guard: made.guard, scope: { tenantId: 'acme' }, tracer: trace.getTracer('test') };
  const outcomes = () =>
    made.logStore
      .entries()
      .map((e) => e.decision as SpendDecision)
      .filter((d) => d.outcome !== undefined);
  return { ...made, binding, requests, outcomes };
}

describe('guarded runner', () => {
  beforeAll(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  afterAll(() => context.disable());

  it('tells the engine whether the request sent its own output bound', async () => {
    const t = setup();
    const a = await startGuardedCall(t.binding, toy, { model: 'gpt-4o' });
    const b = await startGuardedCall(t.binding, toy, { model: 'gpt-4o', max: 50 });
    expect(t.requests.map((r) => (r as CallRequest & { outputBoundSent?: boolean }).outputBoundSent)).toEqual([false, true]);
    await finishResponse(a!.call, toy.responseUsage({ usage: { input: 1, output: 1 } }));
    await finishResponse(b!.call, toy.responseUsage({}));
    expect(t.outcomes().map((o) => o.outcome)).toEqual(['settled', 'released']);
    expect(t.guard.pendingCount).toBe(0);
  });

  it('sends a call the adapter does not guard untouched, and decides nothing', async () => {
    const t = setup();
    expect(await startGuardedCall(t.binding, toy, { model: 'gpt-4o', guarded: false })).toBeUndefined();
    expect(t.requests).toHaveLength(0);
  });

  it('a block throws before prepare; a clamp reaches prepare as the bound to write', async () => {
    const blocked = setup([{ amountCents: 1, window: 'per_call', action: 'block' }]);
    await expect(startGuardedCall(blocked.binding, toy, { model: 'gpt-4o', max: 5000 })).rejects.toBeInstanceOf(AgentGuardBlockedError);
    const clamped = setup([{ amountCents: 1, window: 'per_call', action: 'block', clampMaxTokens: true }]);
    const started = await startGuardedCall(clamped.binding, toy, { model: 'gpt-4o', max: 5000 });
    expect(started!.request.max).toBeLessThan(5000);
    expect(started!.call.prepared).toEqual({ model: 'gpt-4o', maxOutputTokens: started!.request.max });
    await started!.call.fail(new Error('x'));
  });

  it('a prepare that cannot write the decision releases the call and rethrows', async () => {
    const tiny = setup([{ amountCents: 1, window: 'per_call', action: 'block', clampMaxTokens: true, clampMinTokens: 1 }]);
    const before = tiny.guard.pendingCount;
    // The toy refuses bounds under 5: an input of 3990 tokens leaves room for only a few output tokens under 1 cent.
    const refuse: ProviderAdapter<ToyRequest> = {
      ...toy,
      describe: (r) => ({ ...toy.describe(r)!, estimatedInputTokens: 3990 }),
    } as ProviderAdapter<ToyRequest>;
    await expect(startGuardedCall(tiny.binding, refuse, { model: 'gpt-4o', max: 5000 })).rejects.toThrow('bound too small to write');
    expect(tiny.guard.pendingCount).toBe(before);
    expect(tiny.outcomes().map((o) => o.outcome)).toEqual(['released']);
  });

  it('a stream: events observed as read, hidden ones skipped, settled at its end with the reported usage', async () => {
    const t = setup();
    const started = await startGuardedCall(t.binding, toy, { model: 'gpt-4o', max: 100 });
    const once = decideOnce('toy');
    const events: ToyEvent[] = [{ text: 'a' }, { internal: true }, { text: 'b', usage: { input: 7, output: 3 } }];
    const source = sendInCall(started!.call, once, () => {
      expect(once.alreadyDecided()).toBe(true);
      return (async function* () {
        yield* events;
      })();
    });
    const seen: ToyEvent[] = [];
    for await (const e of observeStream(started!.call, toy.streamUsage({ model: 'gpt-4o' }), source)) seen.push(e);
    expect(seen).toEqual([events[0], events[2]]);
    expect(t.outcomes()).toMatchObject([{ outcome: 'settled', actualInputTokens: 7, actualOutputTokens: 3 }]);
  });
});
