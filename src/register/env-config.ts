import { CAPABILITY_TIERS, type CapabilityTier } from '../engine/capability.js';
import { AgentGuardError } from '../audit/errors.js';
import { loadSigningKeysFromFile, signingKeysFromHex, type SigningKeys } from '../audit/keys.js';
import { shownPath } from '../audit/hex.js';
import { DURABILITIES, type Durability } from '../engine/log-store.js';
import { loadPolicyDocument, type PolicyDocument } from '../engine/policy-file.js';
import { loadPriceFile, type PriceOverrides } from '../engine/price-file.js';
import { mergeAzureDeployments, parseAzureDeployments, type AzureDeployments } from '../../instrumentations/common/azure-deployments.js';
import type { SpendPolicy, SpendScope } from '../engine/policy.js';
import { checkDowngradeTargets, resolvePricing } from '../engine/price-book.js';

/** A configuration problem; the message names the environment variable. */
export class ConfigError extends AgentGuardError {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`agentguard-spend: ${variable}: ${message}`);
    this.variable = variable;
  }
}

/** Provider instrumentations `register` can enable. */
export const INSTRUMENTATION_NAMES = ['openai', 'anthropic', 'bedrock', 'ai-sdk', 'safety-net'] as const;
export type InstrumentationName = (typeof INSTRUMENTATION_NAMES)[number];
/** The provider SDKs among them (each patched by `provider-patches.ts`). */
export type SdkInstrumentationName = Extract<InstrumentationName, 'openai' | 'anthropic' | 'bedrock'>;

/** Everything `register` reads from `AGENTGUARD_*`. */
export interface EnvConfig {
  policies: SpendPolicy[];
  policyPath: string;
  signingKeys: SigningKeys;
  logDir: string;
  /**
   * Stable name of this process's chain (`AGENTGUARD_CHAIN_ID`): the chain is resumed
   * after a restart. Unset: a new fleet-unique chain per process.
   */
  chainId: string | undefined;
  /** Fleet-wide override; undefined keeps each policy's own mode. */
  mode: 'shadow' | 'enforce' | undefined;
  scope: SpendScope;
  capabilityClaim: CapabilityTier | undefined;
  durability: Durability;
  disabledInstrumentations: InstrumentationName[];
  /** `memory`, a SQLite file path, or a `redis://` URL. */
  spendStore: string;
  onUnknownModel: 'block' | 'allow';
  /**
   * The output bound set for a call that sent none when no policy in scope names one
   * (`AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS`; `SpendGuardConfig.defaultMaxOutputTokens`).
   * Undefined: such calls are projected at the model's maximum output.
   */
  defaultMaxOutputTokens: number | undefined;
  /**
   * How long an unsettled reservation is held before it is given back
   * (`AGENTGUARD_RESERVATION_TTL_MS`; `SpendGuardConfig.reservationTtlMs`). Undefined: the guard's default.
   */
  reservationTtlMs: number | undefined;
  /** Price overrides file (`AGENTGUARD_PRICES`, JSON or YAML; watched and reloaded), or undefined. */
  pricesPath: string | undefined;
  /** The overrides read from {@link pricesPath} at start-up. */
  priceOverrides: PriceOverrides | undefined;
  /**
   * Azure deployment name → model at start-up: the policy file's `azureDeployments`, then
   * `AGENTGUARD_AZURE_DEPLOYMENTS=prod-chat=gpt-4o,prod-mini=gpt-4o-mini` (which wins for a
   * name both list). The policy file's part is reloaded with the file: the map in force is
   * `Registration.azureDeployments`.
   */
  azureDeployments: AzureDeployments | undefined;
  /** The policy file's `azureDeployments` at start-up. */
  policyAzureDeployments: AzureDeployments | undefined;
  /** `AGENTGUARD_AZURE_DEPLOYMENTS` (read at start-up). */
  envAzureDeployments: AzureDeployments | undefined;
  /** Opt-out of fail-closed start-up: on bad configuration, warn and run unguarded. */
  failOpen: boolean;
}

