import { SessionError } from '../errors.js';

/** The options of a create() or update() call, each member read once. */
export interface CallOptions {
  claims: unknown;
  context: unknown;
  dpop: unknown;
  upstream: unknown;
}

const NONE: CallOptions = Object.freeze({ claims: undefined, context: undefined, dpop: undefined, upstream: undefined });

/** `claims`, `context` and `dpop` of create/update options, each read once; anything but an object (or undefined) is bad input. */
export function callOptions(options: unknown): CallOptions {
  if (options === undefined) return NONE;
  if (options === null || typeof options !== 'object') throw new SessionError('ERR_CLAIMS_INVALID', 'options must be an object', undefined, 'input');
  try {
    const o = options as Record<string, unknown>;
    return { claims: o.claims, context: o.context, dpop: o.dpop, upstream: o.upstream };
  } catch {
    throw new SessionError('ERR_CLAIMS_INVALID', 'options could not be read', undefined, 'input');
  }
}
