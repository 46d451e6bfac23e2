import { createRequire } from 'node:module';
import { metrics } from '@opentelemetry/api';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProvider } from '../../../fake-provider/server.js';
import { OpenAISpendGuardInstrumentation } from '../../../instrumentations/openai/index.js';
import { isEnforcing } from '../../../instrumentations/openai/instrumentation.js';
import { AgentGuardBlockedError } from '../../../src/index.js';
import { makeGuard, ourSpans, policy, setupTracing, startFake, until, type TestGuard } from '../../helpers/openai.js';

/**
 * Coexistence with `@opentelemetry/instrumentation-openai` (contrib), which
 * wraps the same `create` methods with shimmer. Its `_wrap` first unwraps any
 * shimmer-marked wrapper it finds, so a naive second instrumentation removes
 * the first. Both orders are tested: decisions per call = 1, the fake server
 * sees a request only when allowed, and a block still blocks.
 *
 * The contrib package declares `openai >=4.19.0 <7`; with a newer SDK its
 * require hook does not fire, so these tests apply its module patch directly
 * (the same function its hook calls) to a fresh copy of the SDK. The child
 * process tests exercise the real hooks where the versions overlap.
 */

const require = createRequire(import.meta.url);
const exporter = setupTracing();
let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFake();
});
afterAll(async () => {
  live?.ours.disable();
  live?.contrib.disable();
  await fake.close();
});

type Sdk = typeof import('openai');
type ModulePatcher = { patch?: (exports: unknown, version?: string) => unknown; unpatch?: (exports: unknown, version?: string) => void };

/** A fresh copy of the SDK (new classes), so each test starts from unpatched prototypes. */
function freshSdk(): Sdk {
  for (const key of Object.keys(require.cache)) if (key.includes(`${'/node_modules/openai/'}`)) delete require.cache[key];
  return require('openai') as Sdk;
}

interface Pair {
  sdk: Sdk;
  ours: OpenAISpendGuardInstrumentation;
  contrib: OpenAIInstrumentation;
  contribDef: ModulePatcher;
  t: TestGuard;
}

let live: Pair | undefined;

/**
 * Loads a fresh SDK first, then creates both instrumentations (their require
 * hooks therefore do not fire for it): the test applies the patches in the
 * order it wants. Instances of the previous test are disabled.
 */
function pair(caps: Parameters<typeof policy>[0] = [{ amountCents: 5, window: 'per_call', action: 'block' }]): Pair {
  live?.ours.disable();
  live?.contrib.disable();
  const sdk = freshSdk();
  const t = makeGuard([policy(caps)]);
  const ours = new OpenAISpendGuardInstrumentation({ guard: t.guard, scope: { tenantId: 't1' } });
  const contrib = new OpenAIInstrumentation();
  // As registerInstrumentations() does; without it contrib 0.22 has no metric instruments
  // (its class fields reset them after the base constructor created them).
  contrib.setMeterProvider(metrics.getMeterProvider());
  const contribDef = contrib.getModuleDefinitions()[0] as ModulePatcher;
  live = { sdk, ours, contrib, contribDef, t };
  return live;
}

function client(sdk: Sdk) {
  return new sdk.OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
}

const messages = [{ role: 'user' as const, content: 'hello' }];

/** One allowed call, one allowed stream, one blocked call: exactly one decision each. */
async function expectEnforcedOnce(p: Pair): Promise<void> {
  fake.reset();
  exporter.reset();
  const before = p.t.decisions().length;
  const c = client(p.sdk);
  await c.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 10 });
  const stream = await c.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 10, stream: true });
  for await (const _ of stream);
  await c.responses.create({ model: 'gpt-4o', input: 'hi', max_output_tokens: 10 });
  const err = await c.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 50_000 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AgentGuardBlockedError);
  expect(p.t.decisions().length - before).toBe(4);
  expect(fake.requests).toHaveLength(3);
  await until(() => p.t.guard.pendingCount === 0);
  expect(ourSpans(exporter)).toHaveLength(4);
}

