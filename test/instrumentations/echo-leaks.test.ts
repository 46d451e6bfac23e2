/**
 * Review: real providers echo request content (and sometimes key fragments) in
 * their error messages. Whatever the provider says, no prompt marker and no
 * API key may reach a span (attributes, events, status), the signed log, an
 * OpenTelemetry diag line, a warning or stderr.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withAnthropicSpendGuard } from '../../instrumentations/anthropic/index.js';
import { withSpendGuard } from '../../instrumentations/openai/index.js';
import { makeGuard, policy, setupTracing, until } from '../helpers/openai.js';

const PROMPT = 'PROMPT-MARKER-7f3a91';
const KEY = 'sk-KEY-MARKER-c0ffee';

let server: Server;
let url = '';
/** What the echoing provider does next. */
let mode: 'error400' | 'stream-error' = 'error400';

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      // Echo everything: the request body and the credential headers.
      const echo = `bad request: ${body} auth=${req.headers.authorization ?? ''} key=${req.headers['x-api-key'] ?? ''}`;
      if (mode === 'error400') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: echo, type: 'invalid_request_error' }, type: 'error' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.url?.includes('/messages')) {
        res.write(
          `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'm', type: 'message', role: 'assistant', model: 'claude-3-5-haiku-latest', content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } })}\n\n`,
        );
        res.write(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: echo } })}\n\n`);
      } else {
        res.write(
          `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }] })}\n\n`,
        );
        res.write(`data: ${JSON.stringify({ error: { message: echo, type: 'server_error' } })}\n\n`);
      }
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('review: provider errors that echo the prompt and the key', () => {
  it('leave no marker in spans, the signed log, diag lines, warnings or stderr', async () => {
    const exporter = setupTracing();
    exporter.reset();
    const captured: string[] = [];
    const sink = (...args: unknown[]) => captured.push(args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : String(a))).join(' '));
    diag.setLogger({ error: sink, warn: sink, info: sink, debug: sink, verbose: sink }, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
    const stderrWrite = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
      captured.push(String(chunk));
      return (stderrWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    const onWarning = (w: Error) => captured.push(`${w.name} ${w.message}`);
    process.on('warning', onWarning);
    const t = makeGuard([policy([])], {});
    const anthropicGuard = makeGuard([policy([], { id: 'p-anthropic' })]);
    try {
      const openai = withSpendGuard(new OpenAI({ apiKey: KEY, baseURL: `${url}/v1`, maxRetries: 0 }), { guard: t.guard, scope: { tenantId: 't1' } });
      const anthropic = withAnthropicSpendGuard(
        new Anthropic({ apiKey: KEY, baseURL: url, maxRetries: 0, openTelemetry: false } as ConstructorParameters<typeof Anthropic>[0]),
        {
          guard: anthropicGuard.guard,
          scope: { tenantId: 't1' },
        },
      );
      const errors: unknown[] = [];
      const messages = [{ role: 'user' as const, content: PROMPT }];

      mode = 'error400';
      errors.push(await openai.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 10 }).catch((e: unknown) => e));
      errors.push(await openai.responses.create({ model: 'gpt-4o', input: PROMPT, max_output_tokens: 10 }).catch((e: unknown) => e));
      errors.push(await anthropic.messages.create({ model: 'claude-3-5-sonnet-20241022', messages, max_tokens: 10 }).catch((e: unknown) => e));

      mode = 'stream-error';
      errors.push(
        await (async () => {
          const s = await openai.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 10, stream: true });
          for await (const _ of s);
        })().catch((e: unknown) => e),
      );
      errors.push(
        await (async () => {
          const s = await anthropic.messages.create({ model: 'claude-3-5-sonnet-20241022', messages, max_tokens: 10, stream: true });
          for await (const _ of s);
        })().catch((e: unknown) => e),
      );
      await until(() => t.guard.pendingCount === 0 && anthropicGuard.guard.pendingCount === 0);

      // The grep is meaningful: the provider did echo both markers to the caller.
      expect(errors.map((e) => (e as Error).constructor.name)).toEqual(['BadRequestError', 'BadRequestError', 'BadRequestError', 'APIError', 'APIError']);
      for (const e of errors) expect((e as Error).message).toContain(PROMPT);
      expect(errors.map((e) => (e as Error).message).join('\n')).toContain(PROMPT);
      expect(errors.map((e) => (e as Error).message).join('\n')).toContain(KEY);

      const spans = exporter.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status }));
      expect(spans.length).toBeGreaterThanOrEqual(5);
      const everything = JSON.stringify(spans) + JSON.stringify(t.log.entries()) + JSON.stringify(anthropicGuard.log.entries()) + captured.join('\n');
      expect(everything).toContain('agentguard.decision.id');
      expect(everything).not.toContain(PROMPT);
      expect(everything).not.toContain(KEY);
    } finally {
      process.stderr.write = stderrWrite;
      process.off('warning', onWarning);
      diag.disable();
    }
  });
});
