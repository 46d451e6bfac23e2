/**
 * Installs our wrapper on an SDK method so that it coexists with other
 * instrumentations of the same method.
 *
 * Why not `InstrumentationBase._wrap` (shimmer): `_wrap` first *unwraps* any
 * method that carries shimmer's markers (`__wrapped`, `__original`,
 * `__unwrap`). Had we wrapped with it, an instrumentation registered after ours
 * (`@opentelemetry/instrumentation-openai`, OpenLLMetry, OpenInference...)
 * would silently remove enforcement. So our wrapper is not marked as wrapped
 * (no `__wrapped`, no `__unwrap`; it keeps only the `__original` link, which
 * chain walkers read and `_wrap` ignores without the other two) and is
 * recognised by a private `Symbol.for` key instead (shared by every copy of
 * this package). To shimmer it looks like the original method: a later `_wrap`
 * wraps over it, and that wrapper's unwrap restores it; another
 * instrumentation's `_unwrap` of ours finds nothing to undo. Hence:
 * - patching again (enable after disable, a second instance, another copy of
 *   this package) finds our wrapper, on top or below shimmer wrappers, and
 *   re-activates it for the new instrumentation instead of stacking another;
 * - unpatching removes it only when it is on top; when something wraps over it,
 *   removing ours would cut their chain, so ours switches to pass-through;
 * - a method the target only inherits (Bedrock's `send`) is looked up on the
 *   parent at call time, so a later patch of the parent (aws-sdk's
 *   `Client.prototype.send`) still runs below ours; unpatching then deletes our
 *   own property instead of pinning the parent's method.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (this: any, ...args: any[]) => any;

/** Our wrapper's state, stored on it under the caller's marker. */
export interface CoexistingWrapperState<I> {
  /** The instrumentation whose config the wrapper enforces (the last one that patched). */
  instrumentation: I;
  /** False: passes every call straight to the original (unpatched while not on top). */
  active: boolean;
  /** The method we replaced (undefined when it was inherited). */
  original: unknown;
  /** The method was an own property of the target before we patched. */
  hadOwn: boolean;
}

/**
 * Puts our wrapper on `target[name]`, or re-activates it for `instrumentation`
 * when it is already in the chain. `guard(callOriginal, state)` builds the
 * enforcing function; the installed wrapper runs it while `state.active`, and
 * `callOriginal` otherwise. Returns false when `target[name]` is not a function.
 */
export function installCoexistingWrapper<I>(
  target: object,
  name: string,
  marker: symbol,
  instrumentation: I,
  guard: (callOriginal: AnyFn, state: CoexistingWrapperState<I>) => AnyFn,
): boolean {
  const t = target as Record<string, unknown>;
  const current = t[name];
  if (typeof current !== 'function') return false;
  const hadOwn = Object.prototype.hasOwnProperty.call(target, name);
  const existing = hadOwn ? findCoexistingWrapper<I>(current, marker) : undefined;
  if (existing) {
    existing.instrumentation = instrumentation;
    existing.active = true;
    return true;
  }
  const state: CoexistingWrapperState<I> = { instrumentation, active: true, original: hadOwn ? current : undefined, hadOwn };
  const parent = Object.getPrototypeOf(target) as Record<string, unknown> | null;
  const callOriginal: AnyFn = hadOwn
    ? (current as AnyFn)
    : function (this: unknown, ...args: unknown[]) {
        return (parent?.[name] as AnyFn).apply(this, args);
      };
  const guarded = guard(callOriginal, state);
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    return (state.active ? guarded : callOriginal).apply(this, args);
  };
  Object.defineProperty(wrapper, marker, { value: state });
  Object.defineProperty(wrapper, '__original', { value: callOriginal, configurable: true, writable: true });
  Object.defineProperty(wrapper, 'name', { value: (current as AnyFn).name || name });
  define(target, name, wrapper);
  return true;
}

/** Removes our wrapper when it is on top; when another wrapper sits over it, switches ours to pass-through. */
export function uninstallCoexistingWrapper(target: object, name: string, marker: symbol): void {
  if (!Object.prototype.hasOwnProperty.call(target, name)) return;
  const current = (target as Record<string, unknown>)[name];
  const top = typeof current === 'function' ? (current as unknown as Record<symbol, CoexistingWrapperState<unknown> | undefined>)[marker] : undefined;
  if (top) {
    top.active = false;
    if (top.hadOwn) define(target, name, top.original);
    else delete (target as Record<string, unknown>)[name];
    return;
  }
  const below = findCoexistingWrapper(current, marker);
  if (below) below.active = false;
}

/** Our wrapper's state if `fn` is our wrapper or reaches it through shimmer's `__original` links. */
export function findCoexistingWrapper<I = unknown>(fn: unknown, marker: symbol): CoexistingWrapperState<I> | undefined {
  let f = fn;
  for (let depth = 0; typeof f === 'function' && depth < 32; depth++) {
    const state = (f as unknown as Record<symbol, CoexistingWrapperState<I> | undefined>)[marker];
    if (state) return state;
    f = (f as { __original?: unknown }).__original;
  }
  return undefined;
}

function define(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, {
    configurable: true,
    writable: true,
    enumerable: Object.prototype.propertyIsEnumerable.call(target, name),
    value,
  });
}
