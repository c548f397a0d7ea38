import { SessionError } from '../errors.js';

/** The options of a create() or update() call, each member read once. */
export interface CallOptions {
  claims: unknown;
  context: unknown;
  dpop: unknown;
  /** create() and reauthenticate(): how the user authenticated (freshness.ts). */
  authTime: unknown;
  amr: unknown;
  acr: unknown;
  /** create() and update(): the client's device (device.ts). */
  device: unknown;
  /** create(): the identity provider's session and user (upstream/). */
  upstream: unknown;
}

const NONE: CallOptions = Object.freeze({ claims: undefined, context: undefined, dpop: undefined, authTime: undefined, amr: undefined, acr: undefined, device: undefined, upstream: undefined });

/** `claims`, `context`, `dpop` and the authentication of create/update options, each read once; anything but an object (or undefined) is bad input. */
export function callOptions(options: unknown): CallOptions {
  if (options === undefined) return NONE;
  if (options === null || typeof options !== 'object') throw new SessionError('ERR_CLAIMS_INVALID', 'options must be an object', undefined, 'input');
  try {
    const o = options as Record<string, unknown>;
    return { claims: o.claims, context: o.context, dpop: o.dpop, authTime: o.authTime, amr: o.amr, acr: o.acr, device: o.device, upstream: o.upstream };
  } catch {
    throw new SessionError('ERR_CLAIMS_INVALID', 'options could not be read', undefined, 'input');
  }
}
