// The one route the application writes itself: check the password, then hand
// over to @jwt-session/http's issueSession (session, refresh cookie, body).
// Throttled per account and per address before any hashing (throttle.ts).
import type { SessionRouter } from '@jwt-session/http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { SignInThrottle } from './throttle.js';
import { HashQueueFull, normalizeUsername, type UserDirectory } from './users.js';

const MAX_BODY_BYTES = 4 * 1024;

export interface SignInDeps {
  users: UserDirectory;
  throttle: SignInThrottle;
  sessions: SessionRouter;
  trustProxy: boolean;
  log(line: string): void;
}

function answer(res: ServerResponse, status: number, error: string, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify({ error, message }));
}

/**
 * The peer address; with TRUST_PROXY=1 (one proxy in front) the right-most
 * X-Forwarded-For hop, the one that proxy appended. Hops to its left are
 * whatever the client sent, so trusting them would let a guesser pick a fresh
 * address per request and escape the per-address throttle. A hop that is not
 * an IP address is ignored (the peer is used).
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = req.headers['x-forwarded-for'];
  const hops = trustProxy ? (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',').map((hop) => hop.trim()) : [];
  const last = hops.at(-1);
  const ip = (last !== undefined && isIP(last) !== 0 ? last : undefined) ?? req.socket.remoteAddress ?? 'unknown';
  return ip.toLowerCase().startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** A small JSON object body, or undefined (not JSON, too big): the sign-in and re-authentication routes read one. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return undefined;
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  try {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function readCredentials(req: IncomingMessage): Promise<{ username: string; password: string } | undefined> {
  const body = await readJson(req);
  if (typeof body?.username !== 'string' || typeof body.password !== 'string') return undefined;
  return { username: body.username.slice(0, 100), password: body.password.slice(0, 200) };
}

/** `POST /api/sign-in` with `{ username, password }`. */
export async function signIn(req: IncomingMessage, res: ServerResponse, deps: SignInDeps): Promise<void> {
  // The CSRF header first, so that a cross-site form cannot make the server hash (issueSession checks Origin too).
  if (req.headers['x-jwt-session'] !== '1') return answer(res, 403, 'ERR_CSRF', 'This request was refused: it did not come from the demo page.');
  const credentials = await readCredentials(req);
  if (credentials === undefined || credentials.username.trim() === '' || credentials.password === '') {
    return answer(res, 400, 'ERR_BAD_REQUEST', 'Enter a user name and a password.');
  }
  const account = normalizeUsername(credentials.username);
  const address = clientAddress(req, deps.trustProxy);
  const blocked = deps.throttle.check(account, address);
  if (blocked !== undefined) {
    return answer(res, 429, 'ERR_TOO_MANY_ATTEMPTS', `Too many failed sign-ins. Try again in ${blocked.retryAfter} s.`, { 'retry-after': String(blocked.retryAfter) });
  }
  // check() counted this attempt as pending: exactly one of failed / succeeded / released ends it.
  let user;
  try {
    user = await deps.users.verify(credentials.username, credentials.password);
  } catch (error) {
    deps.throttle.released(account, address);
    if (error instanceof HashQueueFull) return answer(res, 503, 'ERR_BUSY', 'The server is busy. Try again in a moment.', { 'retry-after': '1' });
    throw error;
  }
  if (user === undefined) {
    deps.throttle.failed(account, address);
    return answer(res, 401, 'ERR_BAD_CREDENTIALS', 'Wrong user name or password.');
  }
  deps.throttle.succeeded(account, address);
  // amr: a password was checked (every access token says so, for requireFresh's amr rule).
  const body = await deps.sessions.issueSession(req, res, user.id, { claims: { name: user.name }, amr: ['pwd'] });
  if (body !== undefined) deps.log(`sign-in user=${user.id} session=${body.sessionId}`);
}