type Env = Record<string, string | undefined>;

const SCOPE_ENV: Record<Exclude<keyof SpendScope, 'provider'>, string> = {
  tenantId: 'AGENTGUARD_SCOPE_TENANT_ID',
  teamId: 'AGENTGUARD_SCOPE_TEAM_ID',
  userId: 'AGENTGUARD_SCOPE_USER_ID',
  agentId: 'AGENTGUARD_SCOPE_AGENT_ID',
  taskId: 'AGENTGUARD_SCOPE_TASK_ID',
};

/** Whether `AGENTGUARD_FAIL_OPEN` asks to run unguarded on bad configuration. */
export function failOpenRequested(env: Env = process.env): boolean {
  return parseBool(env, 'AGENTGUARD_FAIL_OPEN', false);
}

/**
 * Reads the configuration from the environment. Throws {@link ConfigError}
 * naming the first missing or bad variable. Key material never appears in an error.
 */
export function configFromEnv(env: Env = process.env): EnvConfig {
  const policyPath = required(env, 'AGENTGUARD_POLICY');
  let document: PolicyDocument;
  try {
    document = loadPolicyDocument(policyPath);
  } catch (err) {
    throw new ConfigError('AGENTGUARD_POLICY', (err as Error).message);
  }
  const { policies } = document;
  const envAzureDeployments = azureDeploymentsFromEnv(env);
  const scope = { tenantId: required(env, SCOPE_ENV.tenantId) } as SpendScope;
  for (const [field, name] of Object.entries(SCOPE_ENV) as [keyof typeof SCOPE_ENV, string][]) {
    const v = env[name];
    if (v) scope[field] = v;
  }
  const capability = env.AGENTGUARD_CAPABILITY || undefined;
  if (capability && !(CAPABILITY_TIERS as readonly string[]).includes(capability)) {
    throw new ConfigError('AGENTGUARD_CAPABILITY', `expected one of ${CAPABILITY_TIERS.join(', ')}, got ${JSON.stringify(capability)}`);
  }
  const disabled = (env.AGENTGUARD_DISABLED_INSTRUMENTATIONS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of disabled) {
    if (!(INSTRUMENTATION_NAMES as readonly string[]).includes(name)) {
      throw new ConfigError(
        'AGENTGUARD_DISABLED_INSTRUMENTATIONS',
        `unknown instrumentation ${JSON.stringify(name)} (known: ${INSTRUMENTATION_NAMES.join(', ')})`,
      );
    }
  }
  const onUnknownModel = oneOf(env, 'AGENTGUARD_ON_UNKNOWN_MODEL', ['block', 'allow'] as const, 'block');
  const prices = pricesFromEnv(env);
  // The price table is built only for a policy that downgrades (its target must have a price).
  if (onUnknownModel === 'block' && policies.some((p) => p.caps.some((cap) => cap.downgradeTo))) {
    // Checked before anything starts (stores, log), as SpendGuard would refuse them; AGENTGUARD_PRICES may price a target.
    try {
      checkDowngradeTargets(policies, resolvePricing(prices.priceOverrides ? { overrides: prices.priceOverrides } : undefined));
    } catch (err) {
      throw new ConfigError('AGENTGUARD_POLICY', `${(err as Error).message} (or AGENTGUARD_ON_UNKNOWN_MODEL=allow)`);
    }
  }
  return {
    policies,
    policyPath,
    signingKeys: signingKeysFromEnv(env),
    logDir: env.AGENTGUARD_LOG_DIR || 'agentguard-logs',
    chainId: chainIdFromEnv(env),
    mode: oneOf(env, 'AGENTGUARD_MODE', ['shadow', 'enforce'] as const, undefined),
    scope,
    capabilityClaim: capability as CapabilityTier | undefined,
    durability: oneOf(env, 'AGENTGUARD_DURABILITY', DURABILITIES, 'write'),
    disabledInstrumentations: disabled as InstrumentationName[],
    spendStore: env.AGENTGUARD_SPEND_STORE || 'memory',
    onUnknownModel,
    defaultMaxOutputTokens: positiveInteger(env, 'AGENTGUARD_DEFAULT_MAX_OUTPUT_TOKENS'),
    reservationTtlMs: positiveInteger(env, 'AGENTGUARD_RESERVATION_TTL_MS'),
    ...prices,
    azureDeployments: mergeAzureDeployments(document.azureDeployments, envAzureDeployments),
    policyAzureDeployments: document.azureDeployments,
    envAzureDeployments,
    failOpen: failOpenRequested(env),
  };
}

