import type { UsageTokens } from '../../src/engine/pricing.js';
import type { ReportedUsage, StreamUsageReader } from '../common/provider-adapter.js';
import { StreamedOutput, type PartialUsage } from '../common/unreported-usage.js';

/**
 * Usage as the AI SDK's language models report it, in either shape:
 *
 * - `LanguageModelV3`/`V4` (`ai` 6 and 7): `inputTokens: { total, noCache,
 *   cacheRead, cacheWrite }`, `outputTokens: { total, text, reasoning }`. The
 *   providers compute `inputTokens.total` INCLUDING cache reads and writes
 *   (Anthropic's and Bedrock's providers add them to the wire `input_tokens`),
 *   and `outputTokens.total` includes reasoning: exactly the engine's
 *   convention, so the counts are taken as they are.
 * - `LanguageModelV2` (`ai` 5): flat `inputTokens`, `outputTokens`,
 *   `reasoningTokens`, `cachedInputTokens`. Its `inputTokens` is taken as the
 *   total (OpenAI's semantics).
 */
export interface AiSdkUsage {
  inputTokens?: number | { total?: number | null; noCache?: number | null; cacheRead?: number | null; cacheWrite?: number | null } | null;
  outputTokens?: number | { total?: number | null; text?: number | null; reasoning?: number | null } | null;
  reasoningTokens?: number | null;
  cachedInputTokens?: number | null;
}

const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined);

/** The counts a usage object reports, in the engine's semantics; a count not reported is undefined. */
export function reportedUsage(usage: unknown): PartialUsage | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const u = usage as AiSdkUsage;
  const out: PartialUsage = {};
  if (u.inputTokens && typeof u.inputTokens === 'object') {
    const i = u.inputTokens;
    const total = count(i.total) ?? sumIfAny(count(i.noCache), count(i.cacheRead), count(i.cacheWrite));
    if (total !== undefined) out.inputTokens = total;
    if (count(i.cacheRead) !== undefined) out.cachedInputTokens = count(i.cacheRead)!;
    if (count(i.cacheWrite) !== undefined) out.cacheWriteTokens = count(i.cacheWrite)!;
  } else if (count(u.inputTokens) !== undefined) {
    out.inputTokens = count(u.inputTokens)!;
    if (count(u.cachedInputTokens) !== undefined) out.cachedInputTokens = count(u.cachedInputTokens)!;
  }
  if (u.outputTokens && typeof u.outputTokens === 'object') {
    const o = u.outputTokens;
    const total = count(o.total) ?? sumIfAny(count(o.text), count(o.reasoning));
    if (total !== undefined) out.outputTokens = total;
    if (count(o.reasoning) !== undefined) out.reasoningTokens = count(o.reasoning)!;
  } else if (count(u.outputTokens) !== undefined) {
    out.outputTokens = count(u.outputTokens)!;
    if (count(u.reasoningTokens) !== undefined) out.reasoningTokens = count(u.reasoningTokens)!;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Complete usage (both totals reported), with the cache and reasoning parts where they fit the totals. */
export function finalUsage(reported: PartialUsage | undefined): UsageTokens | undefined {
  if (!reported || reported.inputTokens === undefined || reported.outputTokens === undefined) return undefined;
  const usage: UsageTokens = { inputTokens: reported.inputTokens, outputTokens: reported.outputTokens };
  if ((reported.cachedInputTokens ?? 0) + (reported.cacheWriteTokens ?? 0) <= reported.inputTokens) {
    if (reported.cachedInputTokens !== undefined) usage.cachedInputTokens = reported.cachedInputTokens;
    if (reported.cacheWriteTokens !== undefined) usage.cacheWriteTokens = reported.cacheWriteTokens;
  }
  if (reported.reasoningTokens !== undefined && reported.reasoningTokens <= reported.outputTokens) usage.reasoningTokens = reported.reasoningTokens;
  return usage;
}

/** Usage of a complete `doGenerate` result. */
export function generateResultUsage(result: unknown): ReportedUsage {
  const r = (result ?? {}) as { usage?: unknown; finishReason?: unknown; response?: { id?: unknown; modelId?: unknown } };
  const reported = reportedUsage(r.usage);
  return {
    final: finalUsage(reported),
    reported,
    model: typeof r.response?.modelId === 'string' ? r.response.modelId : undefined,
    id: typeof r.response?.id === 'string' ? r.response.id : undefined,
    finishReasons: finishReasonsOf(r.finishReason),
  };
}

/** `finishReason` is a string in V2 and `{ unified, raw }` in V3/V4. */
function finishReasonsOf(reason: unknown): string[] | undefined {
  if (typeof reason === 'string') return [reason];
  const unified = (reason as { unified?: unknown } | undefined)?.unified;
  return typeof unified === 'string' ? [unified] : undefined;
}

/**
 * Folds the parts of a `doStream` stream: usage from the `finish` part (the
 * providers put the final usage there), the response model from
 * `response-metadata`, and the output text, reasoning and tool-input deltas
 * for a stream cut short. An `error` part is remembered: a stream that ends
 * after one without a `finish` part failed mid-way.
 */
export class AiSdkStreamReader implements StreamUsageReader<unknown> {
  readonly output = new StreamedOutput();
  #reported: PartialUsage | undefined;
  #final: UsageTokens | undefined;
  #model: string | undefined;
  #id: string | undefined;
  #finishReasons: string[] | undefined;
  /** The first `error` part seen, if any. */
  error: unknown;

  observe(part: unknown): void {
    if (!part || typeof part !== 'object') return;
    const p = part as {
      type?: unknown;
      delta?: unknown;
      textDelta?: unknown;
      input?: unknown;
      usage?: unknown;
      finishReason?: unknown;
      modelId?: unknown;
      id?: unknown;
      error?: unknown;
    };
    switch (p.type) {
      case 'text-delta':
      case 'reasoning-delta':
      case 'reasoning':
      case 'tool-input-delta':
        this.output.add(p.delta ?? p.textDelta);
        break;
      case 'response-metadata':
        if (typeof p.modelId === 'string') this.#model = p.modelId;
        if (typeof p.id === 'string') this.#id = p.id;
        break;
      case 'finish':
        this.#reported = reportedUsage(p.usage);
        this.#final = finalUsage(this.#reported);
        this.#finishReasons = finishReasonsOf(p.finishReason);
        break;
      case 'error':
        this.error ??= p.error ?? new Error('stream error part');
        break;
    }
  }

  get usage(): ReportedUsage {
    return { final: this.#final, reported: this.#reported, model: this.#model, id: this.#id, finishReasons: this.#finishReasons };
  }
}

function sumIfAny(...parts: (number | undefined)[]): number | undefined {
  return parts.some((p) => p !== undefined) ? parts.reduce<number>((a, b) => a + (b ?? 0), 0) : undefined;
}
