/**
 * Another instrumentation wrapping the same `send` (e.g. an OpenInference-style
 * `_wrap(BedrockRuntimeClient.prototype, 'send')`, or an aws-sdk-style wrap of the base
 * `Client.prototype.send`), in both orders: enforcement happens exactly once and is never
 * silently unwrapped.
 */
import { createRequire } from 'node:module';
import { InstrumentationBase } from '@opentelemetry/instrumentation';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BedrockSpendGuardInstrumentation, withBedrockSpendGuard } from '../../../instrumentations/bedrock/index.js';
import { clientConfig, converseInput, decisions, policy, resetHarness, SONNET, startHarness, type Harness } from '../../helpers/bedrock.js';

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
    this._wrap(target, 'send', (original: unknown) =>
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
