import { REVOCATION_LOG_CURSOR, isSessionError, type InvalidationBroadcaster, type RevocationLogPage } from '@jwt-session/session-core';
import { BEARER, countAuthorization } from './authorization.js';
import { SessionHttpError, type HttpErrorCode } from './errors.js';
import type { EndpointRequest, EndpointResponse } from './request.js';

/*
 * `GET {base}/revocations?after=<cursor>`: the broadcaster's log for nodes
 * that cannot subscribe to it (a Cloudflare Worker polling with
 * `PollingInvalidationBroadcaster`). Behind a shared secret; a poll that
 * finds nothing new is answered 304 after one bounded read of the log.
 */

/** The `revocations` option of the session endpoints. */
export interface RevocationLogOptions {
  /** Whose log is served: a broadcaster with `entriesAfter` (memory, Redis, PostgreSQL). */
  broadcaster: InvalidationBroadcaster;
  /**
   * The shared secret pollers send as `Authorization: Bearer <secret>`: 32 to
   * 512 characters of `A–Z a–z 0–9 - . _ ~ + /`. Several during a rotation
   * (each one is accepted).
   */
  secret: string | readonly string[];
  /** Entries per answer at most (1 to 1000); a poller asks again at once while `more` is true. @default 500 */
  pageSize?: number;
}

/** One answer of the endpoint (200). Times in the events are ms since the epoch. */
export interface RevocationLogBody extends Pick<RevocationLogPage, 'entries' | 'more'> {
  /** The `after` of the next poll; also the answer's ETag (quoted). */
  next: string;
}

const SECRET = /^[A-Za-z0-9\-._~+/]{32,512}$/;
const OPTION_NAMES = new Set(['broadcaster', 'secret', 'pageSize']);
const JSON_TYPE = 'application/json; charset=utf-8';

function fail(name: string, message: string): never {
  throw new SessionHttpError('ERR_CONFIG_INVALID', `options.revocations.${name} ${message}`);
}

export type ReadLog = (after: string | undefined, limit: number) => Promise<RevocationLogPage>;

export interface NormalizedRevocationLog {
  read: ReadLog;
  secrets: readonly string[];
  pageSize: number;
}

/** Checks the option once, at construction (called inside `configChecked`). */
export function normalizeRevocationLog(value: unknown): NormalizedRevocationLog | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') fail('', 'must be an object');
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!OPTION_NAMES.has(key)) fail(/^[A-Za-z_$][\w$]{0,40}$/.test(key) ? key : '', 'is not an option');
  const broadcaster = o.broadcaster as InvalidationBroadcaster | null | undefined;
  if (broadcaster === null || typeof broadcaster !== 'object' || typeof broadcaster.entriesAfter !== 'function') {
    fail('broadcaster', 'must be a broadcaster with entriesAfter() (MemoryBroadcaster, RedisInvalidationBroadcaster, PostgresInvalidationBroadcaster)');
  }
  const secrets = typeof o.secret === 'string' ? [o.secret] : o.secret;
  // Never quoted back: the message must not carry the secret.
  if (!Array.isArray(secrets) || secrets.length === 0 || !secrets.every((s) => typeof s === 'string' && SECRET.test(s))) {
    fail('secret', 'must be a string (or a non-empty array of them) of 32 to 512 characters of A-Z a-z 0-9 - . _ ~ + /');
  }
  const pageSize = o.pageSize ?? 500;
  if (!Number.isSafeInteger(pageSize) || (pageSize as number) < 1 || (pageSize as number) > 1000) fail('pageSize', 'must be an integer from 1 to 1000');
  return { read: broadcaster.entriesAfter.bind(broadcaster), secrets: [...(secrets as string[])], pageSize: pageSize as number };
}

const encoder = new TextEncoder();
const digest = async (text: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));

/**
 * Whether `presented` is one of the secrets, in time that depends on neither:
 * SHA-256 digests of equal length, compared byte by byte without an early
 * exit, against every secret. Web Crypto only, so the origin may run anywhere.
 */
async function oneOf(presented: string, secrets: Promise<Uint8Array[]>): Promise<boolean> {
  const mine = await digest(presented);
  let match = 0;
  for (const secret of await secrets) {
    let diff = 0;
    for (let i = 0; i < mine.length; i++) diff |= mine[i]! ^ secret[i]!;
    match |= diff === 0 ? 1 : 0;
  }
  return match === 1;
}

/** RFC 9110 §13.1.2: a list of entity tags; weak ones compare weakly, which is all a GET needs. */
function matches(ifNoneMatch: string | string[] | undefined, etag: string): boolean {
  if (typeof ifNoneMatch !== 'string') return false;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/** The endpoint's handler; `SessionEndpoints` dispatches to it. */
export class RevocationLogEndpoint {
  readonly #log: NormalizedRevocationLog;
  #secrets: Promise<Uint8Array[]> | undefined;

  constructor(log: NormalizedRevocationLog) {
    this.#log = log;
  }

  /** The answer, or the code of a refusal the caller words (400); throws what the log read threw (503 by its code). */
  async handle(req: EndpointRequest): Promise<EndpointResponse | { code: HttpErrorCode }> {
    if (!(await this.#authorized(req))) {
      // No body: nothing about why is told to a caller without the secret.
      return { status: 401, headers: { 'cache-control': 'no-store', 'www-authenticate': 'Bearer realm="revocations"' } };
    }
    const query = new URLSearchParams(req.query ?? '');
    const cursors = query.getAll('after');
    if (cursors.length > 1 || (cursors.length === 1 && !REVOCATION_LOG_CURSOR.test(cursors[0]!))) return { code: 'ERR_REVOCATION_CURSOR_INVALID' };
    let page: RevocationLogPage;
    try {
      page = await this.#log.read(cursors[0], this.#log.pageSize);
    } catch (error) {
      // A cursor of the right characters that is still not one of this log's (another broadcaster's form).
      if (isSessionError(error, 'ERR_CLAIMS_INVALID')) return { code: 'ERR_REVOCATION_CURSOR_INVALID' };
      throw error;
    }
    const etag = `"${page.cursor}"`;
    const headers: Record<string, string> = { 'cache-control': 'no-store', etag };
    // RFC 9110 §13.1.2: the poller's copy is current. The cursor moves with every entry read, so an unchanged
    // cursor means nothing was read: the 200 would carry no entries.
    if (matches(req.headers['if-none-match'], etag)) return { status: 304, headers };
    const body: RevocationLogBody = { entries: page.entries, next: page.cursor, more: page.more };
    return { status: 200, headers: { ...headers, 'content-type': JSON_TYPE }, body: JSON.stringify(body) };
  }

  async #authorized(req: EndpointRequest): Promise<boolean> {
    // Node keeps only the first of repeated headers; two are refused rather than guessed between.
    if (countAuthorization(req.rawHeaders) > 1) return false;
    const match = BEARER.exec(req.headers.authorization ?? '');
    if (match === null) return false;
    this.#secrets ??= Promise.all(this.#log.secrets.map(digest));
    return oneOf(match[1]!, this.#secrets);
  }
}
