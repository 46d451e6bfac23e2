/**
 * Azure OpenAI with the real `AzureOpenAI` client against the fake's Azure
 * routes: calls are priced at their deployment's model, a downgrade is sent to
 * the deployment serving the target (asserted on the URL path and body the
 * fake received), and a downgrade no deployment serves is not taken: the
 * call goes to the requested deployment and the decision says why.
 * The log never names a model other than the one called.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAzureRoutes } from '../../../fake-provider/azure.js';
import { FakeProvider } from '../../../fake-provider/server.js';
import { NoAzureDeploymentError, parseAzureDeployments, type AzureDeployments } from '../../../instrumentations/openai/azure.js';
import { OpenAISpendGuardInstrumentation, withSpendGuard } from '../../../instrumentations/openai/index.js';
import { expectedCents, makeGuard, policy, setupTracing, until, type TestGuard } from '../../helpers/openai.js';

const require = createRequire(import.meta.url);
const sdk = require('openai') as typeof import('openai');

setupTracing();
const instrumentation = new OpenAISpendGuardInstrumentation({ enabled: false });
instrumentation.patchExports(sdk);

const DEPLOYMENTS: AzureDeployments = { 'prod-chat': 'gpt-4o', 'prod-mini': 'gpt-4o-mini' };
const API_VERSION = '2024-10-21';

let fake: FakeProvider;
beforeAll(async () => {
  // The fake serves only the custom names: a call to a deployment named after a model would get a 404.
  fake = new FakeProvider(createAzureRoutes(DEPLOYMENTS));
  await fake.listen();
});
afterAll(async () => {
  instrumentation.unpatchExports(sdk);
  await fake.close();
});

/** Large input, so the two models' prices differ; output within every call's bound (usage beyond it is capped). */
const USAGE = { inputTokens: 100_000, outputTokens: 90 };
const messages = [{ role: 'user' as const, content: 'hi' }];
/** 5000 output tokens of gpt-4o project to 5 cents: over a 1-cent per-call downgrade cap; at gpt-4o-mini 1 cent. */
const downgradeCap = () => policy([{ amountCents: 2, window: 'per_call', action: 'downgrade', downgradeTo: 'gpt-4o-mini' }]);

type ClientOptions = ConstructorParameters<typeof sdk.AzureOpenAI>[0];
const azure = (o: ClientOptions = {}) => new sdk.AzureOpenAI({ apiKey: 'azure-test-not-a-key', apiVersion: API_VERSION, endpoint: fake.url, ...o });

function guardWith(
  t: TestGuard,
  mode: 'instrumentation' | 'wrapper',
  client: InstanceType<typeof sdk.OpenAI>,
  deployments: AzureDeployments | null = DEPLOYMENTS,
) {
  if (mode === 'instrumentation') {
    instrumentation.setConfig({ guard: t.guard, scope: { tenantId: 't1' }, ...(deployments ? { azureDeployments: deployments } : {}) });
    instrumentation.enable();
    return client;
  }
  instrumentation.disable();
  return withSpendGuard(client, { guard: t.guard, scope: { tenantId: 't1' }, ...(deployments ? { azureDeployments: deployments } : {}) });
}

beforeEach(() => {
  fake.reset();
  fake.behaviour.usage = USAGE;
});

