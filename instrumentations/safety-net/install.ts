import type * as http from 'node:http';
import type * as http2 from 'node:http2';
import type * as https from 'node:https';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { guardFetch } from './fetch.js';
import { guardRequest } from './http.js';
import { guardHttp2Connect } from './http2.js';
import type { SafetyNetConfig } from './net-call.js';

const INSTALLED = Symbol.for('agentguard-spend.safety-net');
const req = createRequire(import.meta.url);

/** The builtin modules the net patches (besides the global `fetch`). */
export const SAFETY_NET_BUILTINS = ['http', 'https', 'http2'] as const;
export type SafetyNetBuiltin = (typeof SAFETY_NET_BUILTINS)[number];

/** An installed safety net. */
export interface SafetyNet {
  /**
   * Patches one builtin module (idempotent). With `builtins: 'on-load'` the
   * caller's module hook calls it when the app first loads the module;
   * `moduleExports` is what the hook saw (an ESM namespace is updated too).
   */
  patchBuiltin(name: SafetyNetBuiltin, moduleExports?: unknown): void;
  /** Restores `fetch` and the builtins' functions (only where ours is still in place). */
  uninstall(): void;
}

type Global = typeof globalThis & { [INSTALLED]?: SafetyNet };
type AnyRequest = Parameters<typeof guardRequest>[0];

/**
 * Installs the safety net below the SDKs: the global `fetch` (undici, which
 * the AI SDK, `openai` and `@anthropic-ai/sdk` use) at once, and
 * `http.request`, `http.get`, `https.request`, `https.get` (the AWS SDK's
 * HTTP/1.1 handler and most other clients) and `http2.connect` (the AWS SDK's
 * default handler), for CommonJS and ESM importers alike — at once
 * (`builtins: 'now'`), or when the app first loads each of them
 * (`'on-load'`, through the caller's module hook, so a process that never
 * loads `node:http2` does not pay for loading it). Once per process: a second
 * call returns the first net. `config` is read at every request.
 */
export function installSafetyNet(config: () => SafetyNetConfig, options: { builtins?: 'now' | 'on-load' } = {}): SafetyNet {
  const g = globalThis as Global;
  if (g[INSTALLED]) return g[INSTALLED];
  const restore: (() => void)[] = [];
  const patched = new Set<SafetyNetBuiltin>();
  const replace = <T extends object, K extends keyof T>(target: T, key: K, value: T[K]) => {
    const before = target[key];
    target[key] = value;
    restore.push(() => {
      if (target[key] === value) target[key] = before;
    });
  };
  if (typeof g.fetch === 'function') replace(g, 'fetch', guardFetch(g.fetch, config));

  const wrappers = (name: SafetyNetBuiltin, mod: Record<string, unknown>): Record<string, unknown> => {
    if (name === 'http2') return { connect: guardHttp2Connect((mod as unknown as typeof http2).connect as never, config) };
    const protocol = name === 'http' ? 'http:' : 'https:';
    return {
      request: guardRequest((mod as unknown as typeof http | typeof https).request as unknown as AnyRequest, protocol, config),
      get: guardRequest((mod as unknown as typeof http | typeof https).get as unknown as AnyRequest, protocol, config, true),
    };
  };

  const net: SafetyNet = {
    patchBuiltin(name, moduleExports) {
      // The CommonJS module object: what `require` returns and `import`'s default export is.
      const mod = builtin(name);
      if (!patched.has(name)) {
        patched.add(name);
        for (const [key, fn] of Object.entries(wrappers(name, mod))) replace(mod, key, fn);
        syncBuiltinESMExports();
      }
      // An ESM namespace a module hook handed over (import-in-the-middle's): its named exports too.
      if (moduleExports && typeof moduleExports === 'object' && moduleExports !== mod) {
        for (const key of name === 'http2' ? ['connect'] : ['request', 'get']) {
          try {
            if ((moduleExports as Record<string, unknown>)[key] !== mod[key]) (moduleExports as Record<string, unknown>)[key] = mod[key];
          } catch {
            // A frozen namespace: syncBuiltinESMExports has updated it.
          }
        }
      }
    },
    uninstall() {
      for (const r of restore.reverse()) r();
      restore.length = 0;
      patched.clear();
      syncBuiltinESMExports();
      if (g[INSTALLED] === net) delete g[INSTALLED];
    },
  };
  g[INSTALLED] = net;
  if (options.builtins !== 'on-load') for (const name of SAFETY_NET_BUILTINS) net.patchBuiltin(name);
  return net;
}

/** A builtin's CommonJS module object, without going through `require` hooks where Node allows. */
function builtin(name: SafetyNetBuiltin): Record<string, unknown> {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  return (typeof get === 'function' ? get(`node:${name}`) : req(`node:${name}`)) as Record<string, unknown>;
}
