import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeypair, loadPolicyFile, PolicyValidationError, signingKeysToHex } from '../../src/index.js';
import { ConfigError, configFromEnv } from '../../src/register/env-config.js';

const policy = {
  id: 'tenant-daily',
  name: 'Tenant daily',
  scope: { tenantId: 'acme' },
  mode: 'enforce',
  version: 3,
  effectiveFrom: '2026-01-01T00:00:00Z',
  caps: [{ amountCents: 500, window: 'per_day', action: 'block', reason: 'daily budget' }],
};

let dir: string;
let keyHex: string;
let keyFile: string;
let policyJson: string;
let policyYaml: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'agentguard-config-'));
  keyHex = signingKeysToHex(generateKeypair()).privateKeyHex;
  keyFile = join(dir, 'signing.key');
  writeFileSync(keyFile, `${keyHex}\n`, { mode: 0o600 });
  policyJson = join(dir, 'policy.json');
  writeFileSync(policyJson, JSON.stringify(policy));
  policyYaml = join(dir, 'policy.yaml');
  writeFileSync(
    policyYaml,
    `- id: tenant-daily\n  name: Tenant daily\n  scope: { tenantId: acme }\n  mode: shadow\n  version: 1\n  effectiveFrom: "2026-01-01T00:00:00Z"\n  caps:\n    - { amountCents: 100, window: per_hour, action: downgrade, downgradeTo: gpt-4o-mini, reason: hourly }\n`,
  );
});