describe.each(['instrumentation', 'wrapper'] as const)('Azure deployments via %s', (mode) => {
  it('prices a custom deployment at the model it serves', async () => {
    const t = makeGuard([policy([{ amountCents: 100_000, window: 'per_day', action: 'block' }])]);
    // Without the map, `prod-chat` is an unknown model: blocked in enforce mode.
    const client = guardWith(t, mode, azure());
    await client.chat.completions.create({ model: 'prod-chat', messages, max_tokens: 100 });
    expect(fake.requests.map((r) => r.path)).toEqual(['/openai/deployments/prod-chat/chat/completions']);
    expect((fake.requests[0]!.body as { model: string }).model).toBe('prod-chat');
    const [d] = t.decisions();
    expect(d).toMatchObject({ action: 'allow', modelRequested: 'gpt-4o', modelResolved: 'gpt-4o' });
    await until(() => t.outcomes().length === 1);
    expect(t.outcomes()[0]!.actualCents).toBe(expectedCents('gpt-4o', { input: USAGE.inputTokens, output: USAGE.outputTokens }));
  });

  const DOWNGRADES: [
    name: string,
    client: () => InstanceType<typeof sdk.OpenAI>,
    call: (c: InstanceType<typeof sdk.OpenAI>) => Promise<unknown>,
    path: string,
    bodyModel: string,
  ][] = [
    [
      'client deployment, chat',
      () => azure({ deployment: 'prod-chat' }),
      (c) => c.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5000 }),
      '/openai/deployments/prod-mini/chat/completions',
      'gpt-4o-mini',
    ],
    [
      'per-call deployment, chat',
      () => azure(),
      (c) => c.chat.completions.create({ model: 'prod-chat', messages, max_tokens: 5000 }),
      '/openai/deployments/prod-mini/chat/completions',
      'prod-mini',
    ],
    [
      'deployment pinned in the base URL, chat',
      () => new sdk.AzureOpenAI({ apiKey: 'azure-test-not-a-key', apiVersion: API_VERSION, baseURL: `${fake.url}/openai/deployments/prod-chat` }),
      (c) => c.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5000 }),
      '/openai/deployments/prod-mini/chat/completions',
      'gpt-4o-mini',
    ],
    [
      'client deployment, chat stream',
      () => azure({ deployment: 'prod-chat' }),
      async (c) => {
        for await (const _ of await c.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5000, stream: true }));
      },
      '/openai/deployments/prod-mini/chat/completions',
      'gpt-4o-mini',
    ],
    [
      'Responses API',
      () => azure({ deployment: 'prod-chat' }),
      (c) => c.responses.create({ model: 'prod-chat', input: 'hi', max_output_tokens: 5000 }),
      '/openai/responses',
      'prod-mini',
    ],
    [
      'v1 API with a plain OpenAI client',
      () => new sdk.OpenAI({ apiKey: 'azure-test-not-a-key', baseURL: `${fake.url}/openai/v1` }),
      (c) => c.chat.completions.create({ model: 'prod-chat', messages, max_tokens: 5000 }),
      '/openai/v1/chat/completions',
      'prod-mini',
    ],
  ];

  it.each(DOWNGRADES)('a downgrade goes to the deployment serving the target (%s)', async (_name, makeClient, call, path, bodyModel) => {
    const t = makeGuard([downgradeCap()]);
    await call(guardWith(t, mode, makeClient()));
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.path).toBe(path);
    expect((fake.requests[0]!.body as { model: string }).model).toBe(bodyModel);
    const [d] = t.decisions();
    expect(d).toMatchObject({ action: 'downgrade', modelRequested: 'gpt-4o', modelResolved: 'gpt-4o-mini' });
    await until(() => t.outcomes().length === 1);
    expect(t.outcomes()[0]!.actualCents).toBe(expectedCents('gpt-4o-mini', { input: USAGE.inputTokens, output: USAGE.outputTokens }));
  });

  const NOT_SERVED: [
    name: string,
    client: () => InstanceType<typeof sdk.OpenAI>,
    call: (c: InstanceType<typeof sdk.OpenAI>) => Promise<unknown>,
    path: string,
    bodyModel: string,
  ][] = [
    [
      'client deployment, chat',
      () => azure({ deployment: 'prod-chat', maxRetries: 3 }),
      (c) => c.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5000 }),
      '/openai/deployments/prod-chat/chat/completions',
      'gpt-4o',
    ],
    [
      'per-call deployment, chat stream',
      () => azure(),
      async (c) => {
        for await (const _ of await c.chat.completions.create({ model: 'prod-chat', messages, max_tokens: 5000, stream: true }));
      },
      '/openai/deployments/prod-chat/chat/completions',
      'prod-chat',
    ],
    ['Responses API', () => azure(), (c) => c.responses.create({ model: 'prod-chat', input: 'hi', max_output_tokens: 5000 }), '/openai/responses', 'prod-chat'],
  ];

  it.each(NOT_SERVED)(
    'a downgrade no deployment serves is not taken: sent to the requested deployment, logged at its model, and the decision says why (%s)',
    async (_name, makeClient, call, path, bodyModel) => {
      const t = makeGuard([downgradeCap()]);
      await call(guardWith(t, mode, makeClient(), { 'prod-chat': 'gpt-4o' }));
      expect(fake.requests).toHaveLength(1);
      expect(fake.requests[0]!.path).toBe(path);
      expect((fake.requests[0]!.body as { model: string }).model).toBe(bodyModel);
      const [d] = t.decisions();
      expect(t.decisions()).toHaveLength(1);
      expect(d).toMatchObject({
        action: 'allow',
        modelRequested: 'gpt-4o',
        modelResolved: 'gpt-4o',
        triggeredCap: { action: 'downgrade', downgradeTo: 'gpt-4o-mini' },
      });
      expect(d!.reasons).toEqual([
        'downgrade to gpt-4o-mini not taken: no deployment this call can be sent to serves gpt-4o-mini (routable: gpt-4o); p-openai/0 per_call cap 2c: cap 0',
      ]);
      await until(() => t.outcomes().length === 1);
      const cents = expectedCents('gpt-4o', { input: USAGE.inputTokens, output: USAGE.outputTokens });
      expect(t.outcomes()[0]).toMatchObject({ outcome: 'settled', modelResolved: 'gpt-4o', actualCents: cents });
      expect(cents).toBeGreaterThan(expectedCents('gpt-4o-mini', { input: USAGE.inputTokens, output: USAGE.outputTokens }));
    },
  );

  it('a decision that names a model no deployment serves anyway (an engine ignoring routableModels) is not sent', async () => {
    const t = makeGuard([downgradeCap()]);
    const decide = t.guard.decide.bind(t.guard);
    t.guard.decide = (request) => {
      const { routableModels: _ignored, ...rest } = request;
      return decide(rest);
    };
    const client = guardWith(t, mode, azure({ deployment: 'prod-chat', maxRetries: 3 }), { 'prod-chat': 'gpt-4o' });
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NoAzureDeploymentError);
    expect((err as Error).message).toContain('no Azure deployment serves gpt-4o-mini');
    expect(fake.requests).toHaveLength(0);
    expect(t.decisions()).toMatchObject([{ action: 'downgrade', modelResolved: 'gpt-4o-mini' }]);
    await until(() => t.outcomes().length === 1);
    expect(t.outcomes()[0]).toMatchObject({ outcome: 'released', actualCents: 0, reasons: ['released: NoAzureDeploymentError'] });
  });

  it('a downgrade not taken beside a clamping block cap: clamped at the requested deployment', async () => {
    const t = makeGuard([
      policy([
        { amountCents: 2, window: 'per_call', action: 'downgrade', downgradeTo: 'gpt-4o-mini' },
        // 5000 output tokens of gpt-4o project to 5c: clamped to what 3c pay for.
        { amountCents: 3, window: 'per_day', action: 'block', clampMaxTokens: true },
      ]),
    ]);
    fake.behaviour.usage = { inputTokens: 100, outputTokens: 90 };
    const client = guardWith(t, mode, azure({ deployment: 'prod-chat' }), { 'prod-chat': 'gpt-4o' });
    await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5000 });
    expect(fake.requests.map((r) => r.path)).toEqual(['/openai/deployments/prod-chat/chat/completions']);
    const sent = fake.requests[0]!.body as { model: string; max_tokens: number };
    const [d] = t.decisions();
    expect(d).toMatchObject({ action: 'allow', modelResolved: 'gpt-4o', requestedMaxOutputTokens: 5000 });
    expect(sent).toMatchObject({ model: 'gpt-4o', max_tokens: d!.clampedMaxOutputTokens });
    expect(d!.clampedMaxOutputTokens).toBeGreaterThan(2900);
    expect(d!.clampedMaxOutputTokens).toBeLessThan(3000);
    expect(d!.reasons[0]).toMatch(/^downgrade to gpt-4o-mini not taken: /);
    expect(d!.reasons[1]).toMatch(/^clamped max output tokens 5000 → \d+: /);
    await until(() => t.outcomes().length === 1);
    expect(t.outcomes()[0]).toMatchObject({ modelResolved: 'gpt-4o', actualCents: expectedCents('gpt-4o', { input: 100, output: 90 }) });
  });
});

