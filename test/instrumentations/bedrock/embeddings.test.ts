/**
 * Bedrock embedding models through InvokeModel (Titan Text Embeddings v2, body
 * `{ inputText }`, response `{ embedding, inputTextTokenCount }`), with the real
 * `@aws-sdk/client-bedrock-runtime` against the fake: priced by input alone,
 * blocked before the network, settled from `inputTextTokenCount` (or the input
 * metering header) with no output, and the span is `embeddings <model>`.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BedrockSpendGuardInstrumentation, withBedrockSpendGuard } from '../../../instrumentations/bedrock/index.js';
import { AgentGuardBlockedError } from '../../../src/index.js';
import { verifyChain } from '../../../src/audit.js';
import {
  clientConfig,
  decisions,
  expectedCents,
  exportedText,
  outcomes,
  policy,
  PROMPT_MARKER,
  resetHarness,
  startHarness,
  type Harness,
} from '../../helpers/bedrock.js';

const require = createRequire(import.meta.url);
type Sdk = typeof import('@aws-sdk/client-bedrock-runtime');

const SCOPE = { tenantId: 'acme' };
const TITAN_EMBED = 'amazon.titan-embed-text-v2:0';

let h: Harness;
let instrumentation: BedrockSpendGuardInstrumentation;
let sdk: Sdk;

beforeAll(async () => {
  h = await startHarness();
  instrumentation = new BedrockSpendGuardInstrumentation({ guard: h.guard, scope: SCOPE });
  sdk = require('@aws-sdk/client-bedrock-runtime') as Sdk;
});

afterAll(async () => {
  instrumentation.disable();
  await h.fake.close();
});

function makeClient(mode: 'instrumentation' | 'wrapper', extra: Record<string, unknown> = {}) {
  const raw = new sdk.BedrockRuntimeClient(clientConfig(h.fake, extra));
  if (mode === 'instrumentation') {
    instrumentation.setConfig({ guard: h.guard, scope: SCOPE });
    instrumentation.enable();
    return raw;
  }
  instrumentation.disable();
  return withBedrockSpendGuard(raw, { guard: h.guard, scope: SCOPE });
}

const embed = (text: string) =>
  new sdk.InvokeModelCommand({ modelId: TITAN_EMBED, body: JSON.stringify({ inputText: text }), contentType: 'application/json' });

describe.each(['instrumentation', 'wrapper'] as const)('bedrock embeddings via %s', (mode) => {
  beforeEach(async () => {
    await h.provider.forceFlush();
    resetHarness(h);
  });

  it.each([
    ['the body (inputTextTokenCount)', false],
    ['the input metering header alone', true],
  ])('allowed within the caps, settled from %s with no output billed', async (_from, bodyWithoutUsage) => {
    // Priced by the installed price table, input alone.
    const cents = expectedCents(TITAN_EMBED, { inputTokens: 600_000, outputTokens: 0 });
    expect(cents).toBeGreaterThan(0);
    expect(cents).toBe(expectedCents(TITAN_EMBED, { inputTokens: 600_000, outputTokens: 50 }));
    h.fake.behaviour.usage = { inputTokens: 600_000, outputTokens: 50 };
    // Without the body's count the input metering header is what is left.
    if (bodyWithoutUsage) h.knobs.omitBodyUsage = true;
    const client = makeClient(mode);
    const out = await client.send(embed(`embed me ${PROMPT_MARKER}`));
    expect(JSON.parse(out.body.transformToString()).embedding).toHaveLength(3);
    expect(h.fake.requests).toHaveLength(1);
    expect(decisions(h.log)).toHaveLength(1);
    expect(decisions(h.log)[0]).toMatchObject({ action: 'allow', modelRequested: TITAN_EMBED });
    expect(outcomes(h.log)).toHaveLength(1);
    expect(outcomes(h.log)[0]).toMatchObject({ outcome: 'settled', actualInputTokens: 600_000, actualOutputTokens: 0, actualCents: cents });
    await h.provider.forceFlush();
    const spans = h.exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual([`embeddings ${TITAN_EMBED}`]);
    expect(spans[0]!.attributes).toMatchObject({
      'gen_ai.operation.name': 'embeddings',
      'gen_ai.usage.input_tokens': 600_000,
      'gen_ai.usage.output_tokens': 0,
    });
    expect(exportedText(spans, h.log.entries())).not.toContain(PROMPT_MARKER);
    expect(verifyChain(h.log.entries(), h.keys.publicKey)).toEqual({ ok: true, count: 2 });
    expect(h.guard.pendingCount).toBe(0);
  });

  it('blocked before the network when the input alone is over a cap', async () => {
    // 80 000 characters project a charge of at least 1 cent: a 0-cent cap cannot take it.
    resetHarness(h, [policy({ caps: [{ amountCents: 0, window: 'per_call', action: 'block', reason: 'no embeddings' }] })]);
    const client = makeClient(mode);
    await expect(client.send(embed('x'.repeat(80_000)))).rejects.toBeInstanceOf(AgentGuardBlockedError);
    expect(h.fake.requests).toHaveLength(0);
    expect(decisions(h.log)).toEqual([expect.objectContaining({ action: 'block', modelRequested: TITAN_EMBED })]);
  });
});
