import { SessionError, isSessionError } from '../errors.js';
import { DEFAULT_DPOP_ALGORITHMS, DPOP_ALGORITHMS, type DpopAlgorithm } from './algorithms.js';
import { checkPublicOrigin, publicRequestUrl } from './htu.js';
import { dpopError } from './refusal.js';
import type { DpopReplayCache } from './replay.js';

/*
 * The `dpop` option every HTTP surface of the library takes — the session
 * endpoints of @jwt-session/http and the guards of @jwt-session/socketio-adapter
 * and @jwt-session/nestjs — checked and answered in one place, so that one
 * deployment configures DPoP once and every surface reads it the same way.
 */

/** Server nonces (RFC 9449 §8): a `DpopNonces`, or anything with its two methods. */
export interface DpopNonceSource {
  /** The nonce to send now (`DPoP-Nonce`). */
  current(): string;
  /** Whether a proof's `nonce` is current. */
  check(nonce: string): boolean;
}

/** The `dpop` option of the endpoints and of the guards: sessions bound to the client's key (RFC 9449). */
export interface DpopOptions {
  /**
   * Where the `jti` of every proof accepted is remembered (§11.1), so a proof
   * works once: `MemoryDpopReplayCache` on one node, `RedisDpopReplayCache`
   * across a cluster. Required: without it a proof copied off the wire could
   * be played again for its whole lifetime.
   */
  replayCache: DpopReplayCache;
  /**
   * Endpoints: sign-in needs a proof, and a refresh of an unbound session is
   * refused. Guards: a token that is not bound is refused
   * (ERR_AUTH_TOKEN_INVALID, reason `unbound`). Without it, unbound sessions
   * keep working with `Bearer`; bound ones always need their proof.
   * @default false
   */
  required?: boolean;
  /** Server nonces (`new DpopNonces({ secret })`): a proof without the current one is answered `use_dpop_nonce` (§8). @default none */
  nonces?: DpopNonceSource;
  /** The proof algorithms accepted (§4.3 step 5). @default ['ES256'] */
  algorithms?: readonly DpopAlgorithm[];
  /**
   * The origin clients address the server at (`https://app.example.com`),
   * for the proofs' `htu` (§4.3 step 9) behind a proxy or load balancer.
   * @default the request's own: `Host`, or `X-Forwarded-Proto` / `-Host` when `trustProxy` believes them
   */
  publicOrigin?: string;
}

/** {@link DpopOptions}, checked: what a surface keeps after construction. */
export interface NormalizedDpopOptions {
  replayCache: DpopReplayCache;
  required: boolean;
  nonces: DpopNonceSource | undefined;
  /** Frozen: `verifyDpopProof` checks a frozen list once. */
  algorithms: readonly DpopAlgorithm[];
  publicOrigin: string | undefined;
  /** `algs="…"` of every DPoP challenge (§7.1): the algorithms accepted, so a client never has to guess. */
  algs: string;
}

const NAMES = new Set(['replayCache', 'required', 'nonces', 'algorithms', 'publicOrigin']);

/**
 * The `dpop` option, checked once at construction; undefined when absent.
 * Throws ERR_CONFIG_INVALID naming the field (`options.dpop.replayCache …`);
 * `where` prefixes the message (`httpAuth: `) when given.
 */
export function normalizeDpopOptions(value: unknown, where = ''): NormalizedDpopOptions | undefined {
  const fail = (name: string | undefined, message: string): never => {
    throw new SessionError('ERR_CONFIG_INVALID', `${where}options.dpop${name === undefined ? '' : `.${name}`} ${message}`);
  };
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') fail(undefined, 'must be an object');
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (NAMES.has(key)) continue;
    // The caller's text is quoted back only when it looks like an option name.
    if (/^[A-Za-z]{1,40}$/.test(key)) fail(key, 'is not an option');
    fail(undefined, 'holds an unknown option');
  }
  const replayCache = o.replayCache as DpopReplayCache | undefined;
  if (typeof replayCache?.remember !== 'function') fail('replayCache', 'is required (a DpopReplayCache: MemoryDpopReplayCache, RedisDpopReplayCache)');
  if (o.required !== undefined && typeof o.required !== 'boolean') fail('required', 'must be a boolean');
  const nonces = o.nonces as DpopNonceSource | undefined;
  if (nonces !== undefined && (typeof nonces?.current !== 'function' || typeof nonces.check !== 'function')) fail('nonces', 'must be a DpopNonces (current() and check(nonce))');
  const algorithms = o.algorithms ?? DEFAULT_DPOP_ALGORITHMS;
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => (DPOP_ALGORITHMS as readonly unknown[]).includes(a))) {
    fail('algorithms', `must be a non-empty list of ${DPOP_ALGORITHMS.join(', ')}`);
  }
  let publicOrigin: string | undefined;
  if (o.publicOrigin !== undefined) {
    try {
      publicOrigin = checkPublicOrigin(o.publicOrigin, 'dpop.publicOrigin');
    } catch {
      fail('publicOrigin', 'must be an http: or https: origin without path, query or fragment');
    }
  }
  const frozen = Object.freeze([...new Set(algorithms as DpopAlgorithm[])]);
  return { replayCache: replayCache!, required: o.required === true, nonces, algorithms: frozen, publicOrigin, algs: frozen.join(' ') };
}

