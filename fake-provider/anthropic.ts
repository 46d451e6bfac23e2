import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { sendJson, sleep, type FakeProvider, type FakeRequest, type FakeRoute } from './server.js';

/**
 * Anthropic Messages API (`POST /v1/messages`), JSON and server-sent events.
 *
 * Usage: `behaviour.usage` is given in the engine's semantics (`inputTokens`
 * includes cache-read and cache-write tokens, `reasoningTokens` are part of
 * `outputTokens`). On the wire the Messages API reports `input_tokens`
 * EXCLUDING `cache_read_input_tokens` and `cache_creation_input_tokens`, so the
 * fake reports `input_tokens = inputTokens - cachedInputTokens - cacheWriteTokens`,
 * and reasoning as `output_tokens_details.thinking_tokens`.
 *
 * The fake never echoes request content: the reply text is fixed. Only the
 * requested model name is reflected, as the real API does.
 */
export const DEFAULT_ANTHROPIC_USAGE = { inputTokens: 20, outputTokens: 12 } as const;

const REPLY_WORDS = ['Hello', ' from', ' the', ' fake', ' Anthropic', ' provider', '.'];

interface WireUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  output_tokens_details?: { thinking_tokens: number };
}

function wireUsage(provider: FakeProvider): WireUsage {
  const u = { ...DEFAULT_ANTHROPIC_USAGE, ...provider.behaviour.usage };
  const cached = u.cachedInputTokens ?? 0;
  const written = u.cacheWriteTokens ?? 0;
  return {
    input_tokens: Math.max(0, u.inputTokens - cached - written),
    output_tokens: u.outputTokens,
    cache_read_input_tokens: cached,
    cache_creation_input_tokens: written,
    ...(u.reasoningTokens !== undefined ? { output_tokens_details: { thinking_tokens: u.reasoningTokens } } : {}),
  };
}

function errorBody(status: number) {
  const type = status === 429 ? 'rate_limit_error' : status === 529 ? 'overloaded_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
  return { type: 'error', error: { type, message: `fake provider failure (${status})` } };
}

/** The `/v1/messages` route. */
export const anthropicMessagesRoute: FakeRoute = async (req, res, provider) => {
  if (req.method !== 'POST' || req.path !== '/v1/messages') return false;
  const requestId = `req_fake_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  const status = provider.behaviour.failWithStatus;
  if (status) return sendJson(res, status, errorBody(status), { 'request-id': requestId });
  const body = (req.body ?? {}) as { model?: unknown; stream?: unknown };
  const model = typeof body.model === 'string' ? body.model : 'unknown-model';
  const id = `msg_fake_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  const usage = wireUsage(provider);
  if (body.stream === true) {
    await streamMessage(req, res, provider, { id, model, usage, requestId });
    return true;
  }
  return sendJson(
    res,
    200,
    {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text: REPLY_WORDS.join('') }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      ...(provider.behaviour.omitUsage ? {} : { usage }),
    },
    { 'request-id': requestId },
  );
};

async function streamMessage(
  req: FakeRequest,
  res: ServerResponse,
  provider: FakeProvider,
  m: { id: string; model: string; usage: WireUsage; requestId: string },
): Promise<void> {
  let closed = false;
  res.on('close', () => (closed = true));
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': m.requestId });
  const send = (event: string, data: unknown) => {
    if (!closed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const chunks = Math.max(1, provider.behaviour.streamChunks ?? REPLY_WORDS.length);
  const delay = provider.behaviour.chunkDelayMs ?? 0;
  // message_start carries the input side of usage (and a first output count);
  // message_delta carries the cumulative output count at the end.
  send('message_start', {
    type: 'message_start',
    message: {
      id: m.id,
      type: 'message',
      role: 'assistant',
      model: m.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      ...(provider.behaviour.omitUsage
        ? {}
        : {
            usage: {
              input_tokens: m.usage.input_tokens,
              cache_read_input_tokens: m.usage.cache_read_input_tokens,
              cache_creation_input_tokens: m.usage.cache_creation_input_tokens,
              output_tokens: 1,
            },
          }),
    },
  });
  send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  send('ping', { type: 'ping' });
  for (let i = 0; i < chunks && !closed; i++) {
    if (delay) await sleep(delay);
    send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: REPLY_WORDS[i % REPLY_WORDS.length] } });
  }
  if (delay) await sleep(delay);
  send('content_block_stop', { type: 'content_block_stop', index: 0 });
  send('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    ...(provider.behaviour.omitUsage
      ? {}
      : {
          usage: { output_tokens: m.usage.output_tokens, ...(m.usage.output_tokens_details ? { output_tokens_details: m.usage.output_tokens_details } : {}) },
        }),
  });
  send('message_stop', { type: 'message_stop' });
  if (!closed) res.end();
  void req;
}

/** Every Anthropic route of the fake provider. */
export const anthropicRoutes: FakeRoute[] = [anthropicMessagesRoute];