describe('Azure deployments named after their models, without a map', () => {
  it.each(['instrumentation', 'wrapper'] as const)('a downgrade goes to the deployment named after the target (%s)', async (mode) => {
    const named = new FakeProvider(createAzureRoutes({ 'gpt-4o': 'gpt-4o', 'gpt-4o-mini': 'gpt-4o-mini' }));
    await named.listen();
    try {
      named.behaviour.usage = USAGE;
      const t = makeGuard([downgradeCap()]);
      const client = guardWith(
        t,
        mode,
        new sdk.AzureOpenAI({ apiKey: 'azure-test-not-a-key', apiVersion: API_VERSION, endpoint: named.url, deployment: 'gpt-4o' }),
        null,
      );
      await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5000 });
      expect(named.requests.map((r) => r.path)).toEqual(['/openai/deployments/gpt-4o-mini/chat/completions']);
      expect(t.decisions()).toMatchObject([{ action: 'downgrade', modelRequested: 'gpt-4o', modelResolved: 'gpt-4o-mini' }]);
    } finally {
      await named.close();
    }
  });
});

describe('parseAzureDeployments', () => {
  it('reads deployment=model pairs', () => {
    expect(parseAzureDeployments('prod-chat=gpt-4o, prod-mini = gpt-4o-mini,')).toEqual({ 'prod-chat': 'gpt-4o', 'prod-mini': 'gpt-4o-mini' });
    expect(parseAzureDeployments('')).toEqual({});
  });

  it.each([
    ['prod-chat', /AGENTGUARD_AZURE_DEPLOYMENTS: entry "prod-chat" has no "="/],
    ['=gpt-4o', /names no deployment/],
    ['prod-chat=', /deployment "prod-chat" names no model/],
    ['a=gpt-4o,a=gpt-4o-mini', /deployment "a" is listed twice/],
  ])('rejects %j naming the entry', (text, message) => {
    expect(() => parseAzureDeployments(text)).toThrow(message);
  });

  it('the instrumentation and the wrapper reject a malformed map', () => {
    expect(() => new OpenAISpendGuardInstrumentation({ enabled: false, azureDeployments: { 'prod-chat': '' } })).toThrow(
      /azureDeployments: deployment "prod-chat" maps to ""/,
    );
    const t = makeGuard([]);
    expect(() => withSpendGuard(azure(), { guard: t.guard, scope: { tenantId: 't1' }, azureDeployments: [] as unknown as AzureDeployments })).toThrow(
      /azureDeployments: expected an object/,
    );
  });
});
