import { accessSync, constants, mkdirSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import type { SpendGuardInstrumentationConfig } from '../../instrumentations/common/binding.js';
import { ConfigError, configFromEnv, failOpenRequested, type EnvConfig, type InstrumentationName } from './env-config.js';
import { SpendGuard } from '../engine/guard.js';
import { watchPolicyFile, type PolicyWatch } from '../engine/policy-watch.js';
import type { SpendStore } from '../engine/spend-store.js';
import { INSTRUMENTATIONS } from './instrumentations.js';
import { spendStoreFromEnv } from './spend-store.js';
import { createLogStore, logExportFromEnv, type RegisteredLogStore } from './log-export.js';

type Env = Record<string, string | undefined>;

/** What `agentguard-spend/register` set up in this process. */
export interface Registration {
  /** The configuration read from `AGENTGUARD_*`. */
  readonly config: EnvConfig;
  /** The engine every patched provider call goes through. */
  readonly guard: SpendGuard;
  /** The signed decision log: files in `AGENTGUARD_LOG_DIR` and/or OpenTelemetry log records (`AGENTGUARD_LOG_EXPORT`). */
  readonly logStore: RegisteredLogStore;
  readonly spendStore: SpendStore;
  /** The provider instrumentations enabled, by name. */
  readonly instrumentations: readonly InstrumentationName[];
  /** Whether register installed the AsyncLocalStorage context manager (false: the app had one). */
  readonly contextManagerInstalled: boolean;
  /** Whether the ESM import hook (import-in-the-middle, provider packages only) was registered. */
  readonly esmHookRegistered: boolean;
  /** The policy file watch (hot reload). */
  readonly policyWatch: PolicyWatch;
  /**
   * Stops the policy watch, flushes and closes the decision log and the spend
   * store. Idempotent; register calls it on `beforeExit`, SIGTERM and SIGINT.
   */
  shutdown(): Promise<void>;
}

/** Exit code when the configuration is bad in enforce mode (`EX_CONFIG` of sysexits.h). */
export const EXIT_CONFIG = 78;

/** How {@link setupFromEnv} reports; the defaults write one line to stderr. */
export interface SetupHooks {
  warn?: (line: string) => void;
}

/**
 * Reads `AGENTGUARD_*`, builds the {@link SpendGuard} (file decision log, spend
 * store, policy hot reload), installs a context manager if the app has none,
 * registers the ESM import hook for the provider packages and enables the
 * provider instrumentations. Everything that can fail on configuration is done
 * before anything is enabled, so a {@link ConfigError} leaves the process untouched.
 * @throws ConfigError naming the variable.
 */
export function setupFromEnv(env: Env = process.env, hooks: SetupHooks = {}): Registration {
  const warn = hooks.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  const config = configFromEnv(env);
  const logExport = logExportFromEnv(env);
  if (logExport !== 'otel') ensureWritableDir(config.logDir);
  const spendStore = spendStoreFromEnv(config.spendStore);
  const enabled = (Object.keys(INSTRUMENTATIONS) as InstrumentationName[]).filter((n) => !config.disabledInstrumentations.includes(n));

  // Nothing below fails on configuration.
  const logStore = createLogStore(config, logExport, (line) => warn(oneLine(line)));
  const guard = new SpendGuard({
    policies: config.policies,
    signingKeys: config.signingKeys,
    logStore,
    spendStore,
    onUnknownModel: config.onUnknownModel,
    ...(config.mode === 'shadow' ? { modeOverride: 'shadow' as const } : {}),
  });

  const contextManager = new AsyncLocalStorageContextManager();
  const contextManagerInstalled = context.setGlobalContextManager(contextManager.enable());
  if (!contextManagerInstalled) contextManager.disable();

  const esmHookRegistered = registerEsmHook(enabled.map((n) => INSTRUMENTATIONS[n]!.module));
  const instrumentationConfig: SpendGuardInstrumentationConfig = {
    guard,
    scope: config.scope,
    ...(config.capabilityClaim ? { capabilityClaim: config.capabilityClaim } : {}),
  };
  const instrumentations: Instrumentation[] = enabled.map((n) => INSTRUMENTATIONS[n]!.create(instrumentationConfig));
  registerInstrumentations({ instrumentations });

  const policyWatch = watchPolicyFile(config.policyPath, guard, {
    onError: (err) => warn(oneLine(`agentguard-spend: AGENTGUARD_POLICY: reload of ${config.policyPath} rejected, the policies in force stay: ${err.message}`)),
  });

  let closing: Promise<void> | null = null;
  const shutdown = (): Promise<void> =>
    (closing ??= (async () => {
      policyWatch.close();
      try {
        await logStore.close();
      } catch (err) {
        warn(oneLine(`agentguard-spend: ${logExport === 'otel' ? 'AGENTGUARD_LOG_EXPORT' : 'AGENTGUARD_LOG_DIR'}: closing the decision log failed: ${(err as Error).message}`));
      }
      await spendStore.close?.().catch(() => undefined);
    })());

  return { config, guard, logStore, spendStore, instrumentations: enabled, contextManagerInstalled, esmHookRegistered, policyWatch, shutdown };
}

/**
 * Registers import-in-the-middle's loader hook (through
 * `@opentelemetry/instrumentation/hook.mjs`) for `modules` only, so that ESM
 * imports of the provider packages can be patched and nothing else is wrapped.
 */
function registerEsmHook(modules: string[]): boolean {
  if (modules.length === 0 || typeof nodeModule.register !== 'function') return false;
  nodeModule.register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: modules } });
  return true;
}

function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError('AGENTGUARD_LOG_DIR', `${dir} is not a writable directory${code ? ` (${code})` : ''}`);
  }
}

/** Collapses a message to one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** What the register entry does when {@link setupFromEnv} fails. */
export type StartupFailure = { action: 'exit'; line: string } | { action: 'unguarded'; line: string };

/**
 * Fail closed by default: bad configuration stops the app (exit 78) rather
 * than letting it run unguarded. Two exceptions, each with a one-line warning:
 * `AGENTGUARD_FAIL_OPEN=true`, and `AGENTGUARD_MODE=shadow` (shadow never
 * changes a call, so it must never stop a fleet either).
 */
export function startupFailure(err: unknown, env: Env = process.env): StartupFailure {
  const message = oneLine(err instanceof ConfigError ? err.message : `agentguard-spend: startup failed: ${(err as Error)?.message ?? String(err)}`);
  if (env.AGENTGUARD_MODE === 'shadow') return { action: 'unguarded', line: `${message} (AGENTGUARD_MODE=shadow: running unguarded)` };
  let failOpen = false;
  try {
    failOpen = failOpenRequested(env);
  } catch {
    // A bad AGENTGUARD_FAIL_OPEN is not an opt-out.
  }
  if (failOpen) return { action: 'unguarded', line: `${message} (AGENTGUARD_FAIL_OPEN=true: running unguarded)` };
  return { action: 'exit', line: `${message} (not starting unguarded: exit ${EXIT_CONFIG}; AGENTGUARD_FAIL_OPEN=true runs unguarded instead)` };
}
