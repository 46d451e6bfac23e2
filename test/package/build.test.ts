import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// These run the built package (`npm test` builds it first) in child Node processes,
// resolving it by name (`agentguard-spend/...`) as an application would.
const root = fileURLToPath(new URL('../../', import.meta.url));
const node = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
const pkg = JSON.parse(readFileSync(root + 'package.json', 'utf8')) as { exports: Record<string, unknown>; files: string[] };

/**
 * The public API, entry by entry: runtime values and type-only names. This is
 * the documented list; anything exported beyond it (or missing from it) fails.
 */
const API: Record<string, { dist: string; values: string[]; types: string[] }> = {
  'agentguard-spend': {
    dist: 'index',
    values: [
      'agentGuardBlockOf',
      'isAgentGuardBlock',
      'AgentGuardBlockedError',
      'AgentGuardError',
      'CanonicalizationError',
      'ClampNotAppliedError',
      'InMemoryDecisionLogStore',
      'InMemorySpendStore',
      'PolicyValidationError',
      'SpendGuard',
      'SpendStoreError',
      'generateKeypair',
      'loadPolicyDocument',
      'loadPolicyFile',
      'loadSigningKeysFromFile',
      'parsePolicies',
      'parsePolicy',
      'publicKeyFromHex',
      'signingKeysFromHex',
      'signingKeysToHex',
      'watchPolicyFile',
    ],
    types: [
      'CallRequest',
      'CapAction',
      'CapabilityTier',
      'DecideResult',
      'DecisionLogEntry',
      'EnforcementMode',
      'InMemoryDecisionLogStoreOptions',
      'ModelPriceUsd',
      'OutcomeOptions',
      'PolicyDocument',
      'PolicyWatch',
      'PolicyWatchOptions',
      'PriceTable',
      'PricingConfig',
      'ReleaseReason',
      'ScopeField',
      'SignerBackend',
      'SignerChangeDecision',
      'SigningKeys',
      'SpendAction',
      'SpendCap',
      'SpendDecision',
      'SpendGuardConfig',
      'SpendMetricsOptions',
      'SpendPolicy',
      'SpendScope',
      'SpendWindow',
      'TokenRates',
      'TriggeredCap',
      'UsageTokens',
    ],
  },
  'agentguard-spend/audit': {
    dist: 'audit',
    values: [
      'ChainVerifier',
      'CheckpointError',
      'LogLineError',
      'chainIdOf',
      'checkpointFromAttributes',
      'checkpointSpanEvents',
      'createCheckpoint',
      'parseLogLine',
      'verifyChain',
      'verifyCheckpointSignature',
      'verifyDecisionLog',
    ],
    types: [
      'ChainFileVerification',
      'ChainVerification',
      'ChainVerificationFailure',
      'Checkpoint',
      'CheckpointSpanEventsOptions',
      'DecisionLogEntry',
      'LogLineErrorCode',
      'LogVerification',
      'VerifyFailureReason',
      'VerifyLogOptions',
      'VerifyOptions',
      'VerifyProgress',
    ],
  },
  'agentguard-spend/stores': {
    dist: 'stores',
    values: [
      'ChainLockedError',
      'ChainSignerMismatchError',
      'FileDecisionLogStore',
      'InMemoryDecisionLogStore',
      'InMemorySpendStore',
      'OtelLogRecordStore',
      'RedisSpendStore',
      'SqliteSpendStore',
      'TENANT_HASH_TAG',
      'assertChainSignerSync',
      'readChainSignerSync',
      'readDecisionLog',
      'spendStoreFromUrl',
    ],
    types: [
      'ChainHead',
      'ChainLockOwner',
      'ChainSigner',
      'ChainSource',
      'CheckpointOptions',
      'CheckpointProblem',
      'DecisionLogStore',
      'DecisionLogWarning',
      'Durability',
      'FileDecisionLogStoreOptions',
      'OtelLogRecordStoreOptions',
      'RedisHashTag',
      'RedisScriptClient',
      'RedisSpendStoreOptions',
      'ReserveRequest',
      'ReserveResult',
      'SettleRequest',
      'Signer',
      'SpendStore',
      'SqliteSpendStoreOptions',
      'WindowHold',
    ],
  },
  'agentguard-spend/instrumentations/openai': {
    dist: 'instrumentations/openai/index',
    values: ['NoAzureDeploymentError', 'OpenAISpendGuardInstrumentation', 'parseAzureDeployments', 'withSpendGuard', 'withSpendScope'],
    types: [
      'AzureDeployments',
      'OpenAISpendGuardInstrumentationConfig',
      'OpenAISpendGuardWrapperOptions',
      'SpendCallOverrides',
      'SpendGuardInstrumentationConfig',
      'SpendGuardWrapperOptions',
    ],
  },
  'agentguard-spend/instrumentations/anthropic': {
    dist: 'instrumentations/anthropic/index',
    values: ['AnthropicSpendGuardInstrumentation', 'withAnthropicSpendGuard', 'withSpendScope'],
    types: ['SpendCallOverrides', 'SpendGuardInstrumentationConfig', 'SpendGuardWrapperOptions'],
  },
  'agentguard-spend/instrumentations/bedrock': {
    dist: 'instrumentations/bedrock/index',
    values: ['BedrockSpendGuardInstrumentation', 'withBedrockSpendGuard', 'withSpendScope'],
    types: ['BedrockSendOptions', 'SpendCallOverrides', 'SpendGuardInstrumentationConfig', 'SpendGuardWrapperOptions'],
  },
  'agentguard-spend/instrumentations/ai-sdk': {
    dist: 'instrumentations/ai-sdk/index',
    values: ['AiSdkSpendGuardInstrumentation', 'NoAzureDeploymentError', 'spendGuardMiddleware', 'withSpendScope'],
    types: [
      'AiSdkInstrumentationConfig',
      'AzureDeployments',
      'SpendCallOverrides',
      'SpendGuardInstrumentationConfig',
      'SpendGuardLanguageModelMiddleware',
      'SpendGuardMiddlewareOptions',
      'SpendGuardWrapperOptions',
    ],
  },
  'agentguard-spend/register': { dist: 'register-main', values: ['EXIT_CONFIG', 'registration'], types: ['Registration'] },
};
const specifiers = Object.keys(API);

