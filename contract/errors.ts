/**
 * Every failure that reaches a user carries one of these codes. The HTTP status is part of the
 * public contract (../shared/CONTRACT.md); codes after the contract's list are our extensions.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  compile_error: 422,
  unauthorized: 401,
  not_found: 404,
  payload_too_large: 413,
  function_error: 500,
  cpu_limit_exceeded: 503,
  memory_limit_exceeded: 503,
  overloaded: 503,
  timeout: 504,
  // extensions
  stack_overflow: 500,
  artifact_invalid: 422,
  engine_mismatch: 422,
  method_not_allowed: 405,
  unavailable: 503,
  internal_error: 500,
  request_timeout: 408,
  /** a tenant token asked for something only the operator (root token) may do */
  forbidden: 403,
  /** a deploy or write that would take a tenant over one of its quotas */
  quota_exceeded: 403,
  /** over a function's or a tenant's request rate (with Retry-After) */
  rate_limited: 429,
  /** a name or route already taken (by another function or tenant) */
  conflict: 409,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class FaasError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable detail (e.g. file/line/col of a compile error). */
  detail?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, detail?: Record<string, unknown>) {
    super(message);
    this.name = 'FaasError';
    this.code = code;
    this.detail = detail;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function isFaasError(err: unknown): err is FaasError {
  return err instanceof FaasError;
}

/** An error as it crosses a thread boundary (structured-clone data). */
export interface WireError {
  code: string;
  message: string;
  detail?: Record<string, unknown>;
}

export function toWire(err: unknown): WireError {
  if (err instanceof FaasError) return { code: err.code, message: err.message, detail: err.detail };
  return { code: 'internal_error', message: err instanceof Error ? err.message : String(err) };
}

export function fromWire(e: WireError): FaasError {
  const code = (Object.hasOwn(ERROR_STATUS, e.code) ? e.code : 'internal_error') as ErrorCode;
  return new FaasError(code, e.message, e.detail);
}
