/**
 * Fake Amazon Bedrock Runtime routes for {@link FakeProvider}:
 *
 * - `POST /model/{modelId}/converse` and `/invoke`: JSON.
 * - `POST /model/{modelId}/converse-stream` and `/invoke-with-response-stream`: the AWS
 *   event-stream binary framing (`application/vnd.amazon.eventstream`), one frame per
 *   event, built with `EventStreamCodec` (headers `:event-type`, `:message-type`,
 *   `:content-type`). InvokeModel stream chunks are `{ bytes: base64(JSON) }` in the model
 *   family's dialect; the last one carries `amazon-bedrock-invocationMetrics`.
 *
 * The InvokeModel body dialect follows the model id's family: Anthropic, Amazon Nova,
 * Amazon Titan, Meta Llama; any other family (e.g. Mistral) answers with no usage in the
 * body, only Bedrock's metering headers `x-amzn-bedrock-input-token-count` /
 * `-output-token-count`.
 *
 * `FakeBehaviour.usage` is in the engine's semantics (inputTokens INCLUDES cached and
 * cache-write tokens); each route reports it in Bedrock's (uncached input apart from
 * cache read/write). Nothing from the request is ever echoed back.
 *
 * The AWS SDK's default Node request handler for this client speaks HTTP/2; this server
 * is HTTP/1.1, so clients pointed at it pass `requestHandler: new NodeHttpHandler()`
 * (from `@smithy/node-http-handler`).
 */
import type { ServerResponse } from 'node:http';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { sendJson, sleep, type FakeProvider, type FakeRequest, type FakeRoute } from './server.js';

/** Bedrock-only knobs (held by reference: tests may change them between calls). */
export interface BedrockFakeKnobs {
  /** Leave the usage out of bodies and stream events, and the metering headers/metrics too. */
  omitUsage?: boolean;
  /** Leave the usage out of InvokeModel response bodies only (the metering headers stay). */
  omitBodyUsage?: boolean;
  /** Leave out Bedrock's metering (token-count headers, `amazon-bedrock-invocationMetrics`). */
  omitMetering?: boolean;
  /** In a stream, send a `modelStreamErrorException` frame after this many content chunks. */
  streamErrorAfterChunks?: number;
}

const codec = new EventStreamCodec(
  (bytes: Uint8Array) => new TextDecoder().decode(bytes),
  (text: string) => new TextEncoder().encode(text),
);

const DEFAULT_USAGE = { inputTokens: 120, outputTokens: 40 };
const TEXT = 'Hello from the fake Bedrock provider.';

type Family = 'anthropic' | 'nova' | 'titan' | 'titan-embed' | 'meta' | 'other';

function familyOf(modelId: string): Family {
  let id = modelId;
  if (id.startsWith('arn:')) id = id.slice(id.lastIndexOf('/') + 1);
  id = id.replace(/^(?:us|us-gov|eu|apac|ap|jp|au|ca|global)\./, '');
  if (id.startsWith('anthropic.')) return 'anthropic';
  if (id.startsWith('amazon.nova')) return 'nova';
  if (id.startsWith('amazon.titan-embed')) return 'titan-embed';
  if (id.startsWith('amazon.titan')) return 'titan';
  if (id.startsWith('meta.')) return 'meta';
  return 'other';
}

/** Usage split the way Bedrock reports it. */
function bedrockUsage(provider: FakeProvider) {
  const u = { ...DEFAULT_USAGE, ...provider.behaviour.usage };
  const cacheRead = u.cachedInputTokens ?? 0;
  const cacheWrite = u.cacheWriteTokens ?? 0;
  return {
    uncached: Math.max(0, u.inputTokens - cacheRead - cacheWrite),
    output: u.outputTokens,
    cacheRead,
    cacheWrite,
    hasCache: u.cachedInputTokens !== undefined || u.cacheWriteTokens !== undefined,
  };
}

