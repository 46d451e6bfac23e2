import diagnosticsChannel from 'node:diagnostics_channel';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Tracer } from '@opentelemetry/api';
import type { SpendGuard } from '../engine/guard.js';
import type { PolicyWatch } from '../engine/policy-watch.js';
import type { SpendStore } from '../engine/spend-store.js';
import type * as EngineModule from './engine.js';
import { AI_SDK_PROVIDER_MODULES } from '../../instrumentations/ai-sdk/prototypes.js';
import { patchAiSdkForRegister, type AiSdkTarget } from './ai-sdk.js';
import { shownPath } from '../audit/hex.js';
import { ConfigError, configFromEnv, failOpenRequested, type EnvConfig, type InstrumentationName, type SdkInstrumentationName } from './env-config.js';
import { INSTRUMENTATIONS } from './instrumentations.js';
import { logExportFromEnv, type RegisteredLogStore } from './log-export.js';
import { installModuleHooks } from './module-hooks.js';
import { patchProvider, type InstrumentationLike } from './provider-patches.js';
import { installStartNet, NET_BUILTINS, safetyNetSettingsFromEnv, UNDICI_PACKAGE } from './safety-net.js';
import { installWebSocketGuard, webSocketGuardSettingsFromEnv } from '../../instrumentations/websocket/index.js';
import type { AzureDeployments } from '../../instrumentations/common/azure-deployments.js';

type Env = Record<string, string | undefined>;

/** What `agentguard-spend/register` set up in this process. */
export interface Registration {
  /** The configuration read from `AGENTGUARD_*`. */
  readonly config: EnvConfig;
  /** The engine every patched provider call goes through (reading it starts the engine if it has not started yet). */
  readonly guard: SpendGuard;
  /**
   * The signed decision log: files in `AGENTGUARD_LOG_DIR` and/or OpenTelemetry log
   * records (`AGENTGUARD_LOG_EXPORT`). Reading it starts the engine.
   */
  readonly logStore: RegisteredLogStore;
  /** The spend store of `AGENTGUARD_SPEND_STORE` (reading it starts the engine). */
  readonly spendStore: SpendStore;
  /** The provider instrumentations enabled, by name. */
  readonly instrumentations: readonly InstrumentationName[];
  /** Whether register installed the AsyncLocalStorage context manager (false: the app had one). */
  readonly contextManagerInstalled: boolean;
  /** Whether an ESM hook for the provider packages is in place (`module.registerHooks`, or `module.register` before Node 22.15). */
  readonly esmHookRegistered: boolean;
  /**
   * The Azure deployment map in force (reading it starts the engine): the policy
   * file's `azureDeployments`, reloaded with the file, then `AGENTGUARD_AZURE_DEPLOYMENTS`.
   */
  readonly azureDeployments: AzureDeployments | undefined;
  /** The policy file watch (hot reload; reading it starts the engine). */
  readonly policyWatch: PolicyWatch;
  /** Whether the engine has started (at the first guarded call, or shortly after start-up). */
  readonly engineStarted: boolean;
  /**
   * Stops the policy watch, flushes and closes the decision log and the spend
   * store. Idempotent; register calls it on `beforeExit`, SIGTERM and SIGINT.
   */
  shutdown(): Promise<void>;
}

/** Exit code when the configuration is bad in enforce mode (`EX_CONFIG` of sysexits.h). */
export const EXIT_CONFIG = 78;

/** How long after start-up the engine starts when no guarded call has started it yet. */
export const ENGINE_START_DELAY_MS = 250;

/** How {@link setupFromEnv} reports; the defaults write one line to stderr. */
export interface SetupHooks {
  warn?: (line: string) => void;
}

const requireHere = createRequire(import.meta.url);
let engineModule: typeof EngineModule | undefined;
/** The engine bundle (`dist/register-engine.cjs`), loaded once on first use. */
function loadEngineModule(): typeof EngineModule {
  return (engineModule ??= requireHere('./register-engine.cjs') as typeof EngineModule);
}

