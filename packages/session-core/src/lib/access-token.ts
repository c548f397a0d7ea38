import { SignJWT, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { SessionError } from '../errors.js';
import type { ResolvedKey } from '../keys.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp'];

export function signAccessToken(payload: JWTPayload, key: ResolvedKey): Promise<string> {
  // RFC 9068 §2.1: access-token JWTs carry typ "at+jwt" so they cannot be confused with ID tokens.
  return new SignJWT(payload).setProtectedHeader({ alg: key.algorithm, kid: key.kid, typ: ACCESS_TOKEN_TYPE }).sign(key.sign!);
}

export interface VerifyConfig {
  /** Made once by `keyResolver`; picks the key for a token header. */
  resolveKey: (header: JWTHeaderParameters) => ResolvedKey['verify'];
  algorithms: string[];
  issuer: string;
  audience: string | string[];
  clockTolerance: number;
}

function invalid(reason: string): SessionError {
  return new SessionError('ERR_AUTH_TOKEN_INVALID', `access token is invalid: ${reason}`);
}

/**
 * The key for a token comes from the configured keys by `kid`, and only when
 * the header's `alg` is that key's algorithm: embedded `jwk`, `jku` and `x5u`
 * headers are never consulted, and an HS256 token can never be checked
 * against an asymmetric key's public bytes.
 */
export function keyResolver(keys: readonly ResolvedKey[]): VerifyConfig['resolveKey'] {
  const byKid = new Map(keys.map((key) => [key.kid, key]));
  return (header) => {
    const key = header.kid === undefined ? undefined : byKid.get(header.kid);
    if (key === undefined) throw invalid('unknown key id');
    if (key.algorithm !== header.alg) throw invalid('algorithm does not match the key');
    return key.verify;
  };
}

/** Full verification with jose. */
export async function verifyAccessToken(token: string, config: VerifyConfig, now: number): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, config.resolveKey, {
      algorithms: config.algorithms,
      issuer: config.issuer,
      audience: config.audience,
      typ: ACCESS_TOKEN_TYPE,
      clockTolerance: config.clockTolerance,
      requiredClaims: REQUIRED_CLAIMS,
      currentDate: new Date(now),
    });
    return payload;
  } catch (error) {
    if (error instanceof SessionError) throw error;
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_JWT_EXPIRED') throw new SessionError('ERR_AUTH_TOKEN_EXPIRED', 'access token has expired');
    // jose's messages name the failed check, never the token; the error itself may hold the payload, so it is not kept as cause.
    throw invalid(typeof code === 'string' ? `${code}: ${(error as Error).message}` : 'malformed token');
  }
}
