import { SessionError } from '../errors.js';
import { dpopError } from './refusal.js';

/** Longest URL normalised; a longer `htu` or request URL is refused. Node's default header limit (16 KiB) bounds the request line anyway. */
export const MAX_HTU_LENGTH = 8192;

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** RFC 3986 §6.2.2.1 and §6.2.2.2: hex digits of a percent-encoding in upper case; an encoded unreserved character decoded. */
function percentEncoding(match: string, hex: string): string {
  const char = String.fromCharCode(Number.parseInt(hex, 16));
  return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
}

/**
 * The URL as `htu` is compared (RFC 9449 §4.3 step 9): without its query and
 * fragment, and normalised as RFC 3986 §6.2.2 and §6.2.3 describe, so that
 * two spellings of one resource compare equal:
 *
 * - scheme and host in lower case, the default port dropped, an empty path
 *   written `/`, dot segments removed (WHATWG URL parsing does these);
 * - percent-encodings with upper-case hex digits, and encoded unreserved
 *   characters decoded (`%7e` → `~`, `%41` → `A`).
 *
 * Only absolute `http:` and `https:` URLs without user information are
 * normalised; anything else (and a URL longer than {@link MAX_HTU_LENGTH})
 * gives undefined, which matches nothing.
 *
 * @example
 * ```ts
 * normalizeHtu('HTTPS://API.Example.com:443/a/%7euser/../b?q=1#f'); // 'https://api.example.com/a/b'
 * ```
 */
export function normalizeHtu(url: unknown): string | undefined {
  if (typeof url !== 'string' || url.length > MAX_HTU_LENGTH) return undefined;
  // A guard normalises the same few request URLs and `htu`s over and over; parsing one costs a microsecond or more.
  const known = normalized.get(url);
  if (known !== undefined) return known === NOT_HTU ? undefined : known;
  const value = normalize(url);
  if (url.length <= MAX_CACHED_URL_LENGTH) {
    if (normalized.size >= MAX_CACHED_URLS) normalized.clear();
    normalized.set(url, value ?? NOT_HTU);
  }
  return value;
}

/** The results of {@link normalizeHtu} (a pure function) by input: bounded in entries and in each input's length. */
const normalized = new Map<string, string>();
const MAX_CACHED_URLS = 512;
const MAX_CACHED_URL_LENGTH = 512;
/** Stands for "not an htu" in the cache; no normalised URL is empty. */
const NOT_HTU = '';

function normalize(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.username !== '' || parsed.password !== '') return undefined;
  return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/%([0-9A-Fa-f]{2})/g, percentEncoding)}`;
}

/**
 * A checked public origin (`https://api.example.com`, no path, query or
 * fragment), for {@link publicRequestUrl}: the scheme and host clients use,
 * which behind a proxy or load balancer differ from what the node sees.
 * Throws ERR_CONFIG_INVALID naming `name` otherwise.
 */
export function checkPublicOrigin(origin: unknown, name = 'publicOrigin'): string {
  const normalized = normalizeHtu(origin);
  if (normalized === undefined || !normalized.endsWith('/') || normalized.indexOf('/', normalized.indexOf('//') + 2) !== normalized.length - 1 || /[?#]/.test(origin as string)) {
    throw new SessionError('ERR_CONFIG_INVALID', `options.${name} must be an http: or https: origin without path, query or fragment`);
  }
  return normalized.slice(0, -1);
}

/** A deployment has one public origin: it is checked once, not on every request. */
let lastOrigin: { given: unknown; checked: string } = { given: Symbol('none yet'), checked: '' };

/**
 * The public URL of a request behind a proxy, normalised as `htu` is
 * compared: the configured `publicOrigin` (see {@link checkPublicOrigin})
 * followed by the request target's path. `requestTarget` is what the node
 * received (`req.url`); only the origin form (`/path?query`) is accepted: an
 * absolute-form target names a host of the client's choosing, and is refused
 * with ERR_DPOP_PROOF_INVALID (`htu`), as is a target that does not make a
 * valid URL.
 *
 * @example
 * ```ts
 * publicRequestUrl('https://api.example.com', '/api/me?x=1'); // 'https://api.example.com/api/me'
 * ```
 */
export function publicRequestUrl(publicOrigin: string, requestTarget: unknown): string {
  if (publicOrigin !== lastOrigin.given) lastOrigin = { given: publicOrigin, checked: checkPublicOrigin(publicOrigin) };
  // Concatenated, never resolved against the origin: `//evil.example/x` is a path here, not another host.
  const url = typeof requestTarget === 'string' && requestTarget.startsWith('/') ? normalizeHtu(`${lastOrigin.checked}${requestTarget}`) : undefined;
  if (url === undefined) throw dpopError('ERR_DPOP_PROOF_INVALID', 'htu');
  return url;
}
