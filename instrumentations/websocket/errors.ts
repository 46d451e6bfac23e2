import { AgentGuardError } from '../../src/audit/errors.js';

/** The setting that lets unguarded websocket connections through. */
export const UNGUARDED_WEBSOCKET_ENV = 'AGENTGUARD_UNGUARDED_WEBSOCKET';

/**
 * A connection to a provider's websocket endpoint (the Realtime API, the
 * Responses API's websocket mode) under enforce mode. Calls made over it are
 * not decided by any guard, so it fails closed: no connection is made (the
 * global `WebSocket`), or every frame a socket would send is refused and
 * nothing is sent (the `ws` package, or a constructor captured before the
 * guard was installed).
 * `AGENTGUARD_UNGUARDED_WEBSOCKET=allow` lets such connections through.
 */
export class AgentGuardUnguardedTransportError extends AgentGuardError {
  /** What was refused, e.g. `OpenAI Realtime API websocket`. */
  readonly transport: string;
  /** The host (and port, if not the default) of the refused connection. */
  readonly host: string;
  /** The setting that allows it. */
  readonly setting: string;
  readonly code: 'agentguard_unguarded_transport';
  constructor(transport: string, url: URL) {
    super(
      `agentguard: refused the ${transport} to ${url.host}${url.pathname}: calls over it cannot be decided, and enforce mode fails closed. ` +
        `Set ${UNGUARDED_WEBSOCKET_ENV}=allow to let it through unguarded.`,
    );
    this.transport = transport;
    this.host = url.host;
    this.setting = `${UNGUARDED_WEBSOCKET_ENV}=allow`;
    this.code = 'agentguard_unguarded_transport';
  }
}
