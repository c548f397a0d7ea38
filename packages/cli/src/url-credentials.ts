import { usage } from './errors.js';

/**
 * A URL's user name and password, percent-decoded. A `%` that does not start
 * an escape (a password typed as it is) is a usage error naming where the URL
 * came from, never quoting it.
 */
export function urlCredentials(url: URL, source: string): { username: string; password: string } {
  try {
    return { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  } catch {
    throw usage(`${source}: the user name or password in the URL is not valid percent-encoding (write a % in it as %25)`);
  }
}
