/**
 * Codes of {@link SessionClientError}: the client's own, or the `error` code a
 * session endpoint answered with (e.g. `ERR_CSRF`, `ERR_SESSION_NOT_FOUND`, or
 * the app's sign-in codes), passed through unchanged.
 */
export type SessionClientErrorCode = 'ERR_CONFIG_INVALID' | 'ERR_NOT_SIGNED_IN' | 'ERR_NETWORK' | 'ERR_HTTP' | (string & {});

/** Every failure of the client. Branch on `code`; the message is the server's fixed text or the client's own. */
export class SessionClientError extends Error {
  override readonly name = 'SessionClientError';
  /** Seconds, from a 429's `Retry-After`. */
  readonly retryAfter: number | undefined;

  constructor(
    readonly code: SessionClientErrorCode,
    message: string,
    /** HTTP status, 0 when there was no answer. */
    readonly status = 0,
    retryAfter?: number,
  ) {
    super(message);
    this.retryAfter = retryAfter;
  }
}

/** The error a non-2xx answer of a session endpoint stands for. */
export async function errorOf(res: Response): Promise<SessionClientError> {
  const body = (await res.json().catch(() => undefined)) as { error?: unknown; message?: unknown } | undefined;
  const retry = Number(res.headers.get('retry-after'));
  return new SessionClientError(
    typeof body?.error === 'string' ? body.error : 'ERR_HTTP',
    typeof body?.message === 'string' ? body.message : `HTTP ${res.status}`,
    res.status,
    retry > 0 ? retry : undefined,
  );
}
