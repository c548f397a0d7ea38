// Small HTTP helpers on node:http: JSON in and out, cookies, client address,
// and the CSRF check. No framework, so every header the demo sets is visible here.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error whose code and message are safe to show to the user. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const MAX_BODY_BYTES = 16 * 1024;

export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new HttpError(415, 'ERR_BAD_REQUEST', 'Expected a JSON body.');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'ERR_BAD_REQUEST', 'The request body is too large.');
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'ERR_BAD_REQUEST', 'The request body is not valid JSON.');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'ERR_BAD_REQUEST', 'The request body must be a JSON object.');
  return body as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(payload);
}

export function sendError(res: ServerResponse, error: HttpError, extraHeaders: Record<string, string | string[]> = {}): void {
  sendJson(res, error.status, { error: error.code, message: error.message }, { ...error.headers, ...extraHeaders });
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (header === undefined) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

export interface CookieOptions {
  path: string;
  maxAge: number;
  secure: boolean;
}

/** Always HttpOnly and SameSite=Strict: the only cookie the demo sets is the refresh token. */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${value}`, `Path=${options.path}`, `Max-Age=${Math.max(0, Math.floor(options.maxAge))}`, 'HttpOnly', 'SameSite=Strict'];
  if (options.maxAge <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}

/** https directly, or behind a proxy that says so. Only ever makes the cookie stricter. */
export function isHttps(req: IncomingMessage): boolean {
  const forwarded = req.headers['x-forwarded-proto'];
  const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return proto === 'https' || (req.socket as { encrypted?: boolean }).encrypted === true;
}

/** The peer address; the first X-Forwarded-For hop only when the proxy is trusted (TRUST_PROXY=1). */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = req.headers['x-forwarded-for'];
  const first = trustProxy ? (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim() : undefined;
  const ip = first || req.socket.remoteAddress || 'unknown';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** The header every state-changing call from the page carries (see public/app.js). */
export const CSRF_HEADER = 'x-demo-csrf';
export const CSRF_HEADER_VALUE = '1';

/**
 * CSRF defence for every POST/DELETE, in three layers on top of the cookie's SameSite=Strict:
 * 1. a custom request header: a cross-site form cannot set one, and a cross-site
 *    fetch that sets one needs a CORS preflight, which this server never grants;
 * 2. when the browser sends `Sec-Fetch-Site`, it must be `same-origin`;
 * 3. when the browser sends `Origin` (browsers do on every POST), it must be this
 *    server's own origin or one listed in DEMO_ORIGINS.
 */
export function checkCsrf(req: IncomingMessage, allowedOrigins: ReadonlySet<string>): void {
  if (req.headers[CSRF_HEADER] !== CSRF_HEADER_VALUE) {
    throw new HttpError(403, 'ERR_CSRF', 'This request was refused: it did not come from the demo page (missing CSRF header).');
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') {
    throw new HttpError(403, 'ERR_CSRF', 'This request was refused: it came from another site.');
  }
  const origin = req.headers.origin;
  if (origin !== undefined) {
    const own = `${isHttps(req) ? 'https' : 'http'}://${req.headers.host ?? ''}`;
    if (origin !== own && !allowedOrigins.has(origin)) {
      throw new HttpError(403, 'ERR_CSRF', 'This request was refused: its Origin is not allowed.');
    }
  }
}

export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
  return match?.[1];
}
