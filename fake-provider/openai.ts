import type { ServerResponse } from 'node:http';
import { sendJson, sleep, type FakeBehaviour, type FakeProvider, type FakeRequest, type FakeRoute } from './server.js';

/**
 * OpenAI routes of the fake provider: `POST /v1/chat/completions` and
 * `POST /v1/responses`, as JSON or as server-sent events (`stream: true`),
 * and `POST /v1/embeddings` (one 3-dimension vector per input, as floats or
 * base64 per `encoding_format`; usage is the input tokens alone).
 *
 * Streams follow the real API: chat chunks end with a usage-only chunk
 * (`choices: []`) only when the request set `stream_options.include_usage`;
 * Responses streams carry usage in `response.completed`. Usage counts follow
 * OpenAI's semantics: `prompt_tokens`/`input_tokens` include the cached
 * tokens, `completion_tokens`/`output_tokens` include the reasoning tokens.
 * Nothing from the request is echoed back except the model name.
 */
export const OPENAI_FAKE_TEXT = 'Hello from the fake provider.';

const DEFAULT_USAGE = { inputTokens: 25, outputTokens: 10, cachedInputTokens: 0, reasoningTokens: 0 };
let counter = 0;

interface OpenAIBody {
  model?: unknown;
  tools?: { function?: { name?: unknown } }[];
  messages?: { role?: unknown }[];
  stream?: unknown;
  stream_options?: { include_usage?: unknown } | null;
}

function usageOf(behaviour: FakeBehaviour) {
  const u = { ...DEFAULT_USAGE, ...behaviour.usage };
  return {
    input: u.inputTokens,
    output: u.outputTokens,
    cached: u.cachedInputTokens ?? 0,
    reasoning: u.reasoningTokens ?? 0,
  };
}

function modelOf(body: OpenAIBody): string {
  return typeof body?.model === 'string' ? body.model : 'unknown-model';
}

function pieces(behaviour: FakeBehaviour): string[] {
  const n = Math.max(1, behaviour.streamChunks ?? 3);
  const words = OPENAI_FAKE_TEXT.split(' ');
  return Array.from({ length: n }, (_, i) => (i === 0 ? '' : ' ') + (words[i % words.length] ?? 'x'));
}

function fail(res: ServerResponse, provider: FakeProvider): boolean {
  const status = provider.behaviour.failWithStatus;
  if (!status) return false;
  sendJson(res, status, {
    error: { message: 'fake provider failure', type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: null },
  });
  return true;
}

function openSse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-request-id': `req_fake_${++counter}` });
}

async function writeEvent(res: ServerResponse, provider: FakeProvider, data: unknown, event?: string): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (provider.behaviour.chunkDelayMs) await sleep(provider.behaviour.chunkDelayMs);
  if (res.destroyed || res.writableEnded) return false;
  res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  return true;
}

