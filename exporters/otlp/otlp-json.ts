import { CHECKPOINT_TYPE } from '../../src/audit/checkpoint.js';
import { LOG_EVENT, LOG_RECORD_ATTR } from '../otel/log-records.js';

/** One OTLP `AnyValue` as JSON (int64 as a decimal string, as the OTLP JSON encoding writes it, or a number). */
interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string | number;
  [other: string]: unknown;
}

interface OtlpKeyValue {
  key?: string;
  value?: OtlpAnyValue;
}

interface OtlpLogRecord {
  eventName?: string;
  body?: OtlpAnyValue;
  attributes?: OtlpKeyValue[];
}

/** A decision-log record found in an OTLP logs document. */
export interface OtlpDecisionRecord {
  kind: 'entry' | 'checkpoint';
  /** `agentguard.chain.id`. */
  chainId: string;
  /** The body: the entry's JSONL line or the checkpoint's line (null when the body is not a string). */
  body: string | null;
  /** The `agentguard.decision.sequence` attribute, when it is an integer. */
  sequence: number | null;
}

/**
 * The decision-log records of one OTLP logs document (an
 * `ExportLogsServiceRequest` or `LogsData`: `{ resourceLogs: [...] }`, as
 * the Collector's file exporter writes one per line), in document order.
 * Records without an `agentguard.chain.id` attribute (the app's own logs) are
 * skipped. Throws when `doc` is not an OTLP logs document.
 */
export function decisionRecordsOf(doc: unknown): OtlpDecisionRecord[] {
  const resourceLogs = (doc as { resourceLogs?: unknown } | null)?.resourceLogs;
  if (!Array.isArray(resourceLogs)) throw new TypeError('not an OTLP logs document (no resourceLogs array)');
  const out: OtlpDecisionRecord[] = [];
  for (const rl of resourceLogs as { scopeLogs?: unknown }[]) {
    for (const sl of arrayOf<{ logRecords?: unknown }>(rl?.scopeLogs)) {
      for (const lr of arrayOf<OtlpLogRecord>(sl?.logRecords)) {
        const attrs = new Map<string, OtlpAnyValue | undefined>();
        for (const kv of arrayOf<OtlpKeyValue>(lr?.attributes)) if (typeof kv?.key === 'string') attrs.set(kv.key, kv.value);
        const chainId = attrs.get(LOG_RECORD_ATTR.CHAIN_ID)?.stringValue;
        if (typeof chainId !== 'string') continue;
        const body = typeof lr.body?.stringValue === 'string' ? lr.body.stringValue : null;
        out.push({ kind: isCheckpoint(lr.eventName, body) ? 'checkpoint' : 'entry', chainId, body, sequence: intOf(attrs.get(LOG_RECORD_ATTR.SEQUENCE)) });
      }
    }
  }
  return out;
}

/** A checkpoint record: named so, or (when a pipeline dropped the event name) a checkpoint body. */
function isCheckpoint(eventName: string | undefined, body: string | null): boolean {
  if (eventName === LOG_EVENT.CHECKPOINT) return true;
  if (eventName === LOG_EVENT.ENTRY) return false;
  return body !== null && body.includes(`"type":"${CHECKPOINT_TYPE}"`);
}

function intOf(v: OtlpAnyValue | undefined): number | null {
  const raw = v?.intValue;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

function arrayOf<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}