/** What {@link dpopRequestUrl} reads of a request: Node's IncomingMessage has it all. */
export interface DpopRequestLike {
  readonly headers: { readonly [name: string]: string | string[] | undefined };
  /** Whether the connection is TLS (`req.socket.encrypted`). @default false */
  readonly encrypted?: boolean | undefined;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/** The first entry of a comma-separated forwarded header, trimmed; undefined when there is none. */
function firstEntry(value: string | string[] | undefined): string | undefined {
  for (const part of (single(value) ?? '').split(',')) {
    const entry = part.trim();
    if (entry !== '') return entry;
  }
  return undefined;
}

/**
 * The request's own origin (`scheme://host[:port]`), as a browser on this
 * page would send it: `Host` and the connection's TLS, or — with
 * `trustProxy`, when a proxy in front sets them — the first
 * `X-Forwarded-Host` and `X-Forwarded-Proto`. Without a proxy any client can
 * send those, so they are believed only when told to. Undefined without a host.
 */
export function requestOrigin(req: DpopRequestLike, trustProxy: boolean | number): string | undefined {
  const forwardedHost = trustProxy === false ? undefined : firstEntry(req.headers['x-forwarded-host']);
  const host = forwardedHost ?? single(req.headers.host);
  if (host === undefined || host === '') return undefined;
  const https = req.encrypted === true || (trustProxy !== false && firstEntry(req.headers['x-forwarded-proto'])?.toLowerCase() === 'https');
  return `${https ? 'https' : 'http'}://${host.toLowerCase()}`;
}

/**
 * The public URL of a request for a proof's `htu` (§4.3 step 9): the
 * configured public origin, else the request's own ({@link requestOrigin},
 * whose `Host` is the client's text: one that makes no origin is refused as
 * `htu`, never a 500), followed by `target`, the request target the node
 * received (`req.originalUrl ?? req.url`). Throws ERR_DPOP_PROOF_INVALID (`htu`).
 */
export function dpopRequestUrl(publicOrigin: string | undefined, req: DpopRequestLike, target: unknown, trustProxy: boolean | number): string {
  try {
    return publicRequestUrl(publicOrigin ?? requestOrigin(req, trustProxy) ?? '', target);
  } catch (error) {
    if (isSessionError(error, 'ERR_DPOP_PROOF_INVALID')) throw error;
    throw dpopError('ERR_DPOP_PROOF_INVALID', 'htu');
  }
}

/**
 * The headers of a DPoP refusal (RFC 9449 §7.1, §8): the `DPoP` challenge
 * with the algorithms accepted — `use_dpop_nonce` when the nonce was missing
 * or stale, `invalid_dpop_proof` otherwise (a bound token without a proof, or
 * under `Bearer`, included: never a Bearer challenge, no downgrade) — and,
 * with nonces, a fresh `DPoP-Nonce`. Undefined for a code that is not DPoP's.
 */
export function dpopChallenge(code: string, dpop: NormalizedDpopOptions | undefined): Record<string, string> | undefined {
  if (code !== 'ERR_DPOP_PROOF_INVALID' && code !== 'ERR_DPOP_NONCE_REQUIRED' && code !== 'ERR_DPOP_BINDING_MISMATCH') return undefined;
  const error = code === 'ERR_DPOP_NONCE_REQUIRED' ? 'use_dpop_nonce' : 'invalid_dpop_proof';
  const headers: Record<string, string> = { 'www-authenticate': `DPoP error="${error}", algs="${dpop?.algs ?? DEFAULT_DPOP_ALGORITHMS.join(' ')}"` };
  if (dpop?.nonces !== undefined) headers['dpop-nonce'] = dpop.nonces.current();
  return headers;
}