function pricesFromEnv(env: Env): { pricesPath: string | undefined; priceOverrides: PriceOverrides | undefined } {
  const path = env.AGENTGUARD_PRICES || undefined;
  if (!path) return { pricesPath: undefined, priceOverrides: undefined };
  try {
    return { pricesPath: path, priceOverrides: loadPriceFile(path) };
  } catch (err) {
    throw new ConfigError('AGENTGUARD_PRICES', (err as Error).message);
  }
}

function azureDeploymentsFromEnv(env: Env): AzureDeployments | undefined {
  const v = env.AGENTGUARD_AZURE_DEPLOYMENTS;
  if (!v) return undefined;
  try {
    return parseAzureDeployments(v);
  } catch (err) {
    throw new ConfigError('AGENTGUARD_AZURE_DEPLOYMENTS', (err as Error).message.replace(/^AGENTGUARD_AZURE_DEPLOYMENTS: /, ''));
  }
}

/** The signing key from `AGENTGUARD_SIGNING_KEY` (hex) or `AGENTGUARD_SIGNING_KEY_FILE`; never generated. */
export function signingKeysFromEnv(env: Env = process.env): SigningKeys {
  const hex = env.AGENTGUARD_SIGNING_KEY;
  const file = env.AGENTGUARD_SIGNING_KEY_FILE;
  if (hex && file) throw new ConfigError('AGENTGUARD_SIGNING_KEY', 'set either AGENTGUARD_SIGNING_KEY or AGENTGUARD_SIGNING_KEY_FILE, not both');
  if (hex) {
    try {
      return signingKeysFromHex(hex);
    } catch (err) {
      throw new ConfigError('AGENTGUARD_SIGNING_KEY', (err as Error).message);
    }
  }
  if (file) {
    try {
      return loadSigningKeysFromFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ConfigError('AGENTGUARD_SIGNING_KEY_FILE', code ? `cannot read ${shownPath(file)} (${code})` : (err as Error).message);
    }
  }
  throw new ConfigError('AGENTGUARD_SIGNING_KEY_FILE', 'not set (or AGENTGUARD_SIGNING_KEY); create a key with `agentguard-spend keygen`');
}

function chainIdFromEnv(env: Env): string | undefined {
  const v = env.AGENTGUARD_CHAIN_ID;
  if (!v) return undefined;
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(v)) throw new ConfigError('AGENTGUARD_CHAIN_ID', `expected 1-200 characters of [A-Za-z0-9_-], got ${JSON.stringify(v)}`);
  return v;
}

function required(env: Env, name: string): string {
  const v = env[name];
  if (!v) throw new ConfigError(name, 'is required but not set');
  return v;
}

function oneOf<T extends string, D extends T | undefined>(env: Env, name: string, allowed: readonly T[], fallback: D): T | D {
  const v = env[name];
  if (!v) return fallback;
  if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

/** A positive decimal integer (no sign, exponent or fraction), or undefined when unset. */
function positiveInteger(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const v = raw.trim();
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new ConfigError(name, `expected a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

function parseBool(env: Env, name: string, fallback: boolean): boolean {
  const v = env[name]?.toLowerCase();
  if (!v) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(env[name])}`);
}
