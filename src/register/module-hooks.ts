import { readFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The module hooks of `agentguard-spend/register`: they hand each loaded copy
 * of a provider package (its CommonJS exports or its ESM namespace) to
 * `onLoad`, and touch nothing else.
 *
 * - CommonJS: one wrapper of `Module._load` that looks at the request string
 *   only (no resolution, no stat) and acts on the exact package names.
 * - ESM: `module.registerHooks` (Node ≥ 22.15; in-thread and synchronous, so
 *   the main thread never waits for a hooks thread) or, before that,
 *   `module.register` with the same hooks in `esm-hooks.ts`. The load hook
 *   appends one statement to the package's entry module that passes the
 *   module's own namespace to `onLoad` once it has evaluated.
 *
 * Neither replaces a module's exports, so they stack with import-in-the-middle
 * and require-in-the-middle (an app's own OpenTelemetry instrumentations) in
 * either order.
 */

/**
 * Called with each loaded copy of a provider package; must not throw.
 * `byPath`: a CommonJS file of the package loaded by its path (an ES module's
 * import of it), which may be its entry or another of its files.
 */
export type ProviderLoaded = (packageName: string, moduleExports: unknown, byPath?: boolean) => void;

/** The global through which an ESM entry module reports its namespace (shared by every copy of this package). */
export const ESM_LOADED = Symbol.for('agentguard-spend.register.esm-loaded');

type GlobalWithHook = typeof globalThis & { [ESM_LOADED]?: ProviderLoaded };

/** What the hooks installed. */
export interface InstalledHooks {
  /** `registerHooks` (in-thread), `register` (hooks thread), or none (no ESM hook available). */
  esm: 'registerHooks' | 'register' | 'none';
}

type ModuleLoad = (request: string, parent: unknown, isMain: boolean) => unknown;
type ModuleStatics = { _load: ModuleLoad };

/**
 * Installs the CommonJS and ESM hooks for `packages`. `esmHooksUrl` is the
 * module that exports the ESM hooks for `module.register` (the fallback).
 */
export function installModuleHooks(packages: readonly string[], onLoad: ProviderLoaded, esmHooksUrl: string): InstalledHooks {
  if (packages.length === 0) return { esm: 'none' };
  installCjsHook(packages, onLoad);
  (globalThis as GlobalWithHook)[ESM_LOADED] = onLoad;
  return { esm: installEsmHook(packages, esmHooksUrl) };
}

function installCjsHook(packages: readonly string[], onLoad: ProviderLoaded): void {
  const Module = nodeModule.Module as unknown as ModuleStatics;
  const original = Module._load;
  const names = new Set(packages);
  const seen = new WeakSet<object>();
  Module._load = function agentguardLoad(this: unknown, request: string, parent: unknown, isMain: boolean) {
    const exports = original.call(this, request, parent, isMain);
    const bare = typeof request === 'string' && request.startsWith('node:') ? request.slice(5) : request;
    const byName = names.has(bare);
    const name = byName ? bare : packageOfAbsolutePath(request, packages);
    if (name && exports && (typeof exports === 'object' || typeof exports === 'function') && !seen.has(exports)) {
      seen.add(exports);
      onLoad(name, exports, !byName);
    }
    return exports;
  };
}

/**
 * An ES module importing a CommonJS package (`import('@aws-sdk/client-bedrock-runtime')`,
 * which has no ESM build Node loads) reaches `Module._load` with the resolved
 * file path, not the package name. Inside a package, `require` uses relative
 * requests, so an absolute path into a provider package is such an import.
 */
function packageOfAbsolutePath(request: string, packages: readonly string[]): string | undefined {
  if (typeof request !== 'string' || request.indexOf('node_modules') === -1 || !(request.startsWith('/') || /^[A-Za-z]:[\\/]/.test(request))) return undefined;
  const path = request.replaceAll('\\', '/');
  for (const p of packages) {
    const at = path.lastIndexOf(`/node_modules/${p}/`);
    // The package's own file, not one of its nested dependencies.
    if (at !== -1 && path.indexOf('/node_modules/', at + 14 + p.length) === -1) return p;
  }
  return undefined;
}

function installEsmHook(packages: readonly string[], esmHooksUrl: string): InstalledHooks['esm'] {
  const m = nodeModule as typeof nodeModule & { registerHooks?: (hooks: object) => unknown };
  if (typeof m.registerHooks === 'function') {
    // A load hook only: a resolve hook, even one that passes every call on, costs ~50 µs on
    // each require() of the app (~15 ms of CPU for an SDK of ~300 files).
    m.registerHooks({
      load: (url: string, context: unknown, nextLoad: (u: string, c: unknown) => LoadResult) => {
        if (url.startsWith('node:')) reportBuiltin(url.slice(5), packages);
        const result = nextLoad(url, context);
        if (result.format !== 'module') return result;
        const packageName = entryPackageOf(url, packages);
        return packageName ? withLoadedReport(result, url, packageName) : result;
      },
    });
    return 'registerHooks';
  }
  if (typeof nodeModule.register === 'function') {
    nodeModule.register(esmHooksUrl, { data: { packages: [...packages] } });
    return 'register';
  }
  return 'none';
}

/**
 * A builtin module named in `packages` (`http`...) that an ES module imports:
 * handed over as its CommonJS module object before the import is linked (a
 * builtin's ESM exports follow that object through `syncBuiltinESMExports`).
 */
function reportBuiltin(name: string, packages: readonly string[]): void {
  if (!packages.includes(name)) return;
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const exports = typeof get === 'function' ? get(`node:${name}`) : undefined;
  if (exports) (globalThis as GlobalWithHook)[ESM_LOADED]?.(name, exports);
}

/** What a load hook returns. */
export interface LoadResult {
  format?: string;
  source?: string | ArrayBuffer | ArrayBufferView | null;
  shortCircuit?: boolean;
}

/**
 * The entry module's source with one statement appended: it imports the
 * module's own namespace and hands it to the hook once the module has
 * evaluated (the last statement runs after every declaration above it). Only
 * ES modules: a CommonJS entry is seen by the `Module._load` hook.
 */
export function withLoadedReport(result: LoadResult, url: string, packageName: string): LoadResult {
  if (result.format !== 'module' || result.source == null) return result;
  const source = typeof result.source === 'string' ? result.source : Buffer.from(result.source as ArrayBuffer).toString('utf8');
  const report = [
    '',
    `import * as __agentguardSelf from ${JSON.stringify(url)};`,
    `globalThis[Symbol.for('agentguard-spend.register.esm-loaded')]?.(${JSON.stringify(packageName)}, __agentguardSelf);`,
    '',
  ].join('\n');
  return { ...result, source: `${source}\n${report}` };
}

/**
 * A URL without its query and fragment: import-in-the-middle loads the
 * module it wraps as `<url>?iitm=true`, which is the copy that runs.
 */
export function withoutQuery(url: string): string {
  const at = url.search(/[?#]/);
  return at === -1 ? url : url.slice(0, at);
}

/** Entry files of a package folder (absolute paths, `/` separators), by folder. */
const entryFiles = new Map<string, Set<string>>();

/**
 * The provider package whose entry module `url` is, if it is one: a file that the
 * package's `exports` maps `.` to under some condition, or its `main`. A file
 * of the package imported by another path is not its entry.
 */
export function entryPackageOf(url: string, packages: readonly string[]): string | undefined {
  if (!url.startsWith('file:') || url.indexOf('/node_modules/') === -1) return undefined;
  let path: string;
  try {
    path = fileURLToPath(withoutQuery(url)).replaceAll('\\', '/');
  } catch {
    return undefined;
  }
  for (const p of packages) {
    const at = path.lastIndexOf(`/node_modules/${p}/`);
    if (at === -1 || path.indexOf('/node_modules/', at + 14 + p.length) !== -1) continue;
    const dir = path.slice(0, at + 14 + p.length);
    let entries = entryFiles.get(dir);
    if (!entries) entryFiles.set(dir, (entries = entryFilesOf(dir)));
    return entries.has(path) ? p : undefined;
  }
  return undefined;
}

function entryFilesOf(dir: string): Set<string> {
  const files = new Set<string>();
  let pkg: { exports?: unknown; main?: unknown };
  try {
    pkg = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as typeof pkg;
  } catch {
    return files;
  }
  const add = (target: unknown): void => {
    if (typeof target === 'string') files.add(posix.join(dir, target));
    else if (Array.isArray(target)) target.forEach(add);
    else if (target && typeof target === 'object') Object.values(target).forEach(add);
  };
  const targets = pkg.exports;
  // `exports` is the entry's targets, or a map of subpaths (keys starting with `.`) whose `.` is the entry.
  if (targets && typeof targets === 'object' && !Array.isArray(targets) && Object.keys(targets).some((k) => k.startsWith('.'))) {
    add((targets as Record<string, unknown>)['.']);
  } else {
    add(targets);
  }
  add(typeof pkg.main === 'string' ? pkg.main : 'index.js');
  return files;
}
