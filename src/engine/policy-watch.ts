import { diag } from '@opentelemetry/api';
import type { SpendGuard } from './guard.js';
import { watchFile, type FileWatch } from './file-watch.js';
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

/** A running policy watch; `close()` stops it, `reload()` re-reads the file now. */
export type PolicyWatch = FileWatch;

/**
 * Hot reload: when the policy file changes, the next decisions use the new
 * policies (each decision records `policyVersion`). An invalid new file is
 * rejected with a clear error and the policies in force stay as they were.
 * Watches the directory, so editors that replace the file by rename are seen.
 */
export function watchPolicyFile(path: string, guard: SpendGuard, options: PolicyWatchOptions = {}): PolicyWatch {
  const onError = options.onError ?? ((err: Error) => diag.error(`agentguard-spend: policy reload rejected: ${err.message}`));
  let lastText: string | undefined;

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

  return watchFile(path, reload, onError, options.debounceMs);
}
