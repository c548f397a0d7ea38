import type { JWTPayload } from 'jose';
import { invalidAccessToken } from '../lib/access-token.js';
import { normalizeType, type NormalizedVerifierOptions } from './options.js';

/** Claims only an ID token carries (OpenID Connect Core §2, §3.1.3.6, §3.3.2.11); an access token has none of them. */
const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash'] as const;

/**
 * The rules for another provider's token once jose has checked its signature,
 * `iss`, `aud`, `exp`, `nbf` and the required claims. They keep an ID token
 * (whose `aud` is the client, often the same string as the API's audience)
 * from passing as an access token: RFC 9068 §2.1 `typ` (`at+jwt` unless the
 * application lists others), no ID-token claims, and, when the application
 * names its clients, `client_id` / `azp` among them (RFC 9068 §2.2).
 */
export function checkProviderToken(payload: JWTPayload, typ: unknown, now: number, o: NormalizedVerifierOptions): void {
  if (!o.acceptedTypes.has(typeof typ === 'string' ? normalizeType(typ) : typ === undefined ? null : '\u0000')) throw invalidAccessToken('type');
  const { sub, iat } = payload;
  if (typeof sub !== 'string' || sub.length === 0) throw invalidAccessToken(sub === undefined ? 'missing_claim' : 'invalid_claim');
  if (typeof iat !== 'number') throw invalidAccessToken(iat === undefined ? 'missing_claim' : 'invalid_claim');
  if (iat > now / 1000 + o.clockTolerance) throw invalidAccessToken('issued_in_future');
  if (!o.allowIdTokenClaims && ID_TOKEN_CLAIMS.some((name) => payload[name] !== undefined)) throw invalidAccessToken('id_token');
  if (o.allowedClients !== undefined) {
    const named = [payload.client_id, payload.azp].filter((value) => value !== undefined);
    if (named.length === 0 || !named.every((value) => typeof value === 'string' && o.allowedClients!.has(value))) throw invalidAccessToken('client');
  }
}
