import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { SessionError } from '../../src/index.js';
import { isWellFormedJws } from '../../src/lib/token-syntax.js';
import type { Setup } from './setup.js';

export type Verdict = { accepted: true; claims: JWTPayload } | { accepted: false; code: string };

const INVALID = { accepted: false, code: 'ERR_AUTH_TOKEN_INVALID' } as const;

/**
 * Where this library is deliberately stricter than jose's jwtVerify with the
 * same options. Each rule names the case jose accepts and why we do not:
 *
 * - `header-members`: the header holds only `alg`, `kid` and `typ`. jose
 *   ignores unknown members and accepts `crit: ["b64"]` with `b64: true`, and
 *   `jwk`, `jku`, `x5u`, `x5c` whenever the key resolver ignores them. None of
 *   these is ever emitted here; refusing them removes whole attack classes.
 * - `typ-exact`: `typ` must be exactly `at+jwt`. jose compares it
 *   case-insensitively and with an `application/` prefix removed (RFC 7515
 *   §4.1.9 allows both spellings); this library only ever emits `at+jwt`,
 *   and one spelling means one byte string per token.
 *
 * A rule only ever turns an acceptance (or an expiry) into
 * ERR_AUTH_TOKEN_INVALID: the header is checked before any claim. The oracle
 * names the rule on exactly those tokens, so the report counts how many
 * verdicts the stricter rules decided.
 */
export function stricterRule(token: string): 'header-members' | 'typ-exact' | undefined {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    return undefined; // jose refuses it too
  }
  if (Object.keys(header).some((name) => name !== 'alg' && name !== 'kid' && name !== 'typ')) return 'header-members';
  if (header.typ !== 'at+jwt') return 'typ-exact';
  return undefined;
}

/**
 * What read() answered before lib/jws, rebuilt from its parts: the syntax
 * check, jose's jwtVerify with the options and key choice the manager gave it,
 * then the manager's own claim checks. Used as the reference the new verifier
 * must agree with, token by token.
 */
export function joseOracle(setup: Setup): (token: string) => Promise<Verdict & { rule?: string }> {
  const byKid = new Map(setup.keys.map((k) => [k.kid, k]));
  const options = {
    algorithms: [...new Set(setup.keys.map((k) => k.algorithm))],
    issuer: setup.issuer,
    audience: setup.audience,
    typ: 'at+jwt',
    clockTolerance: setup.clockTolerance,
    requiredClaims: ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp'],
    currentDate: new Date(setup.now),
  };
  const resolve = (header: { kid?: unknown; alg?: unknown }) => {
    const key = typeof header.kid === 'string' ? byKid.get(header.kid) : undefined;
    if (key === undefined || key.algorithm !== header.alg) throw new SessionError('ERR_AUTH_TOKEN_INVALID', 'key');
    return key.verifyKey;
  };
  return async (token) => {
    if (!isWellFormedJws(token)) return INVALID;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, resolve, options));
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_JWT_EXPIRED') return INVALID;
      // Expired for jose; a stricter header rule makes it invalid (the header is checked before any claim).
      const rule = stricterRule(token);
      return rule === undefined ? { accepted: false, code: 'ERR_AUTH_TOKEN_EXPIRED' } : { ...INVALID, rule };
    }
    const rule = stricterRule(token);
    if (rule !== undefined) return { ...INVALID, rule };
    // The manager's checks after jose (#checkPayload): non-empty sub, sid, jti; iat not in the future.
    const { sub, sid, jti, iat } = payload as Record<string, unknown>;
    const nonEmpty = (v: unknown) => typeof v === 'string' && v.length > 0;
    if (!nonEmpty(sub) || !nonEmpty(sid) || !nonEmpty(jti)) return INVALID;
    if (typeof iat !== 'number' || iat > setup.now / 1000 + setup.clockTolerance) return INVALID;
    return { accepted: true, claims: payload };
  };
}

/** What read() of the manager under test answers. */
export async function ourVerdict(setup: Setup, token: string): Promise<Verdict> {
  try {
    return { accepted: true, claims: (await setup.manager.read(token)) as unknown as JWTPayload };
  } catch (error) {
    if (!(error instanceof SessionError)) return { accepted: false, code: `not a SessionError: ${String(error)}` };
    return { accepted: false, code: error.code };
  }
}
