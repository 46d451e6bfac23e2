import type { DecisionLogEntry } from './chain.js';
import { MAX_ENTRY_DEPTH } from './entry-json.js';
import { LogLineError } from './errors.js';

/** Longest line {@link parseLogLine} accepts (characters or bytes). */
export const MAX_LOG_LINE_LENGTH = 1 << 20;

const ENTRY_FIELDS = ['sequence', 'decision', 'previousHash', 'entryHash', 'signature', 'signerFingerprint'] as const;
/** Top-level fields a stored line may carry besides the entry fields (see {@link parseLogLine}). */
const OPTIONAL_FIELDS = ['publicKeyHex', 'builderCode'] as const;
const ALLOWED_FIELDS: ReadonlySet<string> = new Set([...ENTRY_FIELDS, ...OPTIONAL_FIELDS]);
const HEX16 = /^[0-9a-f]{16}$/;
const HEX64 = /^[0-9a-f]{64}$/;
/** Hex standing for bytes: all lower case or all upper case (the Python port accepts both; mixed case is nobody's output). */
const ANY_CASE_HEX64 = /^(?:[0-9a-f]{64}|[0-9A-F]{64})$/;
const ANY_CASE_HEX128 = /^(?:[0-9a-f]{128}|[0-9A-F]{128})$/;
/** A builder code as the Python port writes and hashes it: upper-case letters and digits, 6 to 12 of them. */
export const BUILDER_CODE = /^[A-Z0-9]{6,12}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses one stored JSONL line into a log entry. This is the one reader every
 * path uses (the library, `verify`, `report`, `replay`): it checks the line's
 * bytes, not only the value `JSON.parse` makes of them, so that everything a
 * reader of the line can see is something the signature covers:
 * - valid UTF-8 (`invalid_utf8`) and valid JSON (`invalid_json`), a JSON
 *   object (`not_an_object`), at most {@link MAX_LOG_LINE_LENGTH} long (`line_too_long`);
 * - no key twice in one object, at any depth (`duplicate_key`): parsers
 *   disagree on which of two values wins;
 * - every number an integer written canonically, `-?(0|[1-9][0-9]*)` within
 *   ±(2^53−1), never `-0`, `1.0` or `1e2` (`non_canonical`): other readers
 *   would see another value than the one hashed;
 * - only the entry fields, plus `publicKeyHex` (unsigned, must match the signed
 *   fingerprint) and `builderCode` (`null`, or the Python port's form, which is
 *   then part of the hashed body) at the top level (`unknown_field`);
 * - field types and hex forms (`missing_field`, `bad_field`). Hashes and the
 *   fingerprint are lower-case hex (they are hashed or compared as text); the
 *   signature and `publicKeyHex` stand for bytes and may be all lower or all
 *   upper case, never mixed.
 *
 * Whether the entry is authentic is {@link verifyChain}'s job.
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
  checkLineBytes(text);
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!ALLOWED_FIELDS.has(key)) {
      throw new LogLineError(
        'unknown_field',
        `unknown top-level field ${JSON.stringify(key)}: it is not signed (only entry fields, publicKeyHex and builderCode may be on a line)`,
        key,
      );
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
  if (typeof o.signature !== 'string' || !ANY_CASE_HEX128.test(o.signature)) throw bad('signature', 'is not 128 hex characters, all lower or all upper case');
  if (typeof o.signerFingerprint !== 'string' || !HEX16.test(o.signerFingerprint)) throw bad('signerFingerprint', 'is not 16 lowercase hex characters');
  if (o.publicKeyHex !== undefined && (typeof o.publicKeyHex !== 'string' || !ANY_CASE_HEX64.test(o.publicKeyHex))) {
    throw bad('publicKeyHex', 'is not 64 hex characters, all lower or all upper case');
  }
  if (o.builderCode === null) {
    // The Python port's file store writes an absent builder code as null: the same as no field.
    delete o.builderCode;
  } else if (o.builderCode !== undefined && (typeof o.builderCode !== 'string' || !BUILDER_CODE.test(o.builderCode))) {
    throw new LogLineError(
      'non_canonical',
      'builderCode is not null or 6-12 upper-case letters and digits (the form the Python port hashes; another spelling would not be what was signed)',
      'builderCode',
    );
  }
  return o as unknown as DecisionLogEntry;
}

const CANONICAL_INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

interface Frame {
  /** Keys seen so far (objects), or null (arrays). */
  keys: Set<string> | null;
  /** The last key read (objects; null before the first) or the element index (arrays). */
  at: string | number | null;
}

/** `decision.triggeredCap.reason`-style path of the value the innermost frame is at. */
function pathOf(stack: Frame[]): string {
  let out = '';
  for (const f of stack) {
    if (typeof f.at === 'number') out += `[${f.at}]`;
    else if (f.at !== null) out += out ? `.${f.at}` : f.at;
  }
  return out;
}

/**
 * Walks the characters of `text` (valid JSON, already parsed) and rejects what
 * `JSON.parse` silently accepts: a key twice in one object, and numbers not
 * written as canonical safe integers. One pass, linear in the line's length.
 */
function checkLineBytes(text: string): void {
  const stack: Frame[] = [];
  /** The next string is an object key (after `{` or `,` in an object). */
  let keyNext = false;
  const n = text.length;
  /** Where the next backslash is (only strings hold one): strings before it are skipped with indexOf. */
  let nextBackslash = text.indexOf('\\');
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = text.indexOf('"', i + 1);
      let escaped = false;
      if (nextBackslash !== -1 && nextBackslash < j) {
        // An escape inside: walk it, so an escaped quote does not end the string.
        escaped = true;
        j = i + 1;
        for (;;) {
          const d = text.charCodeAt(j);
          if (d === 0x22) break;
          j += d === 0x5c /* \ */ ? 2 : 1;
        }
        nextBackslash = text.indexOf('\\', j + 1);
      }
      const top = stack[stack.length - 1];
      if (keyNext && top?.keys) {
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        if (top.keys.has(key)) {
          top.at = key;
          const where = pathOf(stack);
          const parent = pathOf(stack.slice(0, -1));
          throw new LogLineError(
            'duplicate_key',
            `duplicate key ${JSON.stringify(key)}${parent ? ` in ${parent}` : ''}: readers disagree on which value counts`,
            where,
          );
        }
        top.keys.add(key);
        top.at = key;
        keyNext = false;
      }
      i = j + 1;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= MAX_ENTRY_DEPTH) {
        const where = pathOf(stack);
        throw new LogLineError('bad_field', `${where || 'line'} is nested deeper than ${MAX_ENTRY_DEPTH} levels`, where);
      }
      stack.push(c === 0x7b ? { keys: new Set(), at: null } : { keys: null, at: 0 });
      keyNext = c === 0x7b;
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      keyNext = false;
      i++;
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1]!;
      if (top.keys === null) (top.at as number)++;
      keyNext = top.keys !== null;
      i++;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (!((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d)) break;
      }
      const num = text.slice(i, j);
      if (!CANONICAL_INTEGER.test(num) || num === '-0' || !Number.isSafeInteger(Number(num))) {
        const where = pathOf(stack);
        throw new LogLineError(
          'non_canonical',
          `number ${num.length > 40 ? `${num.slice(0, 40)}…` : num} at ${where || 'top level'} is not an integer written canonically within ±(2^53−1): other readers would see another value than the one hashed`,
          where,
        );
      }
      i = j;
    } else {
      // whitespace, ':', and the letters of true/false/null
      i++;
    }
  }
}