const base = () => ({ AGENTGUARD_POLICY: policyJson, AGENTGUARD_SIGNING_KEY_FILE: keyFile, AGENTGUARD_SCOPE_TENANT_ID: 'acme' });

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('configFromEnv', () => {
  it('reads a complete configuration with documented defaults', () => {
    const cfg = configFromEnv({ ...base(), AGENTGUARD_SCOPE_AGENT_ID: 'agent-7', AGENTGUARD_CAPABILITY: 'data_write' });
    expect(cfg.policies.map((p) => p.id)).toEqual(['tenant-daily']);
    expect(cfg.scope).toEqual({ tenantId: 'acme', agentId: 'agent-7' });
    expect(cfg.capabilityClaim).toBe('data_write');
    expect(cfg.durability).toBe('write');
    expect(cfg.mode).toBeUndefined();
    expect(cfg.logDir).toBe('agentguard-logs');
    expect(cfg.chainId).toBeUndefined();
    expect(cfg.spendStore).toBe('memory');
    expect(cfg.onUnknownModel).toBe('block');
    expect(cfg.failOpen).toBe(false);
    expect(cfg.defaultMaxOutputTokens).toBeUndefined();
    expect(cfg.reservationTtlMs).toBeUndefined();
    expect(signingKeysToHex(cfg.signingKeys).privateKeyHex).toBe(keyHex);
  });

  it('loads YAML policy lists and the hex key variable', () => {
    const cfg = configFromEnv({
      ...base(),
      AGENTGUARD_POLICY: policyYaml,
      AGENTGUARD_SIGNING_KEY_FILE: undefined,
      AGENTGUARD_SIGNING_KEY: keyHex,
      AGENTGUARD_MODE: 'shadow',
    });
    expect(cfg.policies[0]!.caps[0]!.downgradeTo).toBe('gpt-4o-mini');
    expect(cfg.mode).toBe('shadow');
  });

  it('reads a stable chain id', () => {
    expect(configFromEnv({ ...base(), AGENTGUARD_CHAIN_ID: 'web-1_a' }).chainId).toBe('web-1_a');
  });

  it('reads the default output bound and the reservation lifetime as positive integers', () => {
    const cfg = configFromEnv({ ...base(), AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS: '4096', AGENTGUARD_RESERVATION_TTL_MS: ' 60000 ' });
    expect(cfg.defaultMaxOutputTokens).toBe(4096);
    expect(cfg.reservationTtlMs).toBe(60_000);
  });

  it.each([
    [{ AGENTGUARD_POLICY: undefined }, 'AGENTGUARD_POLICY', /required/],
    [{ AGENTGUARD_POLICY: '/nonexistent/policy.json' }, 'AGENTGUARD_POLICY', /ENOENT/],
    [{ AGENTGUARD_SCOPE_TENANT_ID: '' }, 'AGENTGUARD_SCOPE_TENANT_ID', /required/],
    [{ AGENTGUARD_SIGNING_KEY_FILE: undefined }, 'AGENTGUARD_SIGNING_KEY_FILE', /keygen/],
    [{ AGENTGUARD_SIGNING_KEY: 'abcd' }, 'AGENTGUARD_SIGNING_KEY', /not both/],
    [{ AGENTGUARD_SIGNING_KEY_FILE: '/nonexistent/key' }, 'AGENTGUARD_SIGNING_KEY_FILE', /ENOENT/],
    [{ AGENTGUARD_MODE: 'enforcing' }, 'AGENTGUARD_MODE', /shadow, enforce/],
    [{ AGENTGUARD_DURABILITY: 'sometimes' }, 'AGENTGUARD_DURABILITY', /batch, write, fsync/],
    [{ AGENTGUARD_DISABLED_INSTRUMENTATIONS: 'openai,gemini' }, 'AGENTGUARD_DISABLED_INSTRUMENTATIONS', /gemini/],
    [{ AGENTGUARD_CAPABILITY: 'root' }, 'AGENTGUARD_CAPABILITY', /read_only/],
    [{ AGENTGUARD_FAIL_OPEN: 'maybe' }, 'AGENTGUARD_FAIL_OPEN', /true or false/],
    [{ AGENTGUARD_CHAIN_ID: 'pod/7' }, 'AGENTGUARD_CHAIN_ID', /A-Za-z0-9_-/],
    [{ AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS: '0' }, 'AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS', /positive integer, got "0"/],
    [{ AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS: '1.5' }, 'AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS', /positive integer, got "1.5"/],
    [{ AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS: '1e3' }, 'AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS', /positive integer/],
    [{ AGENTGUARD_RESERVATION_TTL_MS: '-5' }, 'AGENTGUARD_RESERVATION_TTL_MS', /positive integer, got "-5"/],
    [{ AGENTGUARD_RESERVATION_TTL_MS: '15m' }, 'AGENTGUARD_RESERVATION_TTL_MS', /positive integer/],
    [{ AGENTGUARD_RESERVATION_TTL_MS: '99999999999999999999' }, 'AGENTGUARD_RESERVATION_TTL_MS', /positive integer/],
  ])('names the bad variable: %j', (override, variable, message) => {
    const err = errorOf(() => configFromEnv({ ...base(), ...override }));
    expect(err.variable).toBe(variable);
    expect(err.message).toContain(variable);
    expect(err.message).toMatch(message);
  });

  it('never echoes key material in an error', () => {
    const bad = `${keyHex.slice(0, 60)}zz`;
    const err = errorOf(() => configFromEnv({ ...base(), AGENTGUARD_SIGNING_KEY_FILE: undefined, AGENTGUARD_SIGNING_KEY: bad }));
    expect(err.message).not.toContain(bad.slice(0, 16));
  });
});

describe('loadPolicyFile', () => {
  it('names the file and the field of an invalid policy', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...policy, caps: [{ ...policy.caps[0], window: 'per_week' }] }));
    expect(() => loadPolicyFile(file)).toThrow(PolicyValidationError);
    expect(() => loadPolicyFile(file)).toThrow(/caps\[0\]\.window.*per_week.*bad\.json/);
  });

  it('reports unparsable YAML with the file name', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'id: [unclosed\n');
    expect(() => loadPolicyFile(file)).toThrow(/bad\.yaml is not valid YAML/);
  });
});

