/*
 * The Authorization header as every bearer check here reads it: the access
 * token of the session endpoints and the shared secret of the revocation log.
 */

/** RFC 6750 §2.1: a b64token after "Bearer ". */
export const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** How many Authorization headers came, from Node's raw list (a parsed header keeps only the first). */
export function countAuthorization(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === 'authorization') count++;
  return count;
}
