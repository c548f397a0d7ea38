import type { JwsPrimitive } from './algorithms.js';

/**
 * Compact JWS (RFC 7515 §7.1) over a JSON payload, with a header already
 * encoded (see `encodeHeader`): the header is the same for every token of a
 * key, so it is serialised once.
 */
export function signCompactJws(encodedHeader: string, payload: object, primitive: JwsPrimitive): string {
  return signCompactJwsText(encodedHeader, JSON.stringify(payload), primitive);
}

/** As `signCompactJws`, with the payload already serialised to JSON text. */
export function signCompactJwsText(encodedHeader: string, json: string, primitive: JwsPrimitive): string {
  const input = `${encodedHeader}.${Buffer.from(json, 'utf8').toString('base64url')}`;
  return `${input}.${primitive.signBase64url(input)}`;
}
