import type * as http from 'node:http';
import type * as https from 'node:https';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { guardFetch } from './fetch.js';
import { guardRequest } from './http.js';
import { guardHttp2Connect } from './http2.js';
import type { SafetyNetConfig } from './net-call.js';

const INSTALLED = Symbol.for('agentguard-spend.safety-net');
const req = createRequire(import.meta.url);

/** An installed safety net. */
export interface SafetyNet {
  /** Restores `fetch` and the `http`/`https` request functions (only where ours is still in place). */
  uninstall(): void;
}

type Global = typeof globalThis & { [INSTALLED]?: SafetyNet };

/**
 * Installs the safety net below the SDKs: the global `fetch` (undici, which
 * the AI SDK, `openai` and `@anthropic-ai/sdk` use) and `http.request`,
 * `http.get`, `https.request`, `https.get` (the AWS SDK's HTTP/1.1 handler and
 * most other clients) and `http2.connect` (the AWS SDK's default handler),
 * for CommonJS and ESM importers alike. Once per process:
 * a second call returns the first net. `config` is read at every request.
 */
export function installSafetyNet(config: () => SafetyNetConfig): SafetyNet {
  const g = globalThis as Global;
  if (g[INSTALLED]) return g[INSTALLED];
  const restore: (() => void)[] = [];
  const replace = <T extends object, K extends keyof T>(target: T, key: K, value: T[K]) => {
    const before = target[key];
    target[key] = value;
    restore.push(() => {
      if (target[key] === value) target[key] = before;
    });
  };
  if (typeof g.fetch === 'function') replace(g, 'fetch', guardFetch(g.fetch, config));
  // The CommonJS module objects (what `require` and, after the sync, ESM named imports see).
  const httpModule = req('node:http') as typeof http;
  const httpsModule = req('node:https') as typeof https;
  type RequestFn = Parameters<typeof guardRequest>[0];
  replace(httpModule, 'request', guardRequest(httpModule.request as unknown as RequestFn, 'http:', config) as unknown as typeof http.request);
  replace(httpModule, 'get', guardRequest(httpModule.get as unknown as RequestFn, 'http:', config, true) as unknown as typeof http.get);
  replace(httpsModule, 'request', guardRequest(httpsModule.request as unknown as RequestFn, 'https:', config) as unknown as typeof https.request);
  replace(httpsModule, 'get', guardRequest(httpsModule.get as unknown as RequestFn, 'https:', config, true) as unknown as typeof https.get);
  const http2Module = req('node:http2') as typeof import('node:http2');
  replace(http2Module, 'connect', guardHttp2Connect(http2Module.connect as unknown as Parameters<typeof guardHttp2Connect>[0], config) as unknown as typeof http2Module.connect);
  syncBuiltinESMExports();
  const net: SafetyNet = {
    uninstall() {
      for (const r of restore.reverse()) r();
      restore.length = 0;
      syncBuiltinESMExports();
      if (g[INSTALLED] === net) delete g[INSTALLED];
    },
  };
  g[INSTALLED] = net;
  return net;
}
