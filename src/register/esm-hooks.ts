/**
 * The ESM hooks of `agentguard-spend/register` for Node versions without
 * `module.registerHooks` (before 22.15), registered with `module.register` and
 * run in Node's hooks thread. They do what the in-thread hooks of
 * `module-hooks.ts` do: the entry module of each provider package reports its
 * namespace once evaluated.
 */
import { withLoadedReport, withoutQuery, type LoadResult } from './module-hooks.js';

let packages: string[] = [];
const entries = new Map<string, string>();

export function initialize(data: { packages?: string[] } | undefined): void {
  packages = data?.packages ?? [];
}

type Next<R> = (input: string, context: unknown) => R | Promise<R>;

export async function resolve(specifier: string, context: unknown, nextResolve: Next<{ url: string }>): Promise<{ url: string }> {
  const result = await nextResolve(specifier, context);
  if (packages.includes(specifier)) entries.set(withoutQuery(result.url), specifier);
  return result;
}

export async function load(url: string, context: unknown, nextLoad: Next<LoadResult>): Promise<LoadResult> {
  const result = await nextLoad(url, context);
  const packageName = entries.get(withoutQuery(url));
  return packageName ? withLoadedReport(result, url, packageName) : result;
}
