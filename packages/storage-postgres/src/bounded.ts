import { SessionError } from '@jwt-session/session-core';

/*
 * The one gate every query goes through: a bounded wait. node-postgres keeps
 * a query pending for as long as the server keeps its connection open, and a
 * pool keeps a query waiting for a free client for as long as it takes; a
 * paused (SIGSTOP) or partitioned database answers nothing and closes
 * nothing. A session store that hangs fails open in practice (requests pile
 * up behind it), so every call either answers or rejects with
 * ERR_STORAGE_UNAVAILABLE within `timeout` ms.
 *
 * The query itself cannot be taken back: it stays with the pool, and may run
 * when the database answers again. Its outcome is unknown, and the caller is
 * told so (the manager settles an insert whose outcome it did not learn, and
 * keeps a revocation it could not confirm in force on its node).
 */
export const DEFAULT_QUERY_TIMEOUT = 1000;

/** What the store needs of the caller's pool: a `pg.Pool`, a `pg.Client`, or anything with its `query`. */
export interface Queryable {
  query(config: { text: string; values?: unknown[]; name?: string } | string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * The cause of every ERR_STORAGE_UNAVAILABLE this package raises (the
 * SessionError's own message is fixed per code): which operation failed and
 * why. Its own `cause` is the driver's error reduced to its name, message and
 * SQLSTATE code: a pg error also carries the statement's parameters in some
 * paths (`where`, `detail`), and those must not travel.
 */
export class PostgresQueryFailure extends Error {
  override readonly name = 'PostgresQueryFailure';

  constructor(operation: string, why: string, cause?: unknown) {
    super(`postgres ${operation} failed: ${why}`, cause instanceof Error ? { cause: reduced(cause) } : undefined);
  }
}

function reduced(error: Error): Error {
  const out = Object.assign(new Error(error.message), { name: error.name });
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(out, { code });
  return out;
}

/** ERR_STORAGE_UNAVAILABLE with a {@link PostgresQueryFailure} as its cause. */
export function unavailable(operation: string, why: string, cause?: unknown): SessionError {
  return new SessionError('ERR_STORAGE_UNAVAILABLE', undefined, { cause: new PostgresQueryFailure(operation, why, cause) });
}

/**
 * Decisions on a timer wait for the next check phase of the event loop, after
 * the poll phase has read what the sockets hold: a loop busy for longer than
 * the timeout must not blame the database for replies that arrived in time.
 */
function afterPoll(fn: () => void): void {
  setImmediate(fn);
}

/** Runs one query with a deadline; rows, or ERR_STORAGE_UNAVAILABLE. */
export function boundedQuery(db: Queryable, operation: string, timeout: number, query: { text: string; values: unknown[]; name?: string | undefined }): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(
      () =>
        afterPoll(() => {
          if (done) return;
          done = true;
          reject(unavailable(operation, `no answer within ${timeout} ms; outcome unknown`));
        }),
      timeout,
    );
    let sent: Promise<{ rows: Record<string, unknown>[] }>;
    try {
      sent = db.query(query.name === undefined ? { text: query.text, values: query.values } : { text: query.text, values: query.values, name: query.name });
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      (result) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(result.rows);
      },
      (error: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        reject(error instanceof SessionError ? error : unavailable(operation, 'the query failed', error));
      },
    );
  });
}

export function checkTimeout(value: number | undefined, name: string, fallback: number): number {
  const ms = value ?? fallback;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) throw new SessionError('ERR_CONFIG_INVALID', `options.${name} must be a positive number of milliseconds`);
  return ms;
}

export function checkCount(value: number | undefined, name: string, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n < 1) throw new SessionError('ERR_CONFIG_INVALID', `options.${name} must be a positive integer`);
  return n;
}