const chatCompletions: FakeRoute = async (req: FakeRequest, res, provider) => {
  if (req.method !== 'POST' || req.path !== '/v1/chat/completions') return false;
  if (fail(res, provider)) return true;
  const body = (req.body ?? {}) as OpenAIBody;
  const model = modelOf(body);
  const u = usageOf(provider.behaviour);
  const id = `chatcmpl-fake${++counter}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cached, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
  if (body.stream !== true) {
    const tool = provider.behaviour.toolCall && body.messages?.at(-1)?.role !== 'tool' ? body.tools?.[0]?.function?.name : undefined;
    const choice =
      typeof tool === 'string'
        ? {
            index: 0,
            message: {
              role: 'assistant',
              content: null,
              refusal: null,
              tool_calls: [{ id: `call_fake${counter}`, type: 'function', function: { name: tool, arguments: '{}' } }],
            },
            logprobs: null,
            finish_reason: 'tool_calls',
          }
        : { index: 0, message: { role: 'assistant', content: OPENAI_FAKE_TEXT, refusal: null }, logprobs: null, finish_reason: 'stop' };
    return sendJson(
      res,
      200,
      {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [choice],
        ...(provider.behaviour.omitUsage ? {} : { usage }),
        service_tier: 'default',
        system_fingerprint: 'fp_fake',
      },
      { 'x-request-id': `req_fake_${counter}` },
    );
  }
  const includeUsage = body.stream_options?.include_usage === true;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    system_fingerprint: 'fp_fake',
    choices,
    ...(includeUsage ? { usage: null } : {}),
    ...extra,
  });
  openSse(res);
  const parts = pieces(provider.behaviour);
  const events: unknown[] = [chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }])];
  for (const p of parts) events.push(chunk([{ index: 0, delta: { content: p }, logprobs: null, finish_reason: null }]));
  events.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]));
  if (includeUsage && !provider.behaviour.omitUsage) events.push(chunk([], { usage }));
  for (const e of events) if (!(await writeEvent(res, provider, e))) return true;
  await writeEvent(res, provider, '[DONE]');
  res.end();
  return true;
};

/**
 * One Responses API answer as the events a stream carries (`response.created`
 * ... `response.completed` with usage), and the complete response body. The
 * HTTP route sends them as server-sent events; the websocket fake
 * (`./openai-websocket.ts`) as messages.
 */
export function responsesAnswer(body: unknown, behaviour: FakeBehaviour): { events: Record<string, unknown>[]; response: Record<string, unknown> } {
  const model = modelOf((body ?? {}) as OpenAIBody);
  const u = usageOf(behaviour);
  const id = `resp_fake${++counter}`;
  const msgId = `msg_fake${counter}`;
  const created_at = Math.floor(Date.now() / 1000);
  const usage = {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cached },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: u.input + u.output,
  };
  const message = (text: string, status: string) => ({
    type: 'message',
    id: msgId,
    status,
    role: 'assistant',
    content: text || status === 'completed' ? [{ type: 'output_text', text, annotations: [], logprobs: [] }] : [],
  });
  const response = (status: string, output: unknown[], withUsage: boolean) => ({
    id,
    object: 'response',
    created_at,
    status,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage: withUsage && !behaviour.omitUsage ? usage : null,
    metadata: {},
  });
  const parts = pieces(behaviour);
  const text = parts.join('');
  const steps: [string, Record<string, unknown>][] = [
    ['response.created', { response: response('in_progress', [], false) }],
    ['response.in_progress', { response: response('in_progress', [], false) }],
    ['response.output_item.added', { output_index: 0, item: message('', 'in_progress') }],
    [
      'response.content_part.added',
      { output_index: 0, content_index: 0, item_id: msgId, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } },
    ],
    ...parts.map((delta): [string, Record<string, unknown>] => [
      'response.output_text.delta',
      { output_index: 0, content_index: 0, item_id: msgId, delta, logprobs: [] },
    ]),
    ['response.output_text.done', { output_index: 0, content_index: 0, item_id: msgId, text, logprobs: [] }],
    ['response.content_part.done', { output_index: 0, content_index: 0, item_id: msgId, part: { type: 'output_text', text, annotations: [], logprobs: [] } }],
    ['response.output_item.done', { output_index: 0, item: message(text, 'completed') }],
    ['response.completed', { response: response('completed', [message(text, 'completed')], true) }],
  ];
  return {
    events: steps.map(([type, data], seq) => ({ type, sequence_number: seq, ...data })),
    response: response('completed', [message(OPENAI_FAKE_TEXT, 'completed')], true),
  };
}

const responses: FakeRoute = async (req: FakeRequest, res, provider) => {
  if (req.method !== 'POST' || req.path !== '/v1/responses') return false;
  if (fail(res, provider)) return true;
  const body = (req.body ?? {}) as OpenAIBody;
  const answer = responsesAnswer(body, provider.behaviour);
  if (body.stream !== true) return sendJson(res, 200, answer.response, { 'x-request-id': `req_fake_${counter}` });
  openSse(res);
  for (const event of answer.events) if (!(await writeEvent(res, provider, event, event.type as string))) return true;
  res.end();
  return true;
};

const EMBEDDING = [0.25, -0.5, 1];

const embeddings: FakeRoute = async (req: FakeRequest, res, provider) => {
  if (req.method !== 'POST' || req.path !== '/v1/embeddings') return false;
  if (fail(res, provider)) return true;
  const body = (req.body ?? {}) as OpenAIBody & { input?: unknown; encoding_format?: unknown };
  const inputs = Array.isArray(body.input) && body.input.length > 0 && typeof body.input[0] !== 'number' ? body.input.length : 1;
  const base64 = body.encoding_format === 'base64';
  const vector = base64 ? Buffer.from(new Float32Array(EMBEDDING).buffer).toString('base64') : EMBEDDING;
  const u = usageOf(provider.behaviour);
  return sendJson(
    res,
    200,
    {
      object: 'list',
      data: Array.from({ length: inputs }, (_, index) => ({ object: 'embedding', index, embedding: vector })),
      model: modelOf(body),
      ...(provider.behaviour.omitUsage ? {} : { usage: { prompt_tokens: u.input, total_tokens: u.input } }),
    },
    { 'x-request-id': `req_fake_${++counter}` },
  );
};

/** The fake's embedding vector (every input gets it). */
export const OPENAI_FAKE_EMBEDDING: readonly number[] = EMBEDDING;

/** The OpenAI routes, for `new FakeProvider(openaiRoutes)` or `provider.use(...openaiRoutes)`. */
export const openaiRoutes: FakeRoute[] = [chatCompletions, responses, embeddings];