describe('configFromEnv: prices and Azure deployments', () => {
  it('AGENTGUARD_PRICES: read and validated at start-up; a bad file names the variable and the field', () => {
    const prices = join(dir, 'prices.json');
    writeFileSync(prices, JSON.stringify({ openai: { 'prod-chat': { inputPerMTok: 2.5, outputPerMTok: 10 } } }));
    const cfg = configFromEnv({ ...base(), AGENTGUARD_PRICES: prices });
    expect(cfg.pricesPath).toBe(prices);
    expect(cfg.priceOverrides).toEqual({ openai: { 'prod-chat': { inputPerMTok: 2.5, outputPerMTok: 10 } } });
    writeFileSync(prices, JSON.stringify({ openai: { 'prod-chat': { inputPerMTok: 2.5, outputPerMTok: 'ten' } } }));
    const err = errorOf(() => configFromEnv({ ...base(), AGENTGUARD_PRICES: prices }));
    expect(err.variable).toBe('AGENTGUARD_PRICES');
    expect(err.message).toContain('openai.prod-chat.outputPerMTok');
  });

  it('a downgrade target without a price stops start-up unless AGENTGUARD_PRICES prices it', () => {
    const gateway = join(dir, 'gateway-policy.json');
    const caps = [{ amountCents: 10, window: 'per_call', action: 'downgrade', downgradeTo: 'small-model', reason: 'cheap' }];
    writeFileSync(gateway, JSON.stringify({ ...policy, scope: { tenantId: 'acme', provider: 'acme-llm' }, caps }));
    const err = errorOf(() => configFromEnv({ ...base(), AGENTGUARD_POLICY: gateway }));
    expect(err.variable).toBe('AGENTGUARD_POLICY');
    expect(err.message).toMatch(/"small-model", which has no price for provider acme-llm/);
    const prices = join(dir, 'gateway-prices.json');
    writeFileSync(prices, JSON.stringify({ 'acme-llm': { 'small-model': { inputPerMTok: 0.1, outputPerMTok: 0.4 } } }));
    expect(configFromEnv({ ...base(), AGENTGUARD_POLICY: gateway, AGENTGUARD_PRICES: prices }).policies[0]!.caps[0]!.downgradeTo).toBe('small-model');
  });

  it('AGENTGUARD_AZURE_DEPLOYMENTS: deployment=model pairs; a malformed entry names the variable', () => {
    expect(configFromEnv({ ...base(), AGENTGUARD_AZURE_DEPLOYMENTS: 'prod-chat=gpt-4o, prod-mini=gpt-4o-mini' }).azureDeployments).toEqual({
      'prod-chat': 'gpt-4o',
      'prod-mini': 'gpt-4o-mini',
    });
    expect(configFromEnv(base()).azureDeployments).toBeUndefined();
    const err = errorOf(() => configFromEnv({ ...base(), AGENTGUARD_AZURE_DEPLOYMENTS: 'prod-chat' }));
    expect(err.variable).toBe('AGENTGUARD_AZURE_DEPLOYMENTS');
    expect(err.message).toMatch(/^agentguard-spend: AGENTGUARD_AZURE_DEPLOYMENTS: entry "prod-chat" has no "="/);
  });

  it('a policy document may carry azureDeployments; AGENTGUARD_AZURE_DEPLOYMENTS wins for a name both list', () => {
    const doc = join(dir, 'policy-document.json');
    writeFileSync(doc, JSON.stringify({ policies: [policy], azureDeployments: { 'prod-chat': 'gpt-4o', 'prod-mini': 'gpt-4o-mini' } }));
    const config = configFromEnv({ ...base(), AGENTGUARD_POLICY: doc });
    expect(config.policies.map((p) => p.id)).toEqual(['tenant-daily']);
    expect(config.azureDeployments).toEqual({ 'prod-chat': 'gpt-4o', 'prod-mini': 'gpt-4o-mini' });
    const both = configFromEnv({ ...base(), AGENTGUARD_POLICY: doc, AGENTGUARD_AZURE_DEPLOYMENTS: 'prod-chat=gpt-4.1,eu-chat=gpt-4o' });
    expect(both.azureDeployments).toEqual({
      'prod-chat': 'gpt-4.1',
      'prod-mini': 'gpt-4o-mini',
      'eu-chat': 'gpt-4o',
    });
    // Kept apart too: a reload of the file merges its new map under the environment's again.
    expect(both.policyAzureDeployments).toEqual({ 'prod-chat': 'gpt-4o', 'prod-mini': 'gpt-4o-mini' });
    expect(both.envAzureDeployments).toEqual({ 'prod-chat': 'gpt-4.1', 'eu-chat': 'gpt-4o' });
    // The same file is what the policy watch reloads.
    expect(loadPolicyFile(doc).map((p) => p.id)).toEqual(['tenant-daily']);
    const single = join(dir, 'policy-document-single.json');
    writeFileSync(single, JSON.stringify({ policies: policy }));
    expect(configFromEnv({ ...base(), AGENTGUARD_POLICY: single }).azureDeployments).toBeUndefined();
  });

  it.each([
    [
      'an unknown key',
      { policies: [policy], azureDeployment: {} },
      /^agentguard-spend: AGENTGUARD_POLICY: invalid policy: azureDeployment: unknown key of a policy document \(expected policies, azureDeployments\) \(in /,
    ],
    [
      'a list of deployments',
      { policies: [policy], azureDeployments: ['prod-chat'] },
      /invalid policy: azureDeployments: expected an object of deployment name → model name, got an array/,
    ],
    [
      'a deployment without a model',
      { policies: [policy], azureDeployments: { 'prod-chat': '' } },
      /invalid policy: azureDeployments: deployment "prod-chat" maps to "", expected a model name/,
    ],
    ['a bad policy inside', { policies: [{ ...policy, version: 0 }] }, /invalid policy: \[0\]\.version|invalid policy: version/],
  ])('a policy document with %s names the field', (_name, doc, message) => {
    const file = join(dir, 'bad-document.json');
    writeFileSync(file, JSON.stringify(doc));
    const err = errorOf(() => configFromEnv({ ...base(), AGENTGUARD_POLICY: file }));
    expect(err.variable).toBe('AGENTGUARD_POLICY');
    expect(err.message).toMatch(message);
    expect(err.message).toContain(file);
  });
});

describe('configFromEnv never echoes a key put where a file path was expected', () => {
  // Fixed seeds, so each spelling is tested on known bytes (whose base64 forms were checked by eye).
  const SEEDS = ['9f3c2a7b41d8e605f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f701', '00ffa1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9d0e1f2a3b4'];
  let turn = 0;
  const seed = () => SEEDS[turn++ % SEEDS.length]!;
  const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
  const b64url = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');
  const forms: [string, (s: string) => string][] = [
    ['a seed with a trailing dot', (s) => `${s}.`],
    ['NAME=<seed>', (s) => `AGENTGUARD_SIGNING_KEY=${s}`],
    ['0x<seed> in quotes', (s) => `"0x${s}"`],
    ['the seed in base64', (s) => b64(s)],
    ['the seed in base64url', (s) => b64url(s)],
    ['half the seed', (s) => s.slice(0, 32)],
  ];
  for (const [name, spell] of forms) {
    it(`${name}: in AGENTGUARD_SIGNING_KEY_FILE, AGENTGUARD_POLICY, AGENTGUARD_PRICES`, () => {
      const s = seed();
      const value = spell(s);
      for (const variable of ['AGENTGUARD_SIGNING_KEY_FILE', 'AGENTGUARD_POLICY', 'AGENTGUARD_PRICES']) {
        const err = errorOf(() => configFromEnv({ ...base(), [variable]: value }));
        expect(err.variable).toBe(variable);
        expect(err.message).toContain('not shown');
        for (const secret of [value, s, s.slice(0, 32), s.slice(32), b64(s).slice(0, 40), b64url(s).slice(0, 40)]) expect(err.message).not.toContain(secret);
      }
    });
  }

  it('ordinary missing paths are still named', () => {
    for (const path of [
      '/etc/agentguard/missing.key',
      '/tmp/agentguard-audit-cli-EEswnr/missing.key',
      '/var/lib/agentguard/keys/prod-eu-west-1/signing_key_2026-11.key',
    ]) {
      const err = errorOf(() => configFromEnv({ ...base(), AGENTGUARD_SIGNING_KEY_FILE: path }));
      expect(err.message).toContain(path);
    }
  });
});
