import { SecurityEventReceiver, SessionError, isSessionError, setErrorOf, type SecurityEventReceiverOptions } from '@jwt-session/session-core';
import type { LogoutBody } from './backchannel-logout.js';
import type { UpstreamRevoker } from './pushed-endpoint.js';
import { pushedEndpointConfig } from './pushed-endpoint.js';
import type { EndpointResponse } from './request.js';

/*
 * The Security Event Token push endpoint (RFC 8935), framework-neutral: the
 * transmitter POSTs one SET as `application/secevent+jwt`; 202 when it was
 * accepted (its events applied, unknown ones ignored), 400 with RFC 8935's
 * `{"err": code, "description": …}` when it was not, 503 when the store
 * could not confirm (the transmitter retries). Cache-Control: no-store on
 * every answer; nothing of the request is echoed.
 */

export interface SecurityEventsOptions {
  /** The receiver, or its options (transmitters, replay cache, resolveSubject, …). */
  receiver: SecurityEventReceiver | SecurityEventReceiverOptions;
  /** The endpoint's full public path. @default '/auth/security-events' */
  path?: string;
  /** @default 32768 */
  maxBodyBytes?: number;
  /** Every refusal, with its code and reason; never the token. */
  onRefused?: (error: SessionError) => void;
}

/** RFC 8935 §2.4's descriptions: fixed text, never the request's. */
const DESCRIPTIONS: Record<string, string> = {
  invalid_request: 'the request body cannot be parsed as a SET, or the SET is invalid',
  invalid_key: 'the SET signature cannot be validated',
  invalid_issuer: 'the SET issuer is invalid',
  invalid_audience: 'the SET audience does not correspond to the receiver',
  authentication_failed: 'the SET transmitter could not be authenticated',
};

const SECEVENT = /^application\/secevent\+jwt\s*(;|$)/i;

function answer(status: number, body?: unknown): EndpointResponse {
  const response: EndpointResponse = { status, headers: { 'cache-control': 'no-store' } };
  if (body !== undefined) {
    response.headers['content-type'] = 'application/json';
    response.body = JSON.stringify(body);
  }
  return response;
}

const refusal = (code: string) => answer(400, { err: code, description: DESCRIPTIONS[code] });

export class SecurityEventsEndpoint {
  readonly path: string;
  readonly maxBodyBytes: number;
  readonly receiver: SecurityEventReceiver;
  readonly #manager: UpstreamRevoker;
  readonly #onRefused: ((error: SessionError) => void) | undefined;

  constructor(manager: unknown, options: SecurityEventsOptions) {
    const o = pushedEndpointConfig<SecurityEventsOptions['receiver']>(manager, options, 'receiver', '/auth/security-events');
    this.#manager = o.manager;
    this.receiver = o.checker instanceof SecurityEventReceiver ? o.checker : new SecurityEventReceiver(o.checker as SecurityEventReceiverOptions);
    this.path = o.path;
    this.maxBodyBytes = o.maxBodyBytes;
    this.#onRefused = o.onRefused;
  }

  async handle(contentType: unknown, body: LogoutBody): Promise<EndpointResponse> {
    if (body !== undefined && 'tooLarge' in body) {
      this.receiver.count('refused', 'too_large');
      this.#report(new SessionError('ERR_AUTH_TOKEN_INVALID', undefined, undefined, 'too_large'));
      return answer(413, { err: 'invalid_request', description: DESCRIPTIONS.invalid_request });
    }
    // RFC 8935 §2.2: the SET is the body, as application/secevent+jwt.
    if (typeof contentType !== 'string' || !SECEVENT.test(contentType) || body === undefined) {
      this.receiver.count('refused', 'malformed');
      this.#report(new SessionError('ERR_AUTH_TOKEN_INVALID', undefined, undefined, 'malformed'));
      return refusal('invalid_request');
    }
    try {
      await this.receiver.receive(this.#manager, body.text.trim());
      return answer(202);
    } catch (error) {
      const e = isSessionError(error) ? error : new SessionError('ERR_STORAGE_UNAVAILABLE', undefined, { cause: error }, 'store');
      this.#report(e);
      if (e.code === 'ERR_STORAGE_UNAVAILABLE') return answer(503);
      return refusal(setErrorOf(e));
    }
  }

  #report(error: SessionError): void {
    try {
      this.#onRefused?.(error);
    } catch {
      // The operator's hook must not change the answer.
    }
  }
}
