import { describe, expect, it } from 'vitest';
import { genAiSpanProblems, type SpanLike } from '../../helpers/genai-conventions.js';

// The checks the instrumentation tests hold guarded spans to; tested here on
// spans shaped as the conventions ask, and on each way one can fall short.
const downgradedStream: SpanLike = {
  name: 'chat gpt-4o-mini',
  kind: 2,
  status: { code: 0 },
  events: [],
  attributes: {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini',
    'agentguard.decision.model_requested': 'gpt-4o',
    'gen_ai.request.stream': true,
    'server.address': 'api.openai.com',
    'server.port': 443,
    'openai.api.type': 'chat_completions',
    'gen_ai.response.id': 'chatcmpl-1',
    'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
    'gen_ai.response.finish_reasons': ['stop'],
    'gen_ai.usage.input_tokens': 12,
    'gen_ai.usage.output_tokens': 5,
  },
};
const call = {
  provider: 'openai',
  operation: 'chat',
  sentModel: 'gpt-4o-mini',
  requestedModel: 'gpt-4o',
  stream: true,
  responded: true,
  serverAddress: 'api.openai.com',
  openaiApiType: 'chat_completions',
} as const;

describe('GenAI span conventions helper', () => {
  it('passes a conforming downgraded stream span and a conforming block span', () => {
    expect(genAiSpanProblems(downgradedStream, call)).toEqual([]);
    const blocked: SpanLike = {
      name: 'chat claude-sonnet-4',
      kind: 2,
      status: { code: 2, message: 'AgentGuardBlockedError' },
      events: [{ name: 'exception', attributes: { 'exception.type': 'AgentGuardBlockedError' } }],
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.request.model': 'claude-sonnet-4',
        'error.type': 'AgentGuardBlockedError',
      },
    };
    expect(genAiSpanProblems(blocked, { provider: 'anthropic', operation: 'chat', sentModel: 'claude-sonnet-4', errorType: 'AgentGuardBlockedError' })).toEqual(
      [],
    );
  });

  it('names each gap: the requested model on the span, no error.type or exception on a block, no port, a replaced attribute name', () => {
    const stale: SpanLike = {
      ...downgradedStream,
      name: 'chat gpt-4o',
      status: { code: 2 },
      attributes: {
        ...downgradedStream.attributes,
        'gen_ai.request.model': 'gpt-4o',
        'server.port': undefined,
        'gen_ai.system': 'openai',
        'gen_ai.response.finish_reasons': 'stop',
      },
    };
    expect(genAiSpanProblems(stale, { ...call, errorType: 'AgentGuardBlockedError' })).toEqual([
      'span name: expected "chat gpt-4o-mini", got "chat gpt-4o"',
      'gen_ai.request.model: expected "gpt-4o-mini", got "gpt-4o"',
      'server.port: expected int, got undefined',
      'error.type: expected "AgentGuardBlockedError", got undefined',
      'exception event: missing',
      'gen_ai.response.finish_reasons: expected string[], got "stop"',
      'gen_ai.system: superseded (see the current registry)',
    ]);
  });
});
