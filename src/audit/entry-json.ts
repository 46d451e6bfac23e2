import { CanonicalizationError } from './errors.js';

/** Deepest nesting an entry may have; deeper input is rejected rather than overflowing the stack. */
export const MAX_ENTRY_DEPTH = 256;

/**
 * The canonical JSON that entry hashes are computed over: the decision log's
 * wire form, shared with the published Python port.
 *
 * It is RFC 8785 (JCS) narrowed and adjusted to what the Python port does, so
 * that every log written here verifies there and the other way round:
 * - numbers must be integers within ±(2^53−1): the port rejects every float
 *   (even `1.0`), and JavaScript cannot carry larger integers exactly;
 * - object keys sort by Unicode code point (the port's order). JCS sorts by
 *   UTF-16 code unit; the two differ only when one key holds a character above
 *   U+FFFF where another holds one in U+E000–U+FFFF at the same position;
 * - strings print as JCS prints them (`JSON.stringify` of a well-formed string);
 *   lone surrogates, NaN, Infinity, `undefined`, functions, cycles and
 *   non-plain objects (Date, Map, class instances) are errors.
 *
 * For general RFC 8785 output use {@link canonicalJson}.
 *
 * @throws CanonicalizationError naming the JSON path of the first bad value.
 */
export function entryCanonicalJson(value: unknown): string {
  return write(value, [], new Set());
}

/**
 * The JSON path of the value at `trail` (`$`, `.key`, `[index]`). Built only for
 * an error message: the walk keeps the trail as segments, not as strings made
 * for every value.
 */
function pathOf(trail: readonly (string | number)[]): string {
  let path = '$';
  for (const step of trail) path += typeof step === 'number' ? `[${step}]` : `.${step}`;
  return path;
}

function write(value: unknown, trail: (string | number)[], seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new CanonicalizationError(`${pathOf(trail)}: lone surrogate in string`);
      return JSON.stringify(value);
    case 'number':
      if (!Number.isSafeInteger(value)) {
        const path = pathOf(trail);
        if (!Number.isFinite(value)) throw new CanonicalizationError(`${path}: ${value} is not a JSON number`);
        if (!Number.isInteger(value)) {
          throw new CanonicalizationError(`${path}: ${value} is not an integer; the decision log carries integers only (the Python port rejects floats)`);
        }
        throw new CanonicalizationError(`${path}: integer ${value} is beyond ±(2^53−1); send it as a string`);
      }
      return Object.is(value, -0) ? '0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw new CanonicalizationError(`${pathOf(trail)}: ${typeof value} is not a JSON value`);
  }
  if (value === null) return 'null';
  if (trail.length >= MAX_ENTRY_DEPTH) throw new CanonicalizationError(`${pathOf(trail)}: nested deeper than ${MAX_ENTRY_DEPTH} levels`);
  if (seen.has(value)) throw new CanonicalizationError(`${pathOf(trail)}: circular reference`);
  seen.add(value);
  // Appended to one string (no array of parts to join): entries are hashed on every call.
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) {
      trail.push(i);
      out += (i === 0 ? '' : ',') + write(value[i], trail, seen);
      trail.pop();
    }
    out += ']';
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new CanonicalizationError(`${pathOf(trail)}: ${proto?.constructor?.name ?? 'object'} instance is not a plain JSON object`);
    }
    const keys = sortKeysByCodePoint(Object.keys(value));
    out = '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (!key.isWellFormed()) throw new CanonicalizationError(`${pathOf(trail)}: lone surrogate in key`);
      trail.push(key);
      out += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${write((value as Record<string, unknown>)[key], trail, seen)}`;
      trail.pop();
    }
    out += '}';
  }
  seen.delete(value);
  return out;
}

const NEEDS_CODE_POINT_ORDER = /[\uD800-\uFFFF]/;

/** Sorts keys by Unicode code point (the default sort, by UTF-16 unit, is used when no key could differ). */
export function sortKeysByCodePoint(keys: string[]): string[] {
  if (!keys.some((k) => NEEDS_CODE_POINT_ORDER.test(k))) return keys.sort();
  return keys.sort(compareCodePoints);
}

/**
 * Compares two strings by Unicode code point. UTF-16 unit order agrees with it
 * except between a surrogate (U+D800–U+DFFF) and a unit in U+E000–U+FFFF; the
 * first differing units are shifted so that surrogates sort above U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixup(x) - fixup(y);
  }
  return a.length - b.length;
}

function fixup(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}
