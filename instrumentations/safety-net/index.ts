/**
 * The safety net below the SDKs: provider requests that no SDK-level guard
 * decided are caught at the HTTP layer (global `fetch`, `http`/`https`
 * requests) and handled by a mode — decided like any call (model and output
 * bound rewritten in the body), refused, or let through with a warning and a
 * signed shadow entry. `register` installs it; see README.md next to this file.
 */
export { installSafetyNet, SAFETY_NET_BUILTINS, type SafetyNet, type SafetyNetBuiltin } from './install.js';
export {
  decidedAbove,
  openNetCall,
  ResponseTap,
  UNGUARDED_MODES,
  UnguardedCallError,
  watchedEndpoint,
  type NetCall,
  type SafetyNetConfig,
  type UnguardedMode,
} from './net-call.js';
export {
  KNOWN_PROVIDER_HOSTS,
  matchEndpoint,
  parseProviderHosts,
  providersAt,
  type NetApi,
  type NetProvider,
  type ProviderEndpoint,
  type WatchedHost,
} from './endpoints.js';
export {
  estimateBodyInputTokens,
  netAdapter,
  NetRewriteError,
  NetStreamReader,
  NET_DEFAULT_MAX_OUTPUT_TOKENS,
  netOutputBound,
  usageOfBody,
  wireUsage,
  type NetRequest,
} from './adapter.js';
export { guardFetch } from './fetch.js';
export { guardRequest } from './http.js';
export { guardHttp2Connect } from './http2.js';
