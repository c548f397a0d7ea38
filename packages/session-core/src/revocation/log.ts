import { SessionError } from '../errors.js';

/*
 * The rules every broadcaster's `entriesAfter` shares (see storage.ts): what
 * a cursor may look like on the wire and how large a page may be asked for.
 * Each broadcaster narrows the cursor to its own form (a Redis stream id, a
 * PostgreSQL transaction and row id).
 */

/** The largest `limit` a broadcaster's `entriesAfter` accepts. */
export const MAX_REVOCATION_LOG_PAGE = 1000;

/** Any broadcaster's cursor: safe in a query string and inside an ETag's quotes (RFC 9110 §8.8.3) as it is. */
export const REVOCATION_LOG_CURSOR = /^[A-Za-z0-9._~-]{1,64}$/;

/**
 * For `entriesAfter`: throws ERR_CLAIMS_INVALID (reason `input`) unless
 * `after` is undefined or a cursor of the broadcaster's `form`, and `limit` an
 * integer from 1 to {@link MAX_REVOCATION_LOG_PAGE}.
 */
export function checkRevocationLogRead(after: unknown, limit: unknown, form: RegExp): asserts after is string | undefined {
  const cursorOk = after === undefined || (typeof after === 'string' && REVOCATION_LOG_CURSOR.test(after) && form.test(after));
  if (!cursorOk || !Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_REVOCATION_LOG_PAGE) {
    throw new SessionError('ERR_CLAIMS_INVALID', 'entriesAfter(): not a cursor of this log, or a limit outside 1..1000', undefined, 'input');
  }
}