/** Names exported by a bundled declaration file (`export { a as B, type C }` statements). */
const declaredNames = (file: string) =>
  [...readFileSync(root + file, 'utf8').matchAll(/^export\s*\{([^}]*)\}/gm)].flatMap((m) =>
    m[1]!
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) =>
        s
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)
          .pop()!,
      ),
  );

/** Runs `script` as CommonJS or ESM, with `load(specifier)` resolving the package by name. */
const runAs = (format: 'cjs' | 'esm', script: string, env: NodeJS.ProcessEnv = {}) =>
  format === 'cjs'
    ? node(['-e', `const load = async (s) => require(s); (async () => { ${script} })();`], env)
    : node(['--input-type=module', '-e', `const load = (s) => import(s); ${script}`], env);

describe.each(['cjs', 'esm'] as const)('built package, %s', (format) => {
  it('every entry exports exactly its documented values', () => {
    const out = runAs(
      format,
      `const keys = {};
       for (const s of ${JSON.stringify(specifiers)}) keys[s] = Object.keys(await load(s)).filter((k) => k !== 'default' && k !== 'module.exports').sort();
       console.log(JSON.stringify(keys));`,
      { AGENTGUARD_FAIL_OPEN: 'true', AGENTGUARD_POLICY: '' },
    );
    const keys = JSON.parse(out) as Record<string, string[]>;
    for (const s of specifiers) expect(keys[s], s).toEqual([...API[s]!.values].sort());
  });

  it('a guard from the root works with every provider entry: a blocked call throws the root AgentGuardBlockedError; errors share one class tree', () => {
    const out = runAs(
      format,
      `const ag = await load('agentguard-spend');
       const audit = await load('agentguard-spend/audit');
       const stores = await load('agentguard-spend/stores');
       const { withSpendGuard } = await load('agentguard-spend/instrumentations/openai');
       const { withAnthropicSpendGuard } = await load('agentguard-spend/instrumentations/anthropic');
       const { withBedrockSpendGuard } = await load('agentguard-spend/instrumentations/bedrock');
       const { OpenAI } = await load('openai');
       const { Anthropic } = await load('@anthropic-ai/sdk');
       const { BedrockRuntimeClient, ConverseCommand } = await load('@aws-sdk/client-bedrock-runtime');

       const keys = ag.generateKeypair();
       const log = new stores.InMemoryDecisionLogStore();
       const policy = ag.parsePolicy({ id: 'p', name: 'p', scope: { tenantId: 't' }, mode: 'enforce', version: 1, effectiveFrom: '2026-01-01T00:00:00Z',
         caps: [{ amountCents: 1, window: 'per_call', action: 'block', reason: 'one cent a call' }] });
       const guard = new ag.SpendGuard({ policy, signingKeys: keys, logStore: log });
       const opts = { guard, scope: { tenantId: 't' } };
       // Nothing listens on port 9: a call that got past the guard would fail with a connection error instead.
       const caught = async (f) => { try { await f(); return null; } catch (e) { return e; } };
       const errors = {
         openai: await caught(() => withSpendGuard(new OpenAI({ baseURL: 'http://127.0.0.1:9/v1', apiKey: 'k', maxRetries: 0 }), opts)
           .chat.completions.create({ model: 'gpt-4o', max_tokens: 100000, messages: [{ role: 'user', content: 'x' }] })),
         anthropic: await caught(() => withAnthropicSpendGuard(new Anthropic({ baseURL: 'http://127.0.0.1:9', apiKey: 'k', maxRetries: 0 }), opts)
           .messages.create({ model: 'claude-3-5-haiku-20241022', max_tokens: 100000, messages: [{ role: 'user', content: 'x' }] })),
         bedrock: await caught(() => withBedrockSpendGuard(new BedrockRuntimeClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'k', secretAccessKey: 'k' }, maxAttempts: 1 }), opts)
           .send(new ConverseCommand({ modelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0', messages: [{ role: 'user', content: [{ text: 'x' }] }], inferenceConfig: { maxTokens: 100000 } }))),
       };
       const storeError = await caught(() => stores.spendStoreFromUrl('bogus://x'));
       const lineError = await caught(() => audit.parseLogLine('not json'));
       console.log(JSON.stringify({
         blocked: Object.fromEntries(Object.entries(errors).map(([k, e]) => [k, [e instanceof ag.AgentGuardBlockedError, e instanceof ag.AgentGuardError, e?.name]])),
         storeError: [storeError instanceof ag.SpendStoreError, storeError instanceof ag.AgentGuardError],
         lineError: [lineError instanceof audit.LogLineError, lineError instanceof ag.AgentGuardError],
         actions: log.entries().map((e) => e.decision.action),
         verified: audit.verifyChain(log.entries(), keys.publicKey),
         costBasis: guard.costBasis,
       }));`,
    );
    const result = JSON.parse(out);
    const blocked = [true, true, 'AgentGuardBlockedError'];
    expect(result).toEqual({
      blocked: { openai: blocked, anthropic: blocked, bedrock: blocked },
      storeError: [true, true],
      lineError: [true, true],
      actions: ['block', 'block', 'block'],
      verified: { ok: true, count: 3 },
      costBasis: expect.stringMatching(/^@pydantic\/genai-prices@\d+\.\d+\.\d+/),
    });
  });
});