/**
 * Start-up of `agentguard-spend/register`: reads and validates `AGENTGUARD_*`
 * (policy, key, log directory, spend store) and installs the module hooks for
 * the provider packages. The engine (decision log, spend guard, policy watch,
 * context manager) starts at the first guarded call or {@link ENGINE_START_DELAY_MS}
 * after start-up, whichever comes first. Everything that can fail on
 * configuration is checked before anything is installed, so a
 * {@link ConfigError} leaves the process untouched.
 * @throws ConfigError naming the variable.
 */
export function setupFromEnv(env: Env = process.env, hooks: SetupHooks = {}): Registration {
  const warn = (line: string) => (hooks.warn ?? ((l: string) => process.stderr.write(`${l}\n`)))(oneLine(line));
  const config = configFromEnv(env);
  const logExport = logExportFromEnv(env);
  // The directory is checked only when files are written (`otel` writes none).
  if (logExport !== 'otel') ensureWritableDir(config.logDir);
  // A chain resumed under another key would fail verification from its first new entry on.
  if (config.chainId && logExport !== 'otel') checkChainSigner(config);
  // A SQLite or Redis store is built now: a bad value must stop start-up, not the first call.
  const spendStoreNow = config.spendStore === 'memory' ? undefined : spendStoreFromEnv(config.spendStore);
  const enabled = (Object.keys(INSTRUMENTATIONS) as SdkInstrumentationName[]).filter((n) => !config.disabledInstrumentations.includes(n));
  const aiSdkEnabled = !config.disabledInstrumentations.includes('ai-sdk');
  const netSettings = config.disabledInstrumentations.includes('safety-net') ? undefined : safetyNetSettingsFromEnv(env);
  const webSocketSettings = webSocketSettingsFromEnv(env);

  // Nothing below fails on configuration.
  let engine: EngineModule.Engine | undefined;
  let closing: Promise<void> | null = null;
  const startEngine = (): EngineModule.Engine => {
    if (engine) return engine;
    const m = loadEngineModule();
    ensureContextManager();
    engine = m.startEngine(config, logExport, spendStoreNow ?? m.memorySpendStore(), warn, netSettings);
    webSocketGuard();
    return engine;
  };

  const instrumentationOf = (name: SdkInstrumentationName | 'ai-sdk'): InstrumentationLike => {
    let tracer: Tracer | undefined;
    return {
      getConfig: () => {
        const started = startEngine();
        const azureDeployments = started.azureDeployments();
        return {
          guard: started.guard,
          scope: config.scope,
          ...(config.capabilityClaim ? { capabilityClaim: config.capabilityClaim } : {}),
          ...(azureDeployments ? { azureDeployments } : {}),
        };
      },
      get tracer() {
        startEngine();
        return (tracer ??= loadEngineModule().tracerFor(name));
      },
      isEnabled: () => true,
    };
  };
  const instrumentations = Object.fromEntries(enabled.map((n) => [n, instrumentationOf(n)])) as Record<SdkInstrumentationName, InstrumentationLike>;
  const byPackage = new Map(enabled.map((n) => [INSTRUMENTATIONS[n].module, n]));
  const factories = () => (startEngine(), loadEngineModule().guardFactories);
  const warned = new Set<string>();

  // The AI SDK providers' model classes, and the safety net below the SDKs: wrappers now, enforcement from the engine.
  const aiSdkPackages = new Set<string>(aiSdkEnabled ? AI_SDK_PROVIDER_MODULES : []);
  const aiSdkInstrumentation = instrumentationOf('ai-sdk');
  const aiSdkTarget: AiSdkTarget = {
    getBinding: () => loadEngineModule().bindingFromInstrumentationConfig(aiSdkInstrumentation.getConfig(), aiSdkInstrumentation.tracer),
    // The map in force, read at every call (as for the OpenAI integration).
    azureDeployments: () => aiSdkInstrumentation.getConfig().azureDeployments,
  };
  const aiSdkFactories = () => (startEngine(), loadEngineModule().aiSdkFactories);
  const net = netSettings ? installStartNet(() => (startEngine(), loadEngineModule().netFactories)) : undefined;
  const netBuiltins = new Set<string>(net ? NET_BUILTINS : []);
  // Websocket transports to provider hosts: Responses API websockets are decided frame by frame, the others
  // fail closed in enforce mode. Installed with the engine (reading Node's global WebSocket loads undici:
  // ~25 ms), at once when the app loads `ws`, or at undici's first request (a global WebSocket's handshake).
  let webSockets: ReturnType<typeof installWebSocketGuard> | undefined;
  const stopWatchingUndici = onFirstUndiciRequest(() => {
    try {
      startEngine();
    } catch {
      // Installed without the engine: a provider socket's frames cannot be decided, so they are refused.
    }
    webSocketGuard();
  });
  const webSocketGuard = () =>
    (webSockets ??=
      (stopWatchingUndici(),
      installWebSocketGuard({
        ...webSocketSettings,
        enforce: () => config.mode !== 'shadow' && (engine?.guard.policies ?? config.policies).some((p) => p.mode === 'enforce'),
        warn,
        // Responses API websockets: each `response.create` decided by the engine (started here if it has not yet).
        frames: () => loadEngineModule().webSocketFrameGuard(startEngine().guard, config),
      })));

  const hooksInstalled = installModuleHooks(
    [...byPackage.keys(), ...aiSdkPackages, ...netBuiltins, ...(net ? [UNDICI_PACKAGE] : []), WS_PACKAGE, OTEL_API],
    (packageName, moduleExports, byPath) => {
      if (packageName === OTEL_API) return void ensureContextManager();
      if (packageName === WS_PACKAGE) return void webSocketGuard().patchWs(moduleExports);
      if (netBuiltins.has(packageName)) return void net!.patchBuiltin(packageName as (typeof NET_BUILTINS)[number]);
      if (packageName === UNDICI_PACKAGE && net) {
        if (net.patchUndici(moduleExports) > 0 || byPath || warned.has(packageName)) return;
        warned.add(packageName);
        return void warn(`agentguard-spend: undici was loaded, but no dispatcher was found on its exports; requests it makes are NOT caught by the safety net`);
      }
      if (aiSdkPackages.has(packageName)) {
        try {
          if (patchAiSdkForRegister(moduleExports, aiSdkTarget, aiSdkFactories) > 0 || byPath || warned.has(packageName)) return;
          warned.add(packageName);
          warn(
            `agentguard-spend: ${packageName} was loaded, but no language model class was found on its exports; its calls are NOT guarded by the AI SDK integration`,
          );
        } catch (err) {
          warn(`agentguard-spend: patching ${packageName} failed: ${(err as Error).message}; its calls are NOT guarded by the AI SDK integration`);
        }
        return;
      }
      const name = byPackage.get(packageName);
      if (!name) return;
      try {
        if (patchProvider(name, moduleExports, instrumentations[name], factories) > 0 || byPath || warned.has(name)) return;
        warned.add(name);
        warn(`agentguard-spend: ${packageName} was loaded, but none of the methods register guards was found on its exports; its calls are NOT guarded`);
      } catch (err) {
        warn(`agentguard-spend: patching ${packageName} failed: ${(err as Error).message}; its calls are NOT guarded`);
      }
    },
    new URL('./register-hooks.mjs', import.meta.url).href,
  );

  const timer = setTimeout(() => {
    if (closing || engine) return;
    try {
      startEngine();
    } catch (err) {
      // Not thrown into the app's event loop: the next guarded call tries again and fails closed.
      warn(`agentguard-spend: the engine did not start: ${(err as Error).message}; guarded calls fail until it does`);
    }
  }, ENGINE_START_DELAY_MS);
  timer.unref?.();

  const shutdown = (): Promise<void> => (closing ??= engine ? engine.close() : Promise.resolve());

  return {
    config,
    get guard() {
      return startEngine().guard;
    },
    get logStore() {
      return startEngine().logStore;
    },
    get spendStore() {
      return startEngine().spendStore;
    },
    instrumentations: [...enabled, ...(aiSdkEnabled ? (['ai-sdk'] as const) : []), ...(net ? (['safety-net'] as const) : [])],
    get contextManagerInstalled() {
      return contextManager === true;
    },
    esmHookRegistered: hooksInstalled.esm !== 'none',
    get azureDeployments() {
      return startEngine().azureDeployments();
    },
    get policyWatch() {
      return startEngine().policyWatch;
    },
    get engineStarted() {
      return engine !== undefined;
    },
    shutdown,
  };
}

