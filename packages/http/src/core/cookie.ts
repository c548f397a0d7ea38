import type { NormalizedCookie } from './options.js';

/*
 * The refresh cookie. Its name depends on the request (the prefix applies only
 * to a Secure cookie, which is only set over https), so reading and writing
 * both start from `cookieFor(request is https)`.
 */

export interface ResolvedCookie {
  name: string;
  secure: boolean;
}

export function cookieFor(options: NormalizedCookie, https: boolean): ResolvedCookie {
  const secure = options.secure === 'auto' ? https : options.secure;
  let prefix = '';
  if (secure) {
    if (options.prefix === 'auto') prefix = options.path === '/' && options.domain === undefined ? '__Host-' : '__Secure-';
    else if (options.prefix !== 'none') prefix = options.prefix;
  }
  return { name: prefix + options.name, secure };
}

/**
 * Browsers cap a cookie's lifetime at 400 days and reduce a longer `Max-Age`
 * to that (RFC 6265bis §5.6.2); the cookie says so itself rather than promise
 * what no browser keeps.
 */
export const MAX_COOKIE_AGE = 400 * 24 * 3600;

/** `Set-Cookie` for `value`; `maxAge` in seconds (at most {@link MAX_COOKIE_AGE}), 0 clears it. */
export function serializeCookie(options: NormalizedCookie, resolved: ResolvedCookie, value: string, maxAge: number): string {
  const parts = [`${resolved.name}=${value}`, `Path=${options.path}`];
  if (options.domain !== undefined) parts.push(`Domain=${options.domain}`);
  if (maxAge <= 0) parts.push('Max-Age=0', 'Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  else if (options.persistent) parts.push(`Max-Age=${Math.min(MAX_COOKIE_AGE, Math.floor(maxAge))}`);
  if (options.httpOnly) parts.push('HttpOnly');
  if (resolved.secure) parts.push('Secure');
  parts.push(`SameSite=${options.sameSite}`);
  return parts.join('; ');
}

/** More distinct refresh cookies than a browser can hold for one request (one per matching Domain and Path): refused unread. */
export const MAX_REFRESH_COOKIES = 16;

/**
 * The distinct, non-empty values of the refresh cookie in the Cookie header,
 * quotes removed, in the order sent; `undefined` when there are more than
 * {@link MAX_REFRESH_COOKIES}. Values are opaque tokens; one that is not made of
 * cookie-octets is returned as is and refused by the manager.
 *
 * Why all of them, not the first: the header carries no attributes, so a
 * cookie of the same name that a sibling subdomain set with `Domain=` (or a
 * page over plain http, or with a longer `Path`, which browsers send first)
 * cannot be told from ours (cookie tossing, RFC 6265bis §8.6). A `__Host-`
 * cookie is the exception: browsers take it only from this very host, over
 * https, with `Path=/` and no `Domain` (RFC 6265bis §4.1.3.2), so no sibling
 * can plant one and the host holds at most one of that name: the first is
 * the host's own.
 */
export function readRefreshCookies(header: string | string[] | undefined, name: string): string[] | undefined {
  const values: string[] = [];
  if (header === undefined) return values;
  for (const part of (Array.isArray(header) ? header.join('; ') : header).split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    // An empty value carries no session: it neither counts nor hides a real one.
    if (value === '' || values.includes(value)) continue;
    if (name.startsWith('__Host-')) return [value];
    if (values.push(value) > MAX_REFRESH_COOKIES) return undefined;
  }
  return values;
}
