import { watch, type FSWatcher } from 'node:fs';
import { diag } from '@opentelemetry/api';
import type { SpendGuard } from './guard.js';
import { loadPolicyFile } from './policy-file.js';
import type { SpendPolicy } from './policy.js';

/** Options of {@link watchPolicyFile}. */
export interface PolicyWatchOptions {
  /** Called with the new policies after a valid change took effect. */
  onReload?: (policies: SpendPolicy[]) => void;
  /** Called when a changed file is invalid; the old policies stay in force. */
  onError?: (error: Error) => void;
  /** Coalesce bursts of change events (editors write in several steps). Default 50 ms. */
  debounceMs?: number;
}

/** A running policy watch; `close()` stops it. */
export interface PolicyWatch {
  close(): void;
  /** Re-reads the file now (also what a change event triggers). Returns whether it took effect. */
  reload(): boolean;
}

/**
 * Hot reload: when the policy file changes, the next decisions use the new
 * policies (each decision records `policyVersion`). An invalid new file is
 * rejected with a clear error and the policies in force stay as they were.
 * Watches the directory, so editors that replace the file by rename are seen.
 */
export function watchPolicyFile(path: string, guard: SpendGuard, options: PolicyWatchOptions = {}): PolicyWatch {
  const onError = options.onError ?? ((err: Error) => diag.error(`agentguard-spend: policy reload rejected: ${err.message}`));
  const debounceMs = options.debounceMs ?? 50;
  let lastText: string | undefined;
  let timer: NodeJS.Timeout | undefined;

  const reload = (): boolean => {
    let policies: SpendPolicy[];
    try {
      policies = loadPolicyFile(path);
    } catch (err) {
      onError(err as Error);
      return false;
    }
    const text = JSON.stringify(policies);
    if (text === lastText) return false;
    try {
      guard.setPolicies(policies);
    } catch (err) {
      // E.g. a downgrade to a model without a price: the policies in force stay.
      onError(err as Error);
      return false;
    }
    lastText = text;
    options.onReload?.(policies);
    return true;
  };
  lastText = JSON.stringify(guard.policies);

  const { dir, base } = splitPath(path);
  let watcher: FSWatcher | null = watch(dir, { persistent: false }, (_event, filename) => {
    if (filename !== null && filename.toString() !== base) return;
    clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
    timer.unref();
  });
  watcher.on('error', (err) => onError(err));

  return {
    reload,
    close() {
      clearTimeout(timer);
      watcher?.close();
      watcher = null;
    },
  };
}

function splitPath(path: string): { dir: string; base: string } {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i < 0 ? { dir: '.', base: path } : { dir: path.slice(0, i) || '/', base: path.slice(i + 1) };
}
