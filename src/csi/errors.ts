/**
 * Errors that cross the gRPC boundary. A service throws a `CsiError` with the status code the CSI
 * spec prescribes for the case; anything else that escapes (an API server failure, a bug) is mapped
 * by `toCsiError` to the nearest code, so the CO retries what is worth retrying and shows the rest.
 */
import { status } from '@grpc/grpc-js';
import { apiErrorMessage, isTransient, statusCodeOf } from '../kube/index.js';

/** An error with a gRPC status; `details` is the message the CO (and `kubectl describe pvc`) shows. */
export class CsiError extends Error {
  readonly details: string;
  constructor(readonly code: status, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CsiError';
    this.details = message;
  }
}

export const invalidArgument = (message: string): CsiError => new CsiError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string): CsiError => new CsiError(status.NOT_FOUND, message);
export const alreadyExists = (message: string): CsiError => new CsiError(status.ALREADY_EXISTS, message);
export const aborted = (message: string): CsiError => new CsiError(status.ABORTED, message);
export const resourceExhausted = (message: string): CsiError => new CsiError(status.RESOURCE_EXHAUSTED, message);
export const deadlineExceeded = (message: string): CsiError => new CsiError(status.DEADLINE_EXCEEDED, message);
export const failedPrecondition = (message: string): CsiError => new CsiError(status.FAILED_PRECONDITION, message);
export const outOfRange = (message: string): CsiError => new CsiError(status.OUT_OF_RANGE, message);
export const unavailable = (message: string): CsiError => new CsiError(status.UNAVAILABLE, message);

/** Any error that already carries a gRPC status: ours, or one of the same shape (code 1..16 plus details). */
function isGrpcShaped(err: unknown): err is { code: status; details: string; message: string } {
  if (typeof err !== 'object' || err === null) return false;
  const { code, details } = err as { code?: unknown; details?: unknown };
  return typeof code === 'number' && code >= 1 && code <= 16 && typeof details === 'string';
}

/**
 * The gRPC error to answer with. API server answers map as a sidecar expects: 404 → NOT_FOUND,
 * 409 (a concurrent writer) → ABORTED (retry), 400/422 (the server refused what we wrote, i.e. bad
 * input got through) → INVALID_ARGUMENT, 429/5xx/unreachable → UNAVAILABLE; a cancelled call →
 * CANCELLED; everything else → INTERNAL.
 */
export function toCsiError(err: unknown): CsiError {
  if (err instanceof CsiError) return err;
  if (isGrpcShaped(err)) return new CsiError(err.code, err.details || err.message, { cause: err });
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) {
    return new CsiError(err.name === 'AbortError' ? status.CANCELLED : status.DEADLINE_EXCEEDED, err.message, { cause: err });
  }
  const httpCode = statusCodeOf(err);
  if (httpCode !== undefined || isTransient(err)) {
    const message = `Kubernetes API: ${apiErrorMessage(err)}`;
    if (httpCode === 404) return new CsiError(status.NOT_FOUND, message, { cause: err });
    if (httpCode === 409) return new CsiError(status.ABORTED, message, { cause: err });
    if (httpCode === 400 || httpCode === 422) return new CsiError(status.INVALID_ARGUMENT, message, { cause: err });
    if (isTransient(err)) return new CsiError(status.UNAVAILABLE, message, { cause: err });
  }
  return new CsiError(status.INTERNAL, err instanceof Error ? err.message : String(err), { cause: err });
}
