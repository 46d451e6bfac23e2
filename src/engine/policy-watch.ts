import { diag } from '@opentelemetry/api';
import type { SpendGuard } from './guard.js';
import { watchFile, type FileWatch } from './file-watch.js';
import { loadPolicyDocument, type PolicyDocument } from './policy-file.js';
import type { SpendPolicy } from './policy.js';

/** An Azure OpenAI deployment map as a policy document holds it (deployment name → model). */
type DeploymentMap = NonNullable<PolicyDocument['azureDeployments']>;

/** Options of {@link watchPolicyFile}. */
export interface PolicyWatchOptions {
  /** Called with the new policies after a valid change took effect. */
  onReload?: (policies: SpendPolicy[]) => void;
  /** Called when a changed file is invalid; the old policies stay in force. */
  onError?: (error: Error) => void;
  /** Coalesce bursts of change events (editors write in several steps). Default 50 ms. */
  debounceMs?: number;
  /**
   * Called with the file's `azureDeployments` (undefined when it has none) after
   * a valid change that changed them, after the policies of the same file took
   * effect. Give it to the OpenAI instrumentation (`setConfig`) or keep it where
   * the wrapper's `azureDeployments` reads it, so the map is reloaded with the policies.
   */
  onAzureDeployments?: (deployments: DeploymentMap | undefined) => void;
  /** The `azureDeployments` in force when the watch starts (what a change is told from). */
  azureDeployments?: DeploymentMap | undefined;
}

/** A running policy watch; `close()` stops it, `reload()` re-reads the file now. */
export type PolicyWatch = FileWatch;

/**
 * Hot reload: when the policy file changes, the next decisions use the new
 * policies (each decision records `policyVersion`), and, with
 * `onAzureDeployments`, the calls use the document's new deployment map. An
 * invalid new file is rejected with a clear error and the policies and
 * deployments in force stay as they were.
 * Watches the directory, so editors that replace the file by rename are seen.
 */
export function watchPolicyFile(path: string, guard: SpendGuard, options: PolicyWatchOptions = {}): PolicyWatch {
  const onError = options.onError ?? ((err: Error) => diag.error(`agentguard-spend: policy reload rejected: ${err.message}`));
  const onDeployments = options.onAzureDeployments;
  let lastText: string | undefined;
  let lastDeployments = deploymentsText(options.azureDeployments);

  const reload = (): boolean => {
    let document: PolicyDocument;
    try {
      document = loadPolicyDocument(path);
    } catch (err) {
      onError(err as Error);
      return false;
    }
    const { policies } = document;
    const text = JSON.stringify(policies);
    const deployments = onDeployments ? deploymentsText(document.azureDeployments) : lastDeployments;
    if (text === lastText && deployments === lastDeployments) return false;
    if (text !== lastText) {
      try {
        guard.setPolicies(policies);
      } catch (err) {
        // E.g. a downgrade to a model without a price: the policies (and deployments) in force stay.
        onError(err as Error);
        return false;
      }
      lastText = text;
      options.onReload?.(policies);
    }
    if (deployments !== lastDeployments) {
      lastDeployments = deployments;
      onDeployments?.(document.azureDeployments);
    }
    return true;
  };
  lastText = JSON.stringify(guard.policies);

  return watchFile(path, reload, onError, options.debounceMs);
}

/** A map's identity for change detection (insertion order counts: it picks the deployment of a model). */
function deploymentsText(deployments: DeploymentMap | undefined): string {
  return deployments ? JSON.stringify(Object.entries(deployments)) : '';
}
