import { syncBuiltinESMExports } from 'node:module';
import { parseProviderHosts, UNGUARDED_MODES, type UnguardedMode, type WatchedHost } from '../../instrumentations/safety-net/endpoints.js';
import { ConfigError } from './env-config.js';

/**
 * The start stage of `register`'s safety net: cheap wrappers over the global
 * `fetch` and `http`/`https`/`http2` that build the net's guard from the
 * engine bundle at their first call (starting the engine then, so a request
 * made before the engine's timer is caught too) and call it from then on.
 */

type Env = Record<string, string | undefined>;

/** `AGENTGUARD_UNGUARDED` and `AGENTGUARD_PROVIDER_HOSTS`. */
export interface SafetyNetSettings {
  mode: UnguardedMode;
  hosts: WatchedHost[];
}

/**
 * Reads the safety net's settings: `AGENTGUARD_UNGUARDED` (`decide`, the
 * default; `block`; `warn`) and `AGENTGUARD_PROVIDER_HOSTS` (more hosts to
 * watch, `host[:port][=provider[+provider]]`, comma-separated).
 * @throws ConfigError naming the variable.
 */
export function safetyNetSettingsFromEnv(env: Env): SafetyNetSettings {
  const raw = env.AGENTGUARD_UNGUARDED || 'decide';
  if (!(UNGUARDED_MODES as readonly string[]).includes(raw))
    throw new ConfigError('AGENTGUARD_UNGUARDED', `expected one of ${UNGUARDED_MODES.join(', ')}, got ${JSON.stringify(raw)}`);
  let hosts: WatchedHost[];
  try {
    hosts = parseProviderHosts(env.AGENTGUARD_PROVIDER_HOSTS);
  } catch (err) {
    throw new ConfigError('AGENTGUARD_PROVIDER_HOSTS', (err as Error).message);
  }
  return { mode: raw as UnguardedMode, hosts };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (this: any, ...args: any[]) => any;

/** What the engine bundle provides to build the net's guards (the engine has started when these are called). */
export interface NetFactories {
  fetch(original: AnyFn): AnyFn;
  request(original: AnyFn, protocol: 'http:' | 'https:', get: boolean): AnyFn;
  http2Connect(original: AnyFn): AnyFn;
  undiciDispatch(original: AnyFn): AnyFn;
}

/** The builtin modules the net patches when the app first loads each (besides the global `fetch`, wrapped at once). */
export const NET_BUILTINS = ['http', 'https', 'http2'] as const;
type NetBuiltin = (typeof NET_BUILTINS)[number];

const INSTALLED = Symbol.for('agentguard-spend.register.safety-net');

/** `build()`'s function, built at the first call. */
function lazy(build: () => AnyFn, name: string): AnyFn {
  let fn: AnyFn | undefined;
  const wrapper = function (this: unknown, ...args: unknown[]) {
    return (fn ??= build()).apply(this, args);
  };
  Object.defineProperty(wrapper, 'name', { value: name });
  return wrapper;
}

/** The npm package whose dispatchers the net patches when the app loads it. */
export const UNDICI_PACKAGE = 'undici';

/** The installed start-stage net: the module hooks' callbacks for `http`, `https`, `http2`, and the `undici` package. */
export interface StartNet {
  patchBuiltin(name: NetBuiltin): void;
  /** Patches the `dispatch` of a loaded `undici`'s dispatchers, and of the global dispatcher; returns how many prototypes. */
  patchUndici(moduleExports: unknown): number;
}

const UNDICI_PATCHED = Symbol.for('agentguard-spend.register.undici-dispatch');
/** undici's global dispatcher, shared by the npm package and Node's `fetch`. */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/** The first prototype on `obj`'s chain with its own `dispatch` (undici's `DispatcherBase`). */
function dispatchOwner(obj: unknown): Record<string | symbol, unknown> | undefined {
  for (let p = obj; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (Object.hasOwn(p as object, 'dispatch') && typeof (p as { dispatch?: unknown }).dispatch === 'function') return p as Record<string | symbol, unknown>;
  }
  return undefined;
}

/**
 * Wraps the global `fetch` now, without loading undici (Node defines `fetch`
 * as a lazy getter; the original is read at the first call).
 */
export function installStartNet(factories: () => NetFactories): StartNet {
  const g = globalThis as typeof globalThis & { [INSTALLED]?: StartNet };
  if (g[INSTALLED]) return g[INSTALLED];
  const desc = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
  if (desc) {
    const original = (): AnyFn => (desc.get ? desc.get.call(globalThis) : desc.value) as AnyFn;
    Object.defineProperty(globalThis, 'fetch', {
      value: lazy(() => factories().fetch(original()), 'fetch'),
      writable: true,
      configurable: true,
      enumerable: desc.enumerable ?? true,
    });
  }
  const patched = new Set<NetBuiltin>();
  const net: StartNet = {
    patchBuiltin(name) {
      if (patched.has(name)) return;
      patched.add(name);
      const mod = (process as unknown as { getBuiltinModule(id: string): Record<string, AnyFn> }).getBuiltinModule(`node:${name}`);
      if (name === 'http2') {
        const connect = mod.connect!;
        mod.connect = lazy(() => factories().http2Connect(connect), 'connect');
      } else {
        const protocol = name === 'http' ? 'http:' : 'https:';
        const request = mod.request!;
        const get = mod.get!;
        mod.request = lazy(() => factories().request(request, protocol, false), 'request');
        mod.get = lazy(() => factories().request(get, protocol, true), 'get');
      }
      // ES modules importing the builtin see the wrappers too.
      syncBuiltinESMExports();
    },
    patchUndici(moduleExports) {
      const ns = moduleExports as { Client?: { prototype?: unknown }; default?: { Client?: { prototype?: unknown } } } | undefined;
      const Client = ns?.Client ?? ns?.default?.Client;
      const owners = [dispatchOwner(Client?.prototype), dispatchOwner((globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER])];
      let count = 0;
      for (const owner of new Set(owners)) {
        if (!owner) continue;
        count++;
        if (owner[UNDICI_PATCHED]) continue;
        const dispatch = owner.dispatch as AnyFn;
        owner.dispatch = lazy(() => factories().undiciDispatch(dispatch), 'dispatch');
        Object.defineProperty(owner, UNDICI_PATCHED, { value: true });
      }
      return count;
    },
  };
  g[INSTALLED] = net;
  return net;
}
