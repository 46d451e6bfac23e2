export { AgentGuardUnguardedTransportError, UNGUARDED_WEBSOCKET_ENV } from './errors.js';
export { DEFAULT_WEBSOCKET_HOSTS, parseWebSocketHosts, type WatchedWebSocketHost } from './hosts.js';
export {
  installWebSocketGuard,
  UNGUARDED_WEBSOCKET_MODES,
  webSocketGuardSettingsFromEnv,
  type InstalledWebSocketGuard,
  type UnguardedWebSocketMode,
  type WebSocketGuardOptions,
} from './guard.js';
