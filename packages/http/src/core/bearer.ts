import type { AccessTokenClaims } from '@jwt-session/session-core';
import { codeOf, type HttpErrorCode } from './errors.js';
import type { SessionManagerLike } from './options.js';
import type { EndpointRequest } from './request.js';

/** RFC 6750 b64token after "Bearer ". */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const SCHEME = /^Bearer(?: |$)/i;

function countAuthorization(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === 'authorization') count++;
  return count;
}

/** The verified claims of the request's `Authorization: Bearer` token, or the code to refuse it with (and what the manager threw, for `onError`). */
export async function authenticate(req: EndpointRequest, manager: SessionManagerLike): Promise<{ claims: AccessTokenClaims } | { code: HttpErrorCode; error?: unknown }> {
  // Node keeps only the first of repeated Authorization headers; a proxy and the app disagreeing on which one counts is an attack surface.
  if (countAuthorization(req.rawHeaders) > 1) return { code: 'ERR_AUTH_HEADER_MALFORMED' };
  const header = req.headers.authorization;
  if (header === undefined || header === '' || !SCHEME.test(header)) return { code: 'ERR_AUTH_TOKEN_REQUIRED' };
  const match = BEARER.exec(header);
  if (match === null) return { code: 'ERR_AUTH_HEADER_MALFORMED' };
  try {
    return { claims: await manager.read(match[1]!) };
  } catch (error) {
    return { code: codeOf(error), error };
  }
}
