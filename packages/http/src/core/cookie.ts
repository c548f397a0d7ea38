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

/** `Set-Cookie` for `value`; `maxAge` in seconds, 0 clears it. */
export function serializeCookie(options: NormalizedCookie, resolved: ResolvedCookie, value: string, maxAge: number): string {
  const parts = [`${resolved.name}=${value}`, `Path=${options.path}`];
  if (options.domain !== undefined) parts.push(`Domain=${options.domain}`);
  if (maxAge <= 0) parts.push('Max-Age=0', 'Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  else if (options.persistent) parts.push(`Max-Age=${Math.floor(maxAge)}`);
  if (options.httpOnly) parts.push('HttpOnly');
  if (resolved.secure) parts.push('Secure');
  parts.push(`SameSite=${options.sameSite}`);
  return parts.join('; ');
}

/**
 * The first cookie of that name in the Cookie header (browsers send the one
 * with the longest path first). Values are opaque tokens; one that is not made
 * of cookie-octets is returned as is and refused by the manager.
 */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of (Array.isArray(header) ? header.join('; ') : header).split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value;
  }
  return undefined;
}
