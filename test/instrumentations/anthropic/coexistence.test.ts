import * as sdk from '@anthropic-ai/sdk';
import Anthropic from '@anthropic-ai/sdk';
import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AnthropicSpendGuardInstrumentation } from '../../../instrumentations/anthropic/index.js';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { decisions, makeGuard, MODEL, setupOtel, startFake, userMessage } from '../../helpers/anthropic.js';

/**
 * Another OpenTelemetry instrumentation of the same method (as OpenLLMetry's
 * Anthropic instrumentation does): it `_wrap`s `Messages.prototype.create`,
 * and the contrib `_wrap` unwraps whatever is marked wrapped first.
 */
class OtherInstrumentation extends InstrumentationBase {
  calls = 0;
  constructor(readonly style: 'passthrough' | 'plain-promise' = 'passthrough') {
    super('other-anthropic-instrumentation', '1.0.0', { enabled: false });
  }
  protected init() {
    return new InstrumentationNodeModuleDefinition('@anthropic-ai/sdk', ['*']);
  }
  wrapCreate() {
    const self = this;
    const proto = Anthropic.Messages.prototype as unknown as { create: (...a: unknown[]) => unknown };
    this._wrap(proto, 'create', (original) =>
      self.style === 'passthrough'
        ? function (this: unknown, ...args: unknown[]) {
            self.calls++;
            return original.apply(this, args);
          }
        : async function (this: unknown, ...args: unknown[]): Promise<unknown> {
            self.calls++;
            return await (original.apply(this, args) as Promise<unknown>);
          },
    );
  }
  unwrapCreate() {
    this._unwrap(Anthropic.Messages.prototype as unknown as { create: unknown }, 'create');
  }
}

setupOtel();
const pristine = Anthropic.Messages.prototype.create;

describe('anthropic: coexistence with another instrumentation of Messages.create', () => {
  let fake: FakeProvider;
  beforeAll(async () => {
    fake = await startFake();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    Anthropic.Messages.prototype.create = pristine;
  });

  const call = async (c: Anthropic) => c.messages.create({ model: MODEL, max_tokens: 10, messages: userMessage() });

  for (const order of ['ours first', 'theirs first'] as const) {
    it(`${order}: enforcement happens exactly once and survives the other's unwrap`, async () => {
      const { guard, log } = makeGuard();
      const ours = new AnthropicSpendGuardInstrumentation({ enabled: false, guard, scope: { tenantId: 'acme' } });
      const other = new OtherInstrumentation();
      if (order === 'ours first') {
        ours.patchExports(sdk);
        other.wrapCreate();
      } else {
        other.wrapCreate();
        ours.patchExports(sdk);
      }
      const c = new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, openTelemetry: false });
      await call(c);
      expect(other.calls).toBe(1);
      expect(decisions(log).filter((d) => d.entryType === 'decision')).toHaveLength(1);

      // the other instrumentation is disabled (or re-enabled, which unwraps first): we stay
      other.unwrapCreate();
      await call(c);
      expect(decisions(log).filter((d) => d.entryType === 'decision')).toHaveLength(2);
      other.wrapCreate();
      await call(c);
      expect(decisions(log).filter((d) => d.entryType === 'decision')).toHaveLength(3);
      expect(fake.requests).toHaveLength(3);
      expect(guard.pendingCount).toBe(0);
      ours.unpatchExports(sdk);
    });
  }

  it('a wrapper below ours that returns a plain Promise: still enforced and settled', async () => {
    const { guard, log } = makeGuard();
    const other = new OtherInstrumentation('plain-promise');
    other.wrapCreate();
    const ours = new AnthropicSpendGuardInstrumentation({ enabled: false, guard, scope: { tenantId: 'acme' } });
    ours.patchExports(sdk);
    const c = new Anthropic({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, openTelemetry: false });
    const m = await call(c);
    expect(m.usage.output_tokens).toBe(12);
    expect(decisions(log).map((d) => d.entryType)).toEqual(['decision', 'outcome']);
    expect(guard.pendingCount).toBe(0);
    ours.unpatchExports(sdk);
  });
});
