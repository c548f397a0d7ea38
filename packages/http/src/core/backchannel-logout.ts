import { LogoutTokenVerifier, SessionError, isSessionError, type LogoutTokenVerifierOptions, type SessionErrorReason, type UpstreamSelector } from '@jwt-session/session-core';
import { pushedEndpointConfig, type UpstreamRevoker } from './pushed-endpoint.js';

export type { UpstreamRevoker } from './pushed-endpoint.js';
import type { EndpointResponse } from './request.js';

/*
 * The relying party's back-channel logout endpoint (OpenID Connect
 * Back-Channel Logout 1.0 §2.5–§2.8), framework-neutral: the Express and
 * Fastify adapters read the body (capped) and write the answer. The token is
 * checked by session-core's LogoutTokenVerifier; this part is the HTTP.
 */

export interface BackchannelLogoutOptions {
  /** The verifier, or its options (providers: issuer → client id, the replay cache, …). */
  verifier: LogoutTokenVerifier | LogoutTokenVerifierOptions;
  /** The endpoint's full public path, registered at the provider as `backchannel_logout_uri`. @default '/auth/backchannel-logout' */
  path?: string;
  /** Bytes of request body read at most; a larger one is answered 413 unread. @default 32768 */
  maxBodyBytes?: number;
  /**
   * Called with every refusal (its `code` and `reason`), for the operator's
   * log. Never given the token or the body.
   */
  onRefused?: (error: SessionError) => void;
}

/** The body of a refusal (§2.8): nothing of the request is echoed. */
const INVALID = JSON.stringify({ error: 'invalid_request' });
/** 503: the store could not confirm; the provider retries (§2.8 lets any other error be answered as such). */
const UNAVAILABLE = JSON.stringify({ error: 'temporarily_unavailable' });

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/** A body as an adapter read it: its text, or that it was over the cap. */
export type LogoutBody = { text: string } | { tooLarge: true } | undefined;

function answer(status: number, body?: string, extra: Record<string, string> = {}): EndpointResponse {
  // §2.8: Cache-Control: no-store on every answer.
  const response: EndpointResponse = { status, headers: { 'cache-control': 'no-store', ...extra } };
  if (body !== undefined) {
    response.headers['content-type'] = 'application/json';
    response.body = body;
  }
  return response;
}

/** The endpoint: checks its options at construction; `handle` never rejects. */
export class BackchannelLogoutEndpoint {
  readonly path: string;
  readonly maxBodyBytes: number;
  readonly verifier: LogoutTokenVerifier;
  readonly #manager: UpstreamRevoker;
  readonly #onRefused: ((error: SessionError) => void) | undefined;

  constructor(manager: unknown, options: BackchannelLogoutOptions) {
    const o = pushedEndpointConfig<BackchannelLogoutOptions['verifier']>(manager, options, 'verifier', '/auth/backchannel-logout');
    this.#manager = o.manager;
    this.verifier = o.checker instanceof LogoutTokenVerifier ? o.checker : new LogoutTokenVerifier(o.checker as LogoutTokenVerifierOptions);
    this.path = o.path;
    this.maxBodyBytes = o.maxBodyBytes;
    this.#onRefused = o.onRefused;
  }

  /** Answers a POST to the endpoint: `contentType` its header, `body` what the adapter read. */
  async handle(contentType: unknown, body: LogoutBody): Promise<EndpointResponse> {
    if (body !== undefined && 'tooLarge' in body) return this.#refuse(new SessionError('ERR_AUTH_TOKEN_INVALID', undefined, undefined, 'too_large'), 413);
    // §2.5: the token comes as the form parameter logout_token, exactly once.
    let token: string | undefined;
    if (typeof contentType === 'string' && FORM.test(contentType) && body !== undefined) {
      const values = new URLSearchParams(body.text).getAll('logout_token');
      if (values.length === 1) token = values[0];
    }
    if (token === undefined) return this.#refuse(new SessionError('ERR_AUTH_TOKEN_INVALID', undefined, undefined, 'malformed'), 400);
    try {
      await this.verifier.logout(this.#manager, token);
      return answer(200);
    } catch (error) {
      const refusal = isSessionError(error) ? error : new SessionError('ERR_STORAGE_UNAVAILABLE', undefined, { cause: error }, 'store');
      this.#report(refusal);
      // Never acknowledge what was not done: a store that could not confirm is 503, and the provider sends the token again.
      return refusal.code === 'ERR_STORAGE_UNAVAILABLE' ? answer(503, UNAVAILABLE, { 'retry-after': '5' }) : answer(400, INVALID);
    }
  }

  #refuse(error: SessionError, status: number): EndpointResponse {
    this.verifier.count('refused', error.reason as SessionErrorReason);
    this.#report(error);
    return answer(status, INVALID);
  }

  #report(error: SessionError): void {
    try {
      this.#onRefused?.(error);
    } catch {
      // The operator's hook must not change the answer.
    }
  }
}
