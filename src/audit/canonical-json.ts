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
  assertPlainJson(value, '$', new Set());
  return canonicalize(value) as string;
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
