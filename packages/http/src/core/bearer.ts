import type { AccessTokenClaims } from '@jwt-session/session-core';
import { BEARER, countAuthorization } from './authorization.js';
import { codeOf, type HttpErrorCode } from './errors.js';
import type { SessionManagerLike } from './options.js';
import type { EndpointRequest } from './request.js';

const SCHEME = /^Bearer(?: |$)/i;

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
