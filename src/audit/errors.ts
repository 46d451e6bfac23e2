/**
 * The brand every {@link AgentGuardError} carries: the names of the classes of its chain,
 * its own first, `AgentGuardError` last. `Symbol.for`, so every copy of this package
 * (the ESM and CommonJS builds, `register`'s bundles) reads the same key.
 */
const ERROR_CLASSES = Symbol.for('agentguard-spend.error');

/**
 * Base class of every error this package throws on purpose.
 *
 * `instanceof` works across copies of the package: an error thrown by one copy
 * (e.g. the engine `agentguard-spend/register` bundles) is an instance of the
 * same-named class of another (the `agentguard-spend` an application imports),
 * by the class names it is branded with.
 */
export class AgentGuardError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    const names: string[] = [];
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) {
      names.push(c.name);
      if (c === AgentGuardError) break;
    }
    Object.defineProperty(this, ERROR_CLASSES, { value: Object.freeze(names), enumerable: false });
  }

  /** An instance of this class, or an error of another copy of this package branded with this class's name. */
  static override [Symbol.hasInstance]<T>(this: abstract new (...args: never[]) => T, value: unknown): value is T {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (typeof value !== 'object' || value === null) return false;
    const names = (value as { [ERROR_CLASSES]?: unknown })[ERROR_CLASSES];
    return Array.isArray(names) && names.includes(this.name);
  }
}

/** A value cannot be canonicalized (RFC 8785) or carried in a decision. */
export class CanonicalizationError extends AgentGuardError {}

/** A checkpoint could not be made (no chain id yet, signer not the chain's current key, entries out of order). */
export class CheckpointError extends AgentGuardError {}

/** What is wrong with a stored log line, as a stable code. */
export type LogLineErrorCode =
  'invalid_utf8' | 'invalid_json' | 'not_an_object' | 'missing_field' | 'bad_field' | 'unknown_field' | 'duplicate_key' | 'non_canonical' | 'line_too_long';

/** A stored decision-log line is not a well-formed entry. `code` says why, `field` which field. */
export class LogLineError extends AgentGuardError {
  readonly code: LogLineErrorCode;
  readonly field: string | undefined;
  constructor(code: LogLineErrorCode, message: string, field?: string, options?: ErrorOptions) {
    super(`log line: ${message}`, options);
    this.code = code;
    this.field = field;
  }
}
