/**
 * The engine-stage side of `register`'s websocket guard (part of
 * `dist/register-engine.cjs`): the Responses API websocket's `response.create`
 * frames are decided with the safety net's reading of a Responses request
 * body (model, `max_output_tokens`, input estimate, usage in
 * `response.completed`): a frame is that body with `type` added.
 */
import { trace } from '@opentelemetry/api';
import type { GuardBinding } from '../../instrumentations/common/guarded-call.js';
import type { ProviderAdapter } from '../../instrumentations/common/provider-adapter.js';
import { instrumentationScope } from '../../instrumentations/common/scope-name.js';
import { netAdapter, type NetRequest } from '../../instrumentations/safety-net/adapter.js';
import { createFrameGuard, type FrameGuard, type ResponseCreateFrame } from '../../instrumentations/websocket/frames.js';
import type { SpendGuard } from '../engine/guard.js';
import type { EnvConfig } from './env-config.js';

/** The instrumentation scope of the websocket calls' spans. */
export const WEBSOCKET_SCOPE = instrumentationScope('websocket');

const asNetRequest = (frame: ResponseCreateFrame): NetRequest => ({
  endpoint: { provider: 'openai', api: 'openai-responses', host: frame.url.host },
  body: frame.body,
});

/** A `response.create` frame read as the Responses API request it carries. */
export const responseFrameAdapter: ProviderAdapter<ResponseCreateFrame, unknown, unknown> = {
  describe: (frame) => netAdapter.describe(asNetRequest(frame)),
  prepare: (frame, decided) => {
    const prepared = netAdapter.prepare(asNetRequest(frame), decided);
    return JSON.stringify(prepared.body) === JSON.stringify(frame.body) ? frame : { url: frame.url, body: prepared.body };
  },
  responseUsage: (response) => netAdapter.responseUsage(response),
  streamUsage: (frame) => netAdapter.streamUsage(asNetRequest(frame)),
};

/** The frame guard over the register's engine. */
export function webSocketFrameGuard(guard: SpendGuard, config: EnvConfig): FrameGuard {
  const binding: GuardBinding = {
    guard,
    scope: config.scope,
    get tracer() {
      return trace.getTracer(WEBSOCKET_SCOPE.name, WEBSOCKET_SCOPE.version);
    },
    ...(config.capabilityClaim ? { capabilityClaim: config.capabilityClaim } : {}),
  };
  return createFrameGuard({ binding: () => binding, adapter: responseFrameAdapter });
}
