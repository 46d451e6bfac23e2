import { PACKAGE_VERSION } from './version.js';

/**
 * The instrumentation scope of a provider integration, one pattern for all:
 * `agentguard-spend/instrumentation-<provider>` at this package's version. The
 * load-time instrumentation and the explicit wrapper of a provider share it.
 */
export function instrumentationScope(provider: string): { name: string; version: string } {
  return { name: `agentguard-spend/instrumentation-${provider}`, version: PACKAGE_VERSION };
}