const OTEL_API = '@opentelemetry/api';
/** The `ws` package, whose sockets the websocket guard refuses to provider hosts in enforce mode. */
const WS_PACKAGE = 'ws';

/**
 * Calls `install` (once) when undici creates its first request, synchronously,
 * before anything is sent: Node's global `WebSocket` makes its handshake
 * request inside its constructor, so a socket opened before the engine's timer
 * gets a guarded `send` before it can send a frame. Reading (or even
 * describing) the global `WebSocket` at start-up would load undici; a
 * diagnostics channel subscription loads nothing.
 * Returns the function that unsubscribes (idempotent).
 */
function onFirstUndiciRequest(install: () => void): () => void {
  const channel = diagnosticsChannel.channel('undici:request:create');
  let subscribed = true;
  const unsubscribe = () => {
    if (!subscribed) return;
    subscribed = false;
    channel.unsubscribe(listener);
  };
  const listener = () => {
    unsubscribe();
    install();
  };
  channel.subscribe(listener);
  return unsubscribe;
}

/** `AGENTGUARD_UNGUARDED_WEBSOCKET` and the provider hosts it watches. @throws ConfigError naming the variable. */
function webSocketSettingsFromEnv(env: Env): ReturnType<typeof webSocketGuardSettingsFromEnv> {
  try {
    return webSocketGuardSettingsFromEnv(env);
  } catch (err) {
    const message = (err as Error).message;
    const variable = message.startsWith('AGENTGUARD_PROVIDER_HOSTS') ? 'AGENTGUARD_PROVIDER_HOSTS' : 'AGENTGUARD_UNGUARDED_WEBSOCKET';
    throw new ConfigError(variable, message.replace(/^[A-Z_]+: /, ''));
  }
}
/** true: ours is the global context manager; false: the app had one; undefined: not yet tried. */
let contextManager: boolean | undefined;

