/**
 * Another instrumentation wrapping the same `send` (e.g. an OpenInference-style
 * `_wrap(BedrockRuntimeClient.prototype, 'send')`, or an aws-sdk-style wrap of the base
 * `Client.prototype.send`), in both orders: enforcement happens exactly once and is never
 * silently unwrapped.
 */
import { createRequire } from 'node:module';
import { InstrumentationBase, type InstrumentationModuleDefinition } from '@opentelemetry/instrumentation';
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BedrockSpendGuardInstrumentation, withBedrockSpendGuard } from '../../../instrumentations/bedrock/index.js';
import { clientConfig, converseInput, decisions, HAIKU, policy, resetHarness, SONNET, startHarness, type Harness } from '../../helpers/bedrock.js';

type Sdk = typeof import('@aws-sdk/client-bedrock-runtime');
const sdk = createRequire(import.meta.url)('@aws-sdk/client-bedrock-runtime') as Sdk;
const proto = sdk.BedrockRuntimeClient.prototype as unknown as Record<PropertyKey, unknown>;
const baseProto = Object.getPrototypeOf(proto) as Record<PropertyKey, unknown>;
const pristineBaseSend = baseProto.send;

/** A third-party instrumentation using the contrib `_wrap` (which unwraps a marked earlier wrapper). */
class OtherInstrumentation extends InstrumentationBase {
  calls = 0;
  constructor() {
    super('other-bedrock-instrumentation', '1.0.0', { enabled: false });
  }
  protected init() {
    return [];
  }
  wrapSend(target: Record<PropertyKey, unknown>) {
    const self = this;
    this._wrap(
      target,
      'send',
      (original: unknown) =>
        function (this: unknown, ...args: unknown[]) {
          self.calls++;
          return (original as (...a: unknown[]) => unknown).apply(this, args);
        },
    );
  }
  unwrapSend(target: Record<PropertyKey, unknown>) {
    this._unwrap(target, 'send');
  }
}

let h: Harness;
let ours: BedrockSpendGuardInstrumentation;
const SCOPE = { tenantId: 'acme' };

beforeAll(async () => {
  h = await startHarness();
  ours = new BedrockSpendGuardInstrumentation({ enabled: false, guard: h.guard, scope: SCOPE });
});
afterAll(() => h.fake.close());
beforeEach(() => {
  ours.unpatchPrototype(proto);
  delete proto.send;
  baseProto.send = pristineBaseSend;
  resetHarness(h);
  ours.setConfig({ enabled: false, guard: h.guard, scope: SCOPE });
});

async function oneCall() {
  const client = new sdk.BedrockRuntimeClient(clientConfig(h.fake));
  await client.send(new sdk.ConverseCommand(converseInput(SONNET)));
}

async function blockedCall() {
  resetHarness(h, [policy({ caps: [{ amountCents: 0, window: 'per_call', action: 'block', reason: 'no' }] })]);
  ours.setConfig({ enabled: false, guard: h.guard, scope: SCOPE });
  const client = new sdk.BedrockRuntimeClient(clientConfig(h.fake));
  const err = await client.send(new sdk.ConverseCommand(converseInput(SONNET))).catch((e: unknown) => e);
  return (err as Error).name;
}

describe('coexistence with another instrumentation of send', () => {
  it('ours first, theirs after (contrib _wrap): both run, one decision, still enforced', async () => {
    ours.patchPrototype(proto);
    const other = new OtherInstrumentation();
    other.wrapSend(proto);
    await oneCall();
    expect(other.calls).toBe(1);
    expect(decisions(h.log)).toHaveLength(1);
    expect(await blockedCall()).toBe('AgentGuardBlockedError');
    expect(h.fake.requests).toHaveLength(0);
    // Theirs unwrapping restores ours, not the bare SDK.
    other.unwrapSend(proto);
    expect(await blockedCall()).toBe('AgentGuardBlockedError');
  });

  it('theirs first, ours after: both run, one decision', async () => {
    const other = new OtherInstrumentation();
    other.wrapSend(proto);
    ours.patchPrototype(proto);
    await oneCall();
    expect(other.calls).toBe(1);
    expect(decisions(h.log)).toHaveLength(1);
    expect(await blockedCall()).toBe('AgentGuardBlockedError');
    expect(h.fake.requests).toHaveLength(0);
  });

  it('a later wrap of the base Client.prototype.send (aws-sdk style) still runs below ours', async () => {
    ours.patchPrototype(proto);
    const other = new OtherInstrumentation();
    other.wrapSend(baseProto);
    await oneCall();
    expect(other.calls).toBe(1);
    expect(decisions(h.log)).toHaveLength(1);
    other.unwrapSend(baseProto);
  });

  it('patching twice (CommonJS and ESM hooks) guards once', async () => {
    ours.patchPrototype(proto);
    ours.patchPrototype(proto);
    await oneCall();
    expect(decisions(h.log)).toHaveLength(1);
  });

  it('the explicit wrapper over an instrumented client decides once', async () => {
    ours.patchPrototype(proto);
    const client = withBedrockSpendGuard(new sdk.BedrockRuntimeClient(clientConfig(h.fake)), { guard: h.guard, scope: SCOPE });
    await client.send(new sdk.ConverseCommand(converseInput(SONNET)));
    expect(decisions(h.log)).toHaveLength(1);
  });

  it('unpatch restores the inherited send', async () => {
    ours.patchPrototype(proto);
    ours.unpatchPrototype(proto);
    expect(Object.prototype.hasOwnProperty.call(proto, 'send')).toBe(false);
    await oneCall();
    expect(decisions(h.log)).toHaveLength(0);
  });

  it('without a guard configured, a patched send fails closed before sending', async () => {
    ours.patchPrototype(proto);
    ours.setConfig({ enabled: false });
    const client = new sdk.BedrockRuntimeClient(clientConfig(h.fake));
    const err = await client.send(new sdk.ConverseCommand(converseInput(SONNET))).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AgentGuardError');
    expect(h.fake.requests).toHaveLength(0);
  });
});

