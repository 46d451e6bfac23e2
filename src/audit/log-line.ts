import type { DecisionLogEntry } from './chain.js';
import { LogLineError } from './errors.js';

/** Longest line {@link parseLogLine} accepts (characters or bytes). */
export const MAX_LOG_LINE_LENGTH = 1 << 20;

const ENTRY_FIELDS = ['sequence', 'decision', 'previousHash', 'entryHash', 'signature', 'signerFingerprint'] as const;
const HEX16 = /^[0-9a-f]{16}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses one stored JSONL line into a log entry, checking only its shape
 * (fields present, of the right type, hex where hex is due, no unknown
 * top-level field). Whether the entry is authentic is {@link verifyChain}'s job.
 *
 * A deliberately tiny reader for tests, fuzzing and ad-hoc tools; the file
 * exporter has its own reader (torn last line, rotation, resume).
 *
 * @throws LogLineError (never anything else) with a `code` and the `field` at fault.
 */
export function parseLogLine(line: string | Uint8Array): DecisionLogEntry {
  if (line.length > MAX_LOG_LINE_LENGTH) throw new LogLineError('line_too_long', `longer than ${MAX_LOG_LINE_LENGTH}`);
  let text: string;
  if (typeof line === 'string') {
    text = line;
  } else {
    try {
      text = utf8.decode(line);
    } catch (err) {
      throw new LogLineError('invalid_utf8', 'not valid UTF-8', undefined, { cause: err });
    }
  }
  if (text.endsWith('\n')) text = text.slice(0, text.endsWith('\r\n') ? -2 : -1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new LogLineError('invalid_json', `not valid JSON (${err instanceof Error ? err.message : String(err)})`, undefined, { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new LogLineError('not_an_object', `expected a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(ENTRY_FIELDS as readonly string[]).includes(key) && key !== 'publicKeyHex') {
      throw new LogLineError('unknown_field', `unknown field ${JSON.stringify(key)} (only entry fields and publicKeyHex are allowed)`, key);
    }
  }
  for (const field of ENTRY_FIELDS) {
    if (!(field in o)) throw new LogLineError('missing_field', `missing field ${field}`, field);
  }
  const bad = (field: string, what: string) => new LogLineError('bad_field', `${field} ${what}`, field);
  if (!Number.isSafeInteger(o.sequence) || (o.sequence as number) < 0) throw bad('sequence', 'is not a non-negative integer');
  if (o.decision === null || typeof o.decision !== 'object' || Array.isArray(o.decision)) throw bad('decision', 'is not an object');
  if (typeof o.previousHash !== 'string' || !HEX64.test(o.previousHash)) throw bad('previousHash', 'is not 64 lowercase hex characters');
  if (typeof o.entryHash !== 'string' || !HEX64.test(o.entryHash)) throw bad('entryHash', 'is not 64 lowercase hex characters');
  if (typeof o.signature !== 'string' || !HEX128.test(o.signature)) throw bad('signature', 'is not 128 lowercase hex characters');
  if (typeof o.signerFingerprint !== 'string' || !HEX16.test(o.signerFingerprint)) throw bad('signerFingerprint', 'is not 16 lowercase hex characters');
  if (o.publicKeyHex !== undefined && (typeof o.publicKeyHex !== 'string' || !HEX64.test(o.publicKeyHex))) {
    throw bad('publicKeyHex', 'is not 64 lowercase hex characters');
  }
  return o as unknown as DecisionLogEntry;
}