describe('built package', () => {
  it('package.json "exports" is exactly the documented entries, each built with ESM, CommonJS and types', () => {
    expect(Object.keys(pkg.exports)).toEqual([...specifiers.map((s) => s.replace(/^agentguard-spend/, '.')), './package.json']);
    for (const { dist } of Object.values(API)) {
      for (const ext of ['.js', '.cjs', '.d.ts', '.d.cts']) expect(existsSync(`${root}dist/${dist}${ext}`), dist + ext).toBe(true);
    }
  });

  it('every entry declares exactly its documented values and types (ESM and CommonJS declarations)', () => {
    for (const { dist, values, types } of Object.values(API)) {
      for (const ext of ['.d.ts', '.d.cts']) expect(declaredNames(`dist/${dist}${ext}`).sort(), dist + ext).toEqual([...values, ...types].sort());
    }
  });

  it('"agentguard-spend" resolves to the CommonJS build for require and the ESM build for import', () => {
    expect(node(['-e', `console.log(require.resolve('agentguard-spend'))`]).trim()).toBe(root + 'dist/index.cjs');
    expect(node(['--input-type=module', '-e', `console.log(import.meta.resolve('agentguard-spend'))`]).trim()).toBe(`file://${root}dist/index.js`);
  });

  it('the test double and the internal builds are not reachable by name', () => {
    for (const s of ['agentguard-spend/fake-provider', 'agentguard-spend/exporters', 'agentguard-spend/dist/internal/fake-provider.js']) {
      expect(() => node(['-e', `require.resolve(${JSON.stringify(s)})`]), s).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
    }
  });

  it('the packed tarball leaves out dist/internal and the repository tools', () => {
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' })) as [
      { files: { path: string }[] },
    ];
    const files = packed.files.map((f) => f.path);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/register.cjs');
    expect(files).toContain('CHANGELOG.md');
    expect(files.filter((f) => /^dist\/internal\/|^examples\/|^fake-provider\/|compute_expected/.test(f))).toEqual([]);
  });

  it('"sideEffects" keeps the register preloads (and the CLI) from being dropped by a bundler', () => {
    const { sideEffects } = pkg as unknown as { sideEffects: string[] };
    for (const f of ['./dist/register.js', './dist/register.cjs', './dist/register-main.js', './dist/register-main.cjs']) expect(sideEffects, f).toContain(f);
  });

  it('examples/core-quickstart.mjs (the README example) runs', () => {
    const lines = node(['examples/core-quickstart.mjs']).trim().split('\n');
    // 1200 in × $2.50/M + 800 out × $10/M = 1.1c → 2c; actual 156 × $2.50 + 1024 × $1.25 + 312 × $10 (per M) = 0.479c → 1c.
    expect(lines).toEqual(['allow gpt-4o 2c reserved', 'actual 1c', '{ ok: true, count: 2 }']);
  });

  it('the README shows that same example, verbatim', () => {
    const readme = readFileSync(root + 'README.md', 'utf8');
    const example = readFileSync(root + 'examples/core-quickstart.mjs', 'utf8')
      .split('\n')
      .slice(1)
      .join('\n');
    // The js block that follows the README's pointer to examples/core-quickstart.mjs.
    const block = readme.split('(`examples/core-quickstart.mjs`, runs offline):\n\n```js\n')[1]!.split('```')[0]!;
    expect(block).toBe(example);
    expect(block.split('\n').filter(Boolean).length).toBeLessThanOrEqual(20);
  });
});
