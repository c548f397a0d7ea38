import { dpopError } from './refusal.js';

/**
 * The one `DPoP` header value of a request (RFC 9449 §4.3 step 1: "not more
 * than one DPoP HTTP request header field"), from whatever the framework
 * gives: undefined (no proof: the caller decides whether one was required), a
 * string, or the list of values (Node's `req.headersDistinct.dpop`, a
 * framework's array). Node joins repeated fields of an unknown header with
 * `, `, and a compact JWS has no comma, so a comma means several fields too.
 * Several values, or a comma, are refused with ERR_DPOP_PROOF_INVALID
 * (`multiple_headers`); so is an empty value (`malformed`). Surrounding
 * whitespace is dropped (RFC 9110 §5.5).
 *
 * @example
 * ```ts
 * const proof = singleDpopHeader(req.headers.dpop);
 * ```
 */
export function singleDpopHeader(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let text: unknown = value;
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    if (value.length > 1) throw dpopError('ERR_DPOP_PROOF_INVALID', 'multiple_headers');
    text = value[0];
  }
  if (typeof text !== 'string') throw dpopError('ERR_DPOP_PROOF_INVALID', 'malformed');
  if (text.includes(',')) throw dpopError('ERR_DPOP_PROOF_INVALID', 'multiple_headers');
  const trimmed = text.trim();
  if (trimmed.length === 0) throw dpopError('ERR_DPOP_PROOF_INVALID', 'malformed');
  return trimmed;
}