/**
 * Installs the AsyncLocalStorage context manager unless one is registered
 * already. Done when the app first loads `@opentelemetry/api` (so its
 * `context.with`/`startActiveSpan` propagate from the start, as when register
 * installed one at start-up) or when the engine starts, whichever is first:
 * an app that never loads the API pays nothing for it at start-up.
 */
function ensureContextManager(): void {
  if (contextManager !== undefined) return;
  contextManager = false; // loading the API below comes back through the hook
  try {
    // The API and context manager the engine uses too (built next to this file; see tsup.config.ts).
    const { context } = requireHere('./register-otel-api.cjs') as typeof import('@opentelemetry/api');
    const { AsyncLocalStorageContextManager } = requireHere('./register-otel-context.cjs') as typeof import('@opentelemetry/context-async-hooks');
    const manager = new AsyncLocalStorageContextManager();
    contextManager = context.setGlobalContextManager(manager.enable());
    if (!contextManager) manager.disable();
  } catch {
    // No context manager: context does not propagate (as with the API's no-op default).
  }
}

/**
 * The spend store `AGENTGUARD_SPEND_STORE` names: a SQLite file path
 * (`file:`/`sqlite:` too; shared by the processes of one machine), or a
 * `redis://`/`rediss://` URL (a fleet). `memory` (the default) is made by the engine.
 * @throws ConfigError naming `AGENTGUARD_SPEND_STORE` when it cannot be built.
 */
function spendStoreFromEnv(value: string): SpendStore {
  try {
    return loadEngineModule().spendStoreFromUrl(value);
  } catch (err) {
    throw new ConfigError('AGENTGUARD_SPEND_STORE', (err as Error).message);
  }
}

/**
 * Refuses to resume chain `AGENTGUARD_CHAIN_ID` with a key other than the one
 * that must sign its next entry (keys change with `agentguard-spend rotate-key`).
 * Loads the engine bundle, which only a fixed chain id pays for at start-up.
 * @throws ConfigError naming `AGENTGUARD_CHAIN_ID`.
 */
function checkChainSigner(config: EnvConfig): void {
  try {
    loadEngineModule().assertChainSignerSync(config.logDir, config.chainId!, config.signingKeys.publicKey);
  } catch (err) {
    throw new ConfigError('AGENTGUARD_CHAIN_ID', `${(err as Error).message}; change keys with \`agentguard-spend rotate-key\``);
  }
}

function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError('AGENTGUARD_LOG_DIR', `${shownPath(dir)} is not a writable directory${code ? ` (${code})` : ''}`);
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
