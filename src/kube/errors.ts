/**
 * Reading what went wrong in a call to the API server, whichever way the error arrived:
 * `ApiException` of @kubernetes/client-node (`code`, `body` as text), our own REST errors (same
 * shape), a watch error (`statusCode`), a Kubernetes `Status` object, or a socket error (`code` as a
 * string such as ECONNREFUSED).
 */

/** Socket-level failures that mean "the API server is not reachable right now". */
const transientSocketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'ECONNABORTED']);

/**
 * The HTTP status code carried by an error from the API server, if there is one; errors that wrap
 * it (`cause`) are looked through, so a helper can add context without hiding the code.
 */
export function statusCodeOf(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    // `code` is set by ApiException and by a `Status` object (as in a watch ERROR event); a socket
    // error has a string code instead, which is not an HTTP status.
    const { code, statusCode } = e as { code?: unknown; statusCode?: unknown };
    if (typeof code === 'number') return code;
    if (typeof statusCode === 'number') return statusCode;
  }
  return undefined;
}

/** The `Status` object of an API error body (client-node hands it over as text), when it parses. */
export function statusBodyOf(err: unknown): { reason?: string; message?: string; code?: number } | undefined {
  let e: unknown = err;
  // Find the error that carries the status code; its body explains it.
  for (let depth = 0; typeof e === 'object' && e !== null && depth < 5 && (e as { body?: unknown }).body === undefined; depth++) e = (e as { cause?: unknown }).cause;
  if (typeof e !== 'object' || e === null) return undefined;
  const body = (e as { body?: unknown }).body;
  if (typeof body === 'object' && body !== null) return body as { reason?: string; message?: string };
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const parsed = JSON.parse(body) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as { reason?: string; message?: string }) : undefined;
  } catch {
    return undefined;
  }
}

/** A short human message for an API error: the server's own message where it gave one. */
export function apiErrorMessage(err: unknown): string {
  const status = statusBodyOf(err);
  const code = statusCodeOf(err);
  if (status?.message) return code ? `${code} ${status.reason ?? ''}: ${status.message}`.replace(' :', ':') : status.message;
  const message = err instanceof Error ? err.message : String(err);
  // ApiException's own message spells out code, body and headers on several lines; keep the gist.
  const gist = /^HTTP-Code: (\d+)\nMessage: ([^\n]*)/.exec(message);
  return gist ? `${gist[1]}: ${gist[2]}` : message;
}

export function isNotFound(err: unknown): boolean {
  return statusCodeOf(err) === 404;
}

export function isConflict(err: unknown): boolean {
  return statusCodeOf(err) === 409;
}

export function isAlreadyExists(err: unknown): boolean {
  return statusCodeOf(err) === 409 && statusBodyOf(err)?.reason === 'AlreadyExists';
}

/** 410 Gone: the resourceVersion a watch or list asked for has been compacted away. */
export function isGone(err: unknown): boolean {
  return statusCodeOf(err) === 410;
}

/** Socket error code (ECONNREFUSED, ...) of an error or of any error in its cause chain. */
export function socketCodeOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * True for failures worth retrying unchanged: throttling (429), server-side trouble (5xx) and an
 * unreachable server. A 409 conflict is not here: it needs a fresh read before retrying.
 */
export function isTransient(err: unknown): boolean {
  const code = statusCodeOf(err);
  if (code !== undefined) return code === 429 || code >= 500;
  const socket = socketCodeOf(err);
  if (socket !== undefined) return transientSocketCodes.has(socket);
  return false;
}

/**
 * Refusals: the server answered, and the answer will be the same until someone changes something
 * (credentials, RBAC, the CRDs, the request). Retrying as if the connection were lost only hides
 * them, so they are logged as what they are, with what to check.
 */
const refusalHints: Record<number, string> = {
  400: 'the request is malformed (a bad selector or field, or a bug in Loam)',
  401: 'the credentials were not accepted (check the token or client certificate of this component)',
  403: 'RBAC does not allow it (check the ClusterRole bound to this component\'s service account)',
  404: 'the resource does not exist on this server (are Loam\'s CRDs installed, at this version?)',
  405: 'the server does not allow this verb on the resource',
  415: 'the server does not accept the content type (a bug in Loam)',
  422: 'the object is invalid (see the message for the field and what to fix)',
};

/** True for an answer of the API server that repeating the same request cannot change. */
export function isRefusal(err: unknown): boolean {
  const code = statusCodeOf(err);
  return code !== undefined && code in refusalHints;
}

/** What to check for a refusal (see isRefusal); undefined for any other error. */
export function refusalHint(err: unknown): string | undefined {
  const code = statusCodeOf(err);
  return code === undefined ? undefined : refusalHints[code];
}

/** An error with a message of ours and the original as its cause. */
export function wrapError(message: string, cause: unknown): Error {
  return new Error(`${message}: ${apiErrorMessage(cause)}`, { cause });
}
