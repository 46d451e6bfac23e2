/**
 * What the OpenTelemetry GenAI semantic conventions ask of a client inference
 * span (`gen_ai.client.inference`, in open-telemetry/semantic-conventions-genai
 * `docs/gen-ai/client-inference.md` and the provider refinements `openai.md`,
 * `anthropic.md`, `aws-bedrock.md`), as checks a test can run on an exported
 * span: the Required and Conditionally Required attributes, their types, the
 * span name and kind, and this package's own rules on top (the model sent is
 * `gen_ai.request.model`, the requested one `agentguard.decision.model_requested`;
 * a block or failure carries `error.type`, an ERROR status and an exception).
 */

/** The parts of an exported span the checks read (a `ReadableSpan` fits). */
export interface SpanLike {
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status: { code: number; message?: string };
  events: { name: string; attributes?: Record<string, unknown> }[];
}

/** What the call was, to hold its span against. */
export interface ExpectedCall {
  provider: 'openai' | 'anthropic' | 'aws.bedrock';
  /** `gen_ai.operation.name`, e.g. `chat`. */
  operation: string;
  /** The model the request was sent with (after a downgrade, the cheaper one). */
  sentModel: string;
  /** The model the app asked for, when the guard changed it. */
  requestedModel?: string;
  stream?: boolean;
  /** The call ended in an error (a block, a provider error): its `error.type`. */
  errorType?: string;
  /** A response arrived: the response attributes are expected. */
  responded?: boolean;
  /** `server.address` expected (the client's base URL host). */
  serverAddress?: string;
  /** OpenAI only: `chat_completions` or `responses`. */
  openaiApiType?: 'chat_completions' | 'responses';
}

const SPAN_KIND_CLIENT = 2;
const STATUS_ERROR = 2;

/** Every way `span` falls short of the conventions for `call`; empty when it conforms. */
export function genAiSpanProblems(span: SpanLike, call: ExpectedCall): string[] {
  const a = span.attributes;
  const problems: string[] = [];
  const want = (key: string, value: unknown) => {
    if (JSON.stringify(a[key]) !== JSON.stringify(value)) problems.push(`${key}: expected ${JSON.stringify(value)}, got ${JSON.stringify(a[key])}`);
  };
  const typed = (key: string, type: 'string' | 'int' | 'string[]' | 'boolean') => {
    const v = a[key];
    const ok =
      type === 'string'
        ? typeof v === 'string' && v !== ''
        : type === 'int'
          ? Number.isSafeInteger(v)
          : type === 'boolean'
            ? typeof v === 'boolean'
            : Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (!ok) problems.push(`${key}: expected ${type}, got ${JSON.stringify(v)}`);
  };

  // Span name, kind
  if (span.name !== `${call.operation} ${call.sentModel}`) problems.push(`span name: expected "${call.operation} ${call.sentModel}", got "${span.name}"`);
  if (span.kind !== SPAN_KIND_CLIENT) problems.push(`span kind: expected CLIENT, got ${span.kind}`);
  // Required
  want('gen_ai.operation.name', call.operation);
  want('gen_ai.provider.name', call.provider);
  // Conditionally required
  want('gen_ai.request.model', call.sentModel);
  if (call.requestedModel && call.requestedModel !== call.sentModel) want('agentguard.decision.model_requested', call.requestedModel);
  if (call.stream) want('gen_ai.request.stream', true);
  else if ('gen_ai.request.stream' in a) problems.push('gen_ai.request.stream: set only on streaming requests');
  if (call.serverAddress !== undefined) {
    want('server.address', call.serverAddress);
    typed('server.port', 'int');
  } else if ('server.address' in a && !('server.port' in a)) problems.push('server.port: required when server.address is set');
  if (call.openaiApiType) want('openai.api.type', call.openaiApiType);
  if (call.errorType !== undefined) {
    want('error.type', call.errorType);
    if (span.status.code !== STATUS_ERROR) problems.push('status: expected ERROR');
    const exception = span.events.find((e) => e.name === 'exception');
    if (!exception) problems.push('exception event: missing');
    else if (exception.attributes?.['exception.type'] !== call.errorType)
      problems.push(`exception.type: expected ${JSON.stringify(call.errorType)}, got ${JSON.stringify(exception.attributes?.['exception.type'])}`);
  } else {
    if ('error.type' in a) problems.push(`error.type: set on a call that did not fail (${JSON.stringify(a['error.type'])})`);
    if (span.status.code === STATUS_ERROR) problems.push('status: ERROR on a call that did not fail');
  }
  // Recommended, once a response arrived
  if (call.responded) {
    typed('gen_ai.response.id', 'string');
    typed('gen_ai.response.model', 'string');
    typed('gen_ai.response.finish_reasons', 'string[]');
    typed('gen_ai.usage.input_tokens', 'int');
    typed('gen_ai.usage.output_tokens', 'int');
  }
  // Names the conventions replaced. (Cache writes: `client-inference.md` says
  // `gen_ai.usage.cache_write.input_tokens`, the provider refinements still
  // `cache_creation`; not judged here until the registry settles.)
  for (const old of ['gen_ai.system', 'gen_ai.usage.prompt_tokens', 'gen_ai.usage.completion_tokens']) {
    if (old in a) problems.push(`${old}: superseded (see the current registry)`);
  }
  return problems;
}
