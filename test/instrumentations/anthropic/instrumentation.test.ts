import * as sdk from '@anthropic-ai/sdk';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { AnthropicSpendGuardInstrumentation, withAnthropicSpendGuard } from '../../../instrumentations/anthropic/index.js';
import { decisions, makeGuard, MODEL, setupOtel, startFake, userMessage } from '../../helpers/anthropic.js';
import { anthropicScenarios } from '../../helpers/anthropic-scenarios.js';

setupOtel();
// In-process, the module hook cannot see vitest's import of the SDK, so the loaded ESM copy is
// patched through the instrumentation's own patch function (the child-process tests cover the hook).
const instrumentation = new AnthropicSpendGuardInstrumentation({ enabled: false });
instrumentation.patchExports(sdk);
afterAll(() => instrumentation.unpatchExports(sdk));

anthropicScenarios('instrumentation', (guard, baseURL, clientOptions) => {
  instrumentation.setConfig({ guard, scope: { tenantId: 'acme' } });
  return new Anthropic({ baseURL, ...clientOptions });
});

describe('anthropic instrumentation specifics', () => {
  it('patches Messages and Beta.Messages of the module and unpatches them', () => {
    const original = Object.getOwnPropertyDescriptor(Anthropic.Messages.prototype, 'create')!.value as { __original?: unknown };
    expect(typeof original.__original).toBe('function');
    expect(typeof (Anthropic.Beta.Messages.prototype.create as unknown as { __original?: unknown }).__original).toBe('function');
  });

  it('fails closed without a configured guard', async () => {
    const fake = await startFake();
    try {
      instrumentation.setConfig({});
      const c = new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, openTelemetry: false });
      const err = await c.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage() }).catch((e: unknown) => e);
      expect((err as Error).name).toBe('AgentGuardError');
      expect(fake.requests).toHaveLength(0);
    } finally {
      await fake.close();
    }
  });

  it('beta.messages.create is guarded too', async () => {
    const fake = await startFake();
    try {
      const { guard, log } = makeGuard();
      instrumentation.setConfig({ guard, scope: { tenantId: 'acme' } });
      const c = new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, openTelemetry: false });
      await c.beta.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage() });
      expect(decisions(log).map((d) => d.entryType)).toEqual(['decision', 'outcome']);
      expect(guard.pendingCount).toBe(0);
    } finally {
      await fake.close();
    }
  });

  it('wrapper + instrumentation together decide each call exactly once', async () => {
    const fake = await startFake();
    try {
      const a = makeGuard();
      const b = makeGuard();
      instrumentation.setConfig({ guard: a.guard, scope: { tenantId: 'acme' } });
      const c = withAnthropicSpendGuard(new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, openTelemetry: false }), {
        guard: b.guard,
        scope: { tenantId: 'acme' },
      });
      await c.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage() });
      for await (const e of c.messages.stream({ model: MODEL, max_tokens: 10, messages: userMessage() })) void e;
      expect(decisions(b.log).filter((d) => d.entryType === 'decision')).toHaveLength(2);
      expect(decisions(a.log)).toHaveLength(0);
      expect(fake.requests).toHaveLength(2);
    } finally {
      await fake.close();
    }
  });
});
