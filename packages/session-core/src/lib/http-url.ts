import { fail } from '../options.js';

/*
 * The URL rule of every request this package makes on its own (a JWK Set, a
 * revocation log): what comes back decides which tokens are accepted, so it
 * must not cross a network in the clear.
 */

/** Hosts whose traffic never leaves the machine: plain http to them cannot be read or altered on a network. */
function isLoopback(url: URL): boolean {
  // The URL parser has already normalised the host: IPv4 in dotted form (127.1 → 127.0.0.1), IPv6 in brackets, names lowercased.
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname);
}

/**
 * `value` as an https: URL, or http: to a loopback host or with `allowInsecure`;
 * ERR_CONFIG_INVALID naming `name` (and `insecureFlag`, the option that allows http) otherwise.
 */
export function checkHttpUrl(value: unknown, name: string, allowInsecure: boolean, insecureFlag: string): URL {
  let url: URL;
  try {
    url = new URL(value as string | URL);
  } catch {
    fail(name, 'must be an http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(name, 'must be an http(s) URL');
  if (url.protocol === 'http:' && !allowInsecure && !isLoopback(url)) fail(name, `must be an https: URL (http: only for a loopback host, or with ${insecureFlag}: true)`);
  // fetch() refuses a URL with credentials: every fetch would fail.
  if (url.username !== '' || url.password !== '') fail(name, 'must not carry a user name or password');
  return url;
}