/**
 * `@opentelemetry/instrumentation-aws-sdk` (on in `auto-instrumentations-node`)
 * patches the base `Client.prototype.send` of `@smithy/core` and the command's
 * middleware stack, and names Bedrock Runtime spans `chat {modelId}`. Applied
 * here as its require hook does (its module definition's file patch), to the
 * `@smithy/core` the SDK loaded.
 */
describe('coexistence with @opentelemetry/instrumentation-aws-sdk', () => {
  const smithyClient = createRequire(import.meta.url)('@smithy/core/client') as { Client: { prototype: object } };

  function patchAwsSdk(): () => void {
    const aws = new AwsInstrumentation({ enabled: false });
    const defs = aws.getModuleDefinitions() as InstrumentationModuleDefinition[];
    const file = defs.find((d) => d.name === '@smithy/core')!.files[0]!;
    file.patch!(smithyClient, '3.41.1');
    return () => {
      file.unpatch!(smithyClient, '3.41.1');
      aws.disable();
    };
  }

  const byScope = (name: string) => h.exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name === name);
  const parentOf = (s: ReadableSpan) => (s as ReadableSpan & { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId;

  async function expectOneNestedPair(sentModel: string): Promise<void> {
    const [mine] = byScope('agentguard-spend/instrumentation-bedrock');
    const theirs = byScope('@opentelemetry/instrumentation-aws-sdk');
    expect(theirs).toHaveLength(1);
    // Theirs is a child of ours: it starts below the send we make inside our span's context.
    expect(parentOf(theirs[0]!)).toBe(mine!.spanContext().spanId);
    // Parent and child agree on the model the request was sent with.
    expect([mine!.name, theirs[0]!.name]).toEqual([`chat ${sentModel}`, `chat ${sentModel}`]);
    expect(theirs[0]!.attributes['gen_ai.request.model']).toBe(sentModel);
    expect(mine!.attributes['gen_ai.request.model']).toBe(sentModel);
  }

  it('uses the base send the SDK inherits (so the patch applied here is the one its hook applies)', () => {
    expect(smithyClient.Client.prototype).toBe(baseProto);
  });

  for (const order of ['ours first', 'aws-sdk first'] as const) {
    it(`${order}: its span nests under ours, both name the model sent after a downgrade, one decision per call`, async () => {
      let unpatch: () => void;
      if (order === 'ours first') {
        ours.patchPrototype(proto);
        unpatch = patchAwsSdk();
      } else {
        unpatch = patchAwsSdk();
        ours.patchPrototype(proto);
      }
      try {
        const client = new sdk.BedrockRuntimeClient(clientConfig(h.fake));
        await client.send(new sdk.ConverseCommand(converseInput(SONNET)));
        await expectOneNestedPair(SONNET);
        expect(decisions(h.log)).toHaveLength(1);

        resetHarness(h, [
          policy({ caps: [{ amountCents: 0, window: 'per_call', action: 'downgrade', downgradeTo: HAIKU, models: [SONNET], reason: 'cheap' }] }),
        ]);
        ours.setConfig({ enabled: false, guard: h.guard, scope: SCOPE });
        await client.send(new sdk.ConverseCommand(converseInput(SONNET)));
        await expectOneNestedPair(HAIKU);
        expect(decisions(h.log).map((d) => d.action)).toEqual(['downgrade']);

        // A block sends nothing: no aws-sdk span, only ours.
        h.exporter.reset();
        expect(await blockedCall()).toBe('AgentGuardBlockedError');
        expect(h.fake.requests).toHaveLength(0);
        expect(byScope('@opentelemetry/instrumentation-aws-sdk')).toHaveLength(0);
        expect(byScope('agentguard-spend/instrumentation-bedrock')).toHaveLength(1);
      } finally {
        unpatch();
      }
    });
  }
});