function fail(res: ServerResponse, status: number): true {
  const type =
    status === 429
      ? 'ThrottlingException'
      : status === 400
        ? 'ValidationException'
        : status === 503
          ? 'ServiceUnavailableException'
          : 'InternalServerException';
  return sendJson(res, status, { message: 'fake provider failure' }, { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` });
}

function frame(eventType: string, payload: unknown): Uint8Array {
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':message-type': { type: 'string', value: 'event' },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: new TextEncoder().encode(JSON.stringify(payload)),
  });
}

function exceptionFrame(exceptionType: string): Uint8Array {
  return codec.encode({
    headers: {
      ':exception-type': { type: 'string', value: exceptionType },
      ':message-type': { type: 'string', value: 'exception' },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: new TextEncoder().encode(JSON.stringify({ message: 'fake stream failure' })),
  });
}

/** Writes frames with the configured pacing; stops quietly when the client went away. */
async function writeFrames(res: ServerResponse, provider: FakeProvider, frames: Iterable<Uint8Array>): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'fake-request-id' });
  let first = true;
  for (const f of frames) {
    if (res.destroyed || res.writableEnded) return;
    if (!first && provider.behaviour.chunkDelayMs) await sleep(provider.behaviour.chunkDelayMs);
    first = false;
    if (res.destroyed) return;
    res.write(Buffer.from(f));
  }
  if (!res.destroyed) res.end();
}

function chunkTexts(provider: FakeProvider): string[] {
  const n = Math.max(1, provider.behaviour.streamChunks ?? 3);
  return Array.from({ length: n }, (_, i) => `part ${i + 1} `);
}

function converseBody(provider: FakeProvider, knobs: BedrockFakeKnobs) {
  const u = bedrockUsage(provider);
  return {
    output: { message: { role: 'assistant', content: [{ text: TEXT }] } },
    stopReason: 'end_turn',
    ...(knobs.omitUsage
      ? {}
      : {
          usage: {
            inputTokens: u.uncached,
            outputTokens: u.output,
            totalTokens: u.uncached + u.cacheRead + u.cacheWrite + u.output,
            ...(u.hasCache ? { cacheReadInputTokens: u.cacheRead, cacheWriteInputTokens: u.cacheWrite } : {}),
          },
        }),
    metrics: { latencyMs: 12 },
  };
}

function* converseStreamFrames(provider: FakeProvider, knobs: BedrockFakeKnobs): Generator<Uint8Array> {
  const body = converseBody(provider, knobs);
  yield frame('messageStart', { role: 'assistant' });
  let i = 0;
  for (const text of chunkTexts(provider)) {
    if (knobs.streamErrorAfterChunks !== undefined && i === knobs.streamErrorAfterChunks) {
      yield exceptionFrame('modelStreamErrorException');
      return;
    }
    yield frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text } });
    i++;
  }
  yield frame('contentBlockStop', { contentBlockIndex: 0 });
  yield frame('messageStop', { stopReason: 'end_turn' });
  yield frame('metadata', { ...(body.usage ? { usage: body.usage } : {}), metrics: { latencyMs: 12 } });
}

function invokeBody(family: Family, provider: FakeProvider, knobs: BedrockFakeKnobs): Record<string, unknown> {
  const u = bedrockUsage(provider);
  const omit = knobs.omitUsage || knobs.omitBodyUsage;
  switch (family) {
    case 'anthropic':
      return {
        id: 'msg_fake',
        type: 'message',
        role: 'assistant',
        model: 'claude-fake',
        content: [{ type: 'text', text: TEXT }],
        stop_reason: 'end_turn',
        ...(omit
          ? {}
          : { usage: { input_tokens: u.uncached, output_tokens: u.output, cache_read_input_tokens: u.cacheRead, cache_creation_input_tokens: u.cacheWrite } }),
      };
    case 'nova':
      return {
        output: { message: { role: 'assistant', content: [{ text: TEXT }] } },
        stopReason: 'end_turn',
        ...(omit
          ? {}
          : {
              usage: {
                inputTokens: u.uncached,
                outputTokens: u.output,
                totalTokens: u.uncached + u.output + u.cacheRead + u.cacheWrite,
                cacheReadInputTokenCount: u.cacheRead,
                cacheWriteInputTokenCount: u.cacheWrite,
              },
            }),
      };
    case 'titan-embed':
      // Titan Text Embeddings: a vector and the input count, nothing generated.
      return omit ? { embedding: [0.25, -0.5, 1] } : { embedding: [0.25, -0.5, 1], inputTextTokenCount: u.uncached };
    case 'titan':
      return omit
        ? { results: [{ outputText: TEXT, completionReason: 'FINISH' }] }
        : { inputTextTokenCount: u.uncached, results: [{ tokenCount: u.output, outputText: TEXT, completionReason: 'FINISH' }] };
    case 'meta':
      return omit
        ? { generation: TEXT, stop_reason: 'stop' }
        : { generation: TEXT, prompt_token_count: u.uncached, generation_token_count: u.output, stop_reason: 'stop' };
    default:
      return { outputs: [{ text: TEXT, stop_reason: 'stop' }] };
  }
}

function meteringHeaders(provider: FakeProvider, knobs: BedrockFakeKnobs, family?: Family): Record<string, string> {
  if (knobs.omitUsage || knobs.omitMetering) return {};
  const u = bedrockUsage(provider);
  // An embedding generates nothing: only the input is metered.
  if (family === 'titan-embed') return { 'x-amzn-bedrock-input-token-count': String(u.uncached) };
  return {
    'x-amzn-bedrock-input-token-count': String(u.uncached),
    'x-amzn-bedrock-output-token-count': String(u.output),
    ...(u.hasCache
      ? { 'x-amzn-bedrock-cache-read-input-token-count': String(u.cacheRead), 'x-amzn-bedrock-cache-write-input-token-count': String(u.cacheWrite) }
      : {}),
  };
}

function invocationMetrics(provider: FakeProvider, knobs: BedrockFakeKnobs): Record<string, unknown> {
  if (knobs.omitUsage || knobs.omitMetering) return {};
  const u = bedrockUsage(provider);
  return {
    'amazon-bedrock-invocationMetrics': {
      inputTokenCount: u.uncached,
      outputTokenCount: u.output,
      invocationLatency: 12,
      firstByteLatency: 5,
      ...(u.hasCache ? { cacheReadInputTokenCount: u.cacheRead, cacheWriteInputTokenCount: u.cacheWrite } : {}),
    },
  };
}

/** The chunk payloads of an InvokeModelWithResponseStream response, in the family's dialect. */
function invokeStreamChunks(family: Family, provider: FakeProvider, knobs: BedrockFakeKnobs): Record<string, unknown>[] {
  const u = bedrockUsage(provider);
  const omit = knobs.omitUsage;
  const texts = chunkTexts(provider);
  const chunks: Record<string, unknown>[] = [];
  switch (family) {
    case 'anthropic':
      chunks.push({
        type: 'message_start',
        message: {
          id: 'msg_fake',
          type: 'message',
          role: 'assistant',
          model: 'claude-fake',
          content: [],
          ...(omit
            ? {}
            : { usage: { input_tokens: u.uncached, output_tokens: 1, cache_read_input_tokens: u.cacheRead, cache_creation_input_tokens: u.cacheWrite } }),
        },
      });
      chunks.push({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
      for (const text of texts) chunks.push({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } });
      chunks.push({ type: 'content_block_stop', index: 0 });
      chunks.push({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, ...(omit ? {} : { usage: { output_tokens: u.output } }) });
      chunks.push({ type: 'message_stop' });
      break;
    case 'nova':
      chunks.push({ messageStart: { role: 'assistant' } });
      for (const text of texts) chunks.push({ contentBlockDelta: { delta: { text }, contentBlockIndex: 0 } });
      chunks.push({ contentBlockStop: { contentBlockIndex: 0 } });
      chunks.push({ messageStop: { stopReason: 'end_turn' } });
      if (!omit) chunks.push({ metadata: { usage: { inputTokens: u.uncached, outputTokens: u.output } } });
      break;
    case 'titan':
      texts.forEach((text, i) =>
        chunks.push({
          outputText: text,
          index: 0,
          totalOutputTextTokenCount: omit ? undefined : Math.ceil((u.output * (i + 1)) / texts.length),
          completionReason: i === texts.length - 1 ? 'FINISH' : null,
          inputTextTokenCount: omit || i > 0 ? undefined : u.uncached,
        }),
      );
      break;
    case 'meta':
      texts.forEach((text, i) =>
        chunks.push({
          generation: text,
          prompt_token_count: omit || i > 0 ? null : u.uncached,
          generation_token_count: omit ? null : Math.ceil((u.output * (i + 1)) / texts.length),
          stop_reason: i === texts.length - 1 ? 'stop' : null,
        }),
      );
      break;
    default:
      texts.forEach((text, i) => chunks.push({ outputs: [{ text, stop_reason: i === texts.length - 1 ? 'stop' : null }] }));
  }
  Object.assign(chunks[chunks.length - 1]!, invocationMetrics(provider, knobs));
  return chunks;
}

function* invokeStreamFrames(family: Family, provider: FakeProvider, knobs: BedrockFakeKnobs): Generator<Uint8Array> {
  let i = 0;
  for (const chunk of invokeStreamChunks(family, provider, knobs)) {
    if (knobs.streamErrorAfterChunks !== undefined && i === knobs.streamErrorAfterChunks) {
      yield exceptionFrame('modelStreamErrorException');
      return;
    }
    yield frame('chunk', { bytes: Buffer.from(JSON.stringify(chunk)).toString('base64') });
    i++;
  }
}

const ROUTE = /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream)$/;

/** Bedrock Runtime routes; `knobs` is read on every request. */
export function createBedrockRoutes(knobs: BedrockFakeKnobs = {}): FakeRoute[] {
  const route: FakeRoute = async (req: FakeRequest, res: ServerResponse, provider: FakeProvider) => {
    if (req.method !== 'POST') return false;
    const m = ROUTE.exec(req.path);
    if (!m) return false;
    const modelId = decodeURIComponent(m[1]!);
    const op = m[2]!;
    if (provider.behaviour.failWithStatus) return fail(res, provider.behaviour.failWithStatus);
    switch (op) {
      case 'converse':
        return sendJson(res, 200, converseBody(provider, knobs), { 'x-amzn-requestid': 'fake-request-id' });
      case 'converse-stream':
        await writeFrames(res, provider, converseStreamFrames(provider, knobs));
        return true;
      case 'invoke':
        return sendJson(res, 200, invokeBody(familyOf(modelId), provider, knobs), {
          'x-amzn-requestid': 'fake-request-id',
          ...meteringHeaders(provider, knobs, familyOf(modelId)),
        });
      default:
        await writeFrames(res, provider, invokeStreamFrames(familyOf(modelId), provider, knobs));
        return true;
    }
  };
  return [route];
}

/** The default Bedrock routes (no knobs). */
export const bedrockRoutes: FakeRoute[] = createBedrockRoutes();
