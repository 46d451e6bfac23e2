/** Base class of every error this package throws on purpose. */
export class AgentGuardError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A value cannot be canonicalized (RFC 8785) or carried in a decision. */
export class CanonicalizationError extends AgentGuardError {}

/** A checkpoint could not be made (no chain id yet, signer not the chain's current key, entries out of order). */
export class CheckpointError extends AgentGuardError {}

/** What is wrong with a stored log line, as a stable code. */
export type LogLineErrorCode =
  | 'invalid_utf8'
  | 'invalid_json'
  | 'not_an_object'
  | 'missing_field'
  | 'bad_field'
  | 'unknown_field'
  | 'duplicate_key'
  | 'non_canonical'
  | 'line_too_long';

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