describe('coexistence with @opentelemetry/instrumentation-openai', () => {
  it('control: a shimmer-marked wrapper is silently unwrapped by the contrib instrumentation', () => {
    const { sdk, contribDef, contrib } = pair();
    const proto = sdk.OpenAI.Chat.Completions.prototype as unknown as Record<string, unknown>;
    const original = proto.create as (...a: unknown[]) => unknown;
    const naive = Object.assign((...a: unknown[]) => original(...a), { __wrapped: true, __original: original, __unwrap: () => (proto.create = original) });
    proto.create = naive;
    contribDef.patch!(sdk);
    expect((proto.create as { __original?: unknown }).__original).toBe(original); // the naive wrapper is gone
    contribDef.unpatch!(sdk);
    contrib.disable();
  });

  it('ours first, contrib second: contrib wraps over our wrapper instead of removing it', async () => {
    const p = pair();
    p.ours.patchExports(p.sdk);
    p.contribDef.patch!(p.sdk);
    const proto = p.sdk.OpenAI.Chat.Completions.prototype;
    expect((proto.create as { __wrapped?: boolean }).__wrapped).toBe(true); // contrib on top
    expect(isEnforcing(proto)).toBe(true);
    await expectEnforcedOnce(p);
    // contrib's spans are there too (one per call that reached it)
    expect(exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name === '@opentelemetry/instrumentation-openai').length).toBeGreaterThanOrEqual(3);

    // contrib disabled and enabled again: enforcement stays.
    p.contribDef.unpatch!(p.sdk);
    expect(isEnforcing(proto)).toBe(true);
    await expectEnforcedOnce(p);
    p.contribDef.patch!(p.sdk);
    await expectEnforcedOnce(p);
    p.contrib.disable();
  });

  it('contrib first, ours second: we wrap over contrib and leave its wrapper in place', async () => {
    const p = pair();
    p.contribDef.patch!(p.sdk);
    const proto = p.sdk.OpenAI.Chat.Completions.prototype;
    const contribWrapper = proto.create;
    p.ours.patchExports(p.sdk);
    expect(proto.create).not.toBe(contribWrapper);
    expect(isEnforcing(proto)).toBe(true);
    await expectEnforcedOnce(p);

    // contrib asked to unwrap while we are on top: it cannot remove us (shimmer logs
    // "no original to unwrap to" on stderr and does nothing; contrib's wrapper below
    // us then passes calls through because contrib is disabled).
    p.contribDef.unpatch!(p.sdk);
    expect(isEnforcing(proto)).toBe(true);
    await expectEnforcedOnce(p);

    // Our own unpatch restores exactly what was below us, and patching again re-installs.
    p.ours.unpatchExports(p.sdk);
    expect(proto.create).toBe(contribWrapper);
    p.ours.patchExports(p.sdk);
    await expectEnforcedOnce(p);
    p.contrib.disable();
  });

  it('patching twice (two cycles, or two instances) never stacks a second decision', async () => {
    const p = pair();
    p.ours.patchExports(p.sdk);
    p.contribDef.patch!(p.sdk);
    const second = new OpenAISpendGuardInstrumentation({ guard: p.t.guard, scope: { tenantId: 't1' } });
    second.patchExports(p.sdk); // finds our wrapper below contrib's and re-activates it
    p.ours.patchExports(p.sdk);
    await expectEnforcedOnce(p);
    p.contrib.disable();
    second.disable(); // else its require hook patches the next test's fresh SDK copy at load
  });

  for (const order of ['contrib first (ours outer)', 'ours first (contrib outer)'] as const) {
    it(`${order}: one span nests in the other; after a downgrade the inner one and ours name the model sent`, async () => {
      const p = pair([{ amountCents: 0, window: 'per_call', action: 'downgrade', downgradeTo: 'gpt-4o-mini', models: ['gpt-4o'] }]);
      if (order === 'contrib first (ours outer)') {
        p.contribDef.patch!(p.sdk);
        p.ours.patchExports(p.sdk);
      } else {
        p.ours.patchExports(p.sdk);
        p.contribDef.patch!(p.sdk);
      }
      fake.reset();
      exporter.reset();
      await client(p.sdk).chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 10 });
      await until(() => p.t.guard.pendingCount === 0);
      expect((fake.requests[0]!.body as { model: string }).model).toBe('gpt-4o-mini');
      expect(p.t.decisions().map((d) => d.action)).toEqual(['downgrade']);
      const [mine] = ourSpans(exporter);
      const theirs = exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name === '@opentelemetry/instrumentation-openai');
      expect(theirs).toHaveLength(1);
      expect(mine!.name).toBe('chat gpt-4o-mini');
      expect(mine!.attributes['agentguard.decision.model_requested']).toBe('gpt-4o');
      const parent = (s: (typeof theirs)[number]) => (s as typeof s & { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId;
      if (order === 'contrib first (ours outer)') {
        // Contrib's span is inside ours and sees the request as sent: both say the cheaper model.
        expect(parent(theirs[0]!)).toBe(mine!.spanContext().spanId);
        expect(theirs[0]!.attributes['gen_ai.request.model']).toBe('gpt-4o-mini');
      } else {
        // Contrib's span is outside ours and saw the caller's request, before the guard rewrote it.
        expect(parent(mine!)).toBe(theirs[0]!.spanContext().spanId);
        expect(theirs[0]!.attributes['gen_ai.request.model']).toBe('gpt-4o');
      }
      p.contrib.disable();
    });
  }
});
