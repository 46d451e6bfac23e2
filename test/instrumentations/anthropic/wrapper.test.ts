import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { withAnthropicSpendGuard } from '../../../instrumentations/anthropic/index.js';
import { withSpendScope } from '../../../instrumentations/common/index.js';
import { decisions, lastDecision, makeGuard, MODEL, setupOtel, startFake, userMessage } from '../../helpers/anthropic.js';
import { anthropicScenarios } from '../../helpers/anthropic-scenarios.js';

setupOtel();

anthropicScenarios('wrapper', (guard, baseURL, clientOptions) =>
  withAnthropicSpendGuard(new Anthropic({ baseURL, ...clientOptions }), { guard, scope: { tenantId: 'acme' } }),
);

describe('anthropic wrapper specifics', () => {
  it('keeps the client’s identity and API, and withOptions() stays guarded', async () => {
    const fake = await startFake();
    try {
      const { guard, log } = makeGuard();
      const raw = new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, openTelemetry: false });
      const c = withAnthropicSpendGuard(raw, { guard, scope: { tenantId: 'acme' } });
      expect(c).toBeInstanceOf(Anthropic);
      expect(c.baseURL).toBe(raw.baseURL);
      expect(c.messages).toBe(c.messages);
      const copy = c.withOptions({ timeout: 5000 });
      await copy.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage() });
      await c.beta.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage() });
      expect(decisions(log).filter((d) => d.entryType === 'decision')).toHaveLength(2);
      // the raw client is left alone
      await raw.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage() });
      expect(decisions(log).filter((d) => d.entryType === 'decision')).toHaveLength(2);
      expect(fake.requests).toHaveLength(3);
    } finally {
      await fake.close();
    }
  });

  it('per-call scope through withSpendScope()', async () => {
    const fake = await startFake();
    try {
      const { guard, log } = makeGuard();
      const c = withAnthropicSpendGuard(new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, openTelemetry: false }), {
        guard,
        scope: { tenantId: 'acme' },
      });
      await withSpendScope({ scope: { agentId: 'researcher', taskId: 't-1' } }, () =>
        c.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage() }),
      );
      expect(lastDecision(log)!.actor).toEqual({ tenantId: 'acme', agentId: 'researcher', taskId: 't-1' });
    } finally {
      await fake.close();
    }
  });

  it('builds its own guard from policy + config', async () => {
    const fake = await startFake();
    try {
      const { keys } = makeGuard();
      const c = withAnthropicSpendGuard(new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, openTelemetry: false }), {
        config: { signingKeys: keys },
        scope: { tenantId: 'acme' },
      });
      const m = await c.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage() });
      expect(m.usage.input_tokens).toBe(20);
    } finally {
      await fake.close();
    }
  });

  it('clients of @anthropic-ai/bedrock-sdk (same Messages class, awsRegion) are priced as Bedrock', async () => {
    const fake = await startFake();
    try {
      const { guard, log } = makeGuard();
      class BedrockLike extends Anthropic {
        awsRegion = 'us-east-1';
      }
      const c = withAnthropicSpendGuard(new BedrockLike({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, openTelemetry: false }), {
        guard,
        scope: { tenantId: 'acme' },
      });
      await c.messages.create({ model: 'anthropic.claude-sonnet-4-5-20250929-v1:0', max_tokens: 10, messages: userMessage() });
      expect(lastDecision(log)).toMatchObject({ provider: 'bedrock', action: 'allow' });
      expect(guard.pendingCount).toBe(0);
    } finally {
      await fake.close();
    }
  });
});
