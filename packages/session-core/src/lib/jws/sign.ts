import type { JwsPrimitive } from './algorithms.js';

/**
 * Compact JWS (RFC 7515 §7.1) over a payload already serialised to JSON text,
 * with a header already encoded (see `encodeHeader`): the header is the same
 * for every token of a key, so it is serialised once.
 */
export function signCompactJws(encodedHeader: string, json: string, primitive: JwsPrimitive): string {
  const input = `${encodedHeader}.${Buffer.from(json, 'utf8').toString('base64url')}`;
  return `${input}.${primitive.signBase64url(input)}`;
}
