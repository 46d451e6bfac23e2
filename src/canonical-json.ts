import canonicalize from 'canonicalize';
import { CanonicalizationError } from './errors.js';

/**
 * RFC 8785 (JCS) canonical JSON of a plain JSON value.
 *
 * Serialization is done by `canonicalize` (the RFC co-author's implementation);
 * this wrapper first rejects what JCS or our wire format cannot carry
 * faithfully: non-plain objects (Date, Map, class instances, toJSON), `undefined`,
 * functions, NaN/Infinity, integers beyond ±(2^53−1), lone surrogates and cycles.
 * Anything larger than a safe integer must travel as a string.
 */
export function canonicalJson(value: unknown): string {
  // Fast path: one walk that validates and serializes. Anything it does not
  // accept (including a cycle, seen as excessive depth) goes the slow way, which
  // throws the error naming the path, or serializes with `canonicalize`.
  const fast = serialize(value, 0);
  if (fast !== undefined) return fast;
  assertPlainJson(value, '$', new Set());
  return canonicalize(value) as string;
}

/** Deeper than this, the fast path gives up (and the slow path checks for cycles). */
const MAX_FAST_DEPTH = 64;

/**
 * RFC 8785 of a plain JSON value, or undefined when the value needs the slow
 * path. Keys sort by UTF-16 code units (the default sort), strings and numbers
 * print as `JSON.stringify` does (ECMAScript's Number-to-string, `-0` → `0`).
 */
function serialize(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed() ? JSON.stringify(value) : undefined;
    case 'number':
      return Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value)) ? JSON.stringify(value) : undefined;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return 'null';
  if (depth >= MAX_FAST_DEPTH) return undefined;
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item = serialize(value[i], depth + 1);
      if (item === undefined) return undefined;
      out += i === 0 ? item : `,${item}`;
    }
    return `${out}]`;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const keys = Object.keys(value).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (!key.isWellFormed()) return undefined;
    const item = serialize((value as Record<string, unknown>)[key], depth + 1);
    if (item === undefined) return undefined;
    out += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${item}`;
  }
  return `${out}}`;
}

function assertPlainJson(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new CanonicalizationError(`${path}: lone surrogate in string`);
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalizationError(`${path}: ${value} is not a JSON number`);
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        throw new CanonicalizationError(`${path}: integer ${value} is beyond ±(2^53−1); send it as a string`);
      }
      return;
    case 'boolean':
      return;
    case 'object':
      break;
    default:
      throw new CanonicalizationError(`${path}: ${typeof value} is not a JSON value`);
  }
  if (value === null) return;
  if (seen.has(value)) throw new CanonicalizationError(`${path}: circular reference`);
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertPlainJson(value[i], `${path}[${i}]`, seen);
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new CanonicalizationError(`${path}: ${proto?.constructor?.name ?? 'object'} instance is not a plain JSON object`);
    }
    for (const key of Object.keys(value)) {
      if (!key.isWellFormed()) throw new CanonicalizationError(`${path}: lone surrogate in key ${JSON.stringify(key)}`);
      assertPlainJson((value as Record<string, unknown>)[key], `${path}.${key}`, seen);
    }
  }
  seen.delete(value);
}
