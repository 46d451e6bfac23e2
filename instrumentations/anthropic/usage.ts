import type { UsageTokens } from '../../src/engine/pricing.js';
import { StreamedOutput, type PartialUsage } from '../common/unreported-usage.js';

/**
 * Usage as the Anthropic Messages API reports it (`Usage` on a Message and in
 * `message_start`, `MessageDeltaUsage` in `message_delta`).
 *
 * Semantics (from the SDK's types and the API reference):
 * - `input_tokens` EXCLUDES cache reads and cache writes: the billed input is
 *   `input_tokens + cache_read_input_tokens + cache_creation_input_tokens`, each
 *   part at its own rate. The engine's `inputTokens` includes both, so we add
 *   them up and pass the cache parts as `cachedInputTokens`/`cacheWriteTokens`
 *   (priced once, at their own rates — never twice, never at the full rate).
 * - `output_tokens` is the inclusive, authoritative output total (thinking
 *   included); `output_tokens_details.thinking_tokens` is a breakdown of it and
 *   maps to `reasoningTokens` (part of output, never added on top).
 * - In a stream, `message_start` carries the input side (and a first output
 *   count); `message_delta` carries CUMULATIVE counts: `output_tokens` always,
 *   and the input/cache fields when not null (they then replace the earlier ones).
 */
export interface AnthropicWireUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number | null } | null;
}

const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined);

/** Accumulates usage over a Message or over the events of a stream. */
export class AnthropicUsageAccumulator {
  #input: number | undefined;
  #output: number | undefined;
  #cacheRead: number | undefined;
  #cacheWrite: number | undefined;
  #thinking: number | undefined;
  #seen = false;
  /** A `message_delta` (final cumulative usage) or a whole Message was seen. */
  complete = false;
  /** The model the provider says it used. */
  model: string | undefined;
  /** The streamed output text (text, tool-input JSON, thinking), counted for a stream cut short. */
  readonly output = new StreamedOutput();

  /** Merges a usage object; non-null fields replace earlier values (counts are cumulative). */
  apply(u: AnthropicWireUsage | null | undefined): void {
    if (!u || typeof u !== 'object') return;
    this.#seen = true;
    this.#input = count(u.input_tokens) ?? this.#input;
    this.#output = count(u.output_tokens) ?? this.#output;
    this.#cacheRead = count(u.cache_read_input_tokens) ?? this.#cacheRead;
    this.#cacheWrite = count(u.cache_creation_input_tokens) ?? this.#cacheWrite;
    this.#thinking = count(u.output_tokens_details?.thinking_tokens) ?? this.#thinking;
  }

  /** Feeds one stream event (`message_start`, `message_delta`; others are ignored). */
  onEvent(event: unknown): void {
    if (!event || typeof event !== 'object') return;
    const e = event as { type?: unknown; message?: { usage?: AnthropicWireUsage; model?: unknown }; usage?: AnthropicWireUsage };
    if (e.type === 'message_start') {
      if (typeof e.message?.model === 'string') this.model = e.message.model;
      this.apply(e.message?.usage);
    } else if (e.type === 'message_delta') {
      this.apply(e.usage);
      if (e.usage) this.complete = true;
    } else if (e.type === 'content_block_delta') {
      const d = (event as { delta?: { text?: unknown; partial_json?: unknown; thinking?: unknown } }).delta;
      if (d) {
        this.output.add(d.text);
        this.output.add(d.partial_json);
        this.output.add(d.thinking);
      }
    }
  }

  /** Feeds a whole (non-streamed) Message. */
  onMessage(message: unknown): void {
    if (!message || typeof message !== 'object') return;
    const m = message as { usage?: AnthropicWireUsage; model?: unknown };
    if (typeof m.model === 'string') this.model = m.model;
    if (m.usage) {
      this.apply(m.usage);
      this.complete = true;
    }
  }

  /** The final usage: only once a `message_delta` or a whole Message reported it. */
  final(): UsageTokens | undefined {
    return this.complete ? this.usage() : undefined;
  }

  /** The counts reported so far, in the engine's semantics; a count not reported is undefined. */
  reported(): PartialUsage | undefined {
    if (!this.#seen) return undefined;
    const input = this.#input === undefined ? undefined : this.#input + (this.#cacheRead ?? 0) + (this.#cacheWrite ?? 0);
    return {
      ...(input !== undefined ? { inputTokens: input } : {}),
      ...(this.#output !== undefined ? { outputTokens: this.#output } : {}),
      ...(this.#cacheRead !== undefined ? { cachedInputTokens: this.#cacheRead } : {}),
      ...(this.#cacheWrite !== undefined ? { cacheWriteTokens: this.#cacheWrite } : {}),
      ...(this.#thinking !== undefined ? { reasoningTokens: this.#thinking } : {}),
    };
  }

  /** The usage so far in the engine's semantics, or undefined when none was reported. */
  usage(): UsageTokens | undefined {
    if (!this.#seen) return undefined;
    return toUsageTokens({
      input_tokens: this.#input,
      output_tokens: this.#output,
      cache_read_input_tokens: this.#cacheRead,
      cache_creation_input_tokens: this.#cacheWrite,
      output_tokens_details: this.#thinking === undefined ? null : { thinking_tokens: this.#thinking },
    });
  }
}

/** Anthropic usage → engine usage (see {@link AnthropicWireUsage} for the semantics). */
export function toUsageTokens(u: AnthropicWireUsage): UsageTokens {
  const uncached = count(u.input_tokens) ?? 0;
  const read = count(u.cache_read_input_tokens);
  const write = count(u.cache_creation_input_tokens);
  const output = count(u.output_tokens) ?? 0;
  const thinking = count(u.output_tokens_details?.thinking_tokens);
  return {
    inputTokens: uncached + (read ?? 0) + (write ?? 0),
    outputTokens: output,
    ...(read !== undefined ? { cachedInputTokens: read } : {}),
    ...(write !== undefined ? { cacheWriteTokens: write } : {}),
    ...(thinking !== undefined ? { reasoningTokens: Math.min(thinking, output) } : {}),
  };
}
