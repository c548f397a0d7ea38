import { SessionError } from './errors.js';
import type { DpopBindingRefusal } from './dpop/binding.js';
import type { InvalidationReason } from './storage.js';
import type { ReuseEvent } from './reuse.js';

/** Event names, for `manager.on(NAME, listener)`. */
export const SESSION_CREATED = 'sessionCreated';
export const SESSION_REFRESHED = 'sessionRefreshed';
export const SESSION_INVALIDATED = 'sessionInvalidated';
export const ALL_SESSIONS_INVALIDATED = 'allSessionsInvalidated';
export const REFRESH_TOKEN_REUSED = 'refreshTokenReused';
export const DPOP_BINDING_REFUSED = 'dpopBindingRefused';
export const SESSION_CREATED_ON_NEW_DEVICE = 'sessionCreatedOnNewDevice';
export const SESSION_DEVICE_CHANGED = 'sessionDeviceChanged';

const EVENT_NAMES: ReadonlySet<unknown> = new Set([SESSION_CREATED, SESSION_REFRESHED, SESSION_INVALIDATED, ALL_SESSIONS_INVALIDATED, REFRESH_TOKEN_REUSED, DPOP_BINDING_REFUSED, SESSION_CREATED_ON_NEW_DEVICE, SESSION_DEVICE_CHANGED]);

/** `local`: this node did it; `remote`: another node did, and the broadcaster told us. */
export type EventOrigin = 'local' | 'remote';

/** Payloads never hold a token. `at` is ms since the epoch on the origin's clock. */
export interface SessionEvents {
  [SESSION_CREATED]: { subject: string; sessionId: string; at: number };
  [SESSION_REFRESHED]: { subject: string; sessionId: string; at: number };
  [SESSION_INVALIDATED]: { subject: string; sessionId: string; reason: InvalidationReason; at: number; origin: EventOrigin };
  /** `sessionIds`: the sessions the deletion found, when it found any. */
  [ALL_SESSIONS_INVALIDATED]: { subject: string; at: number; origin: EventOrigin; sessionIds?: string[] };
  /**
   * A rotated-out refresh token was presented. `kind`: `previous` (the token
   * just replaced, after the reuse interval: usually a lost response),
   * `ancestor` (older: a copy), `branch` (not behind the current token: the
   * store lost rotations). `revoked`: whether the session was ended
   * (`refreshTokenReusePolicy`).
   */
  [REFRESH_TOKEN_REUSED]: ReuseEvent;
  /** A bound session's refresh token came without a proof, or with one by another key: someone may hold a copy of the cookie. The session is intact. */
  [DPOP_BINDING_REFUSED]: DpopBindingRefusal;
  /**
   * A session was created from a device (summary + network) the subject's
   * history does not hold (`deviceHistory`): send the "new sign-in" notice.
   * `first`: the subject had no history (a first sign-in: usually no notice).
   * `historyUnavailable`: the store could not answer; counted as new.
   */
  [SESSION_CREATED_ON_NEW_DEVICE]: { subject: string; sessionId: string; at: number; device: { summary: string; network: string }; first: boolean; historyUnavailable: boolean };
  /** A refresh presented another device summary or network than the session's (the manager's `drift`); never the values. `revoked`: the 'revoke' policy ended the session. */
  [SESSION_DEVICE_CHANGED]: { subject: string; sessionId: string; at: number; changed: ('summary' | 'network')[]; revoked: boolean };
}

export type SessionEventName = keyof SessionEvents;
export type SessionEventListener<E extends SessionEventName> = (payload: SessionEvents[E]) => void;

/**
 * A small typed emitter. Unlike node:events, a throwing listener is isolated:
 * the others still run and the operation that emitted still succeeds; the
 * error is reported as a process warning.
 */
export class SessionEventEmitter {
  readonly #listeners = new Map<SessionEventName, Set<(payload: never) => void>>();

  on<E extends SessionEventName>(event: E, listener: SessionEventListener<E>): this {
    if (!EVENT_NAMES.has(event)) throw new SessionError('ERR_CONFIG_INVALID', 'on(): the event name is not one of the manager events', undefined, 'option');
    if (typeof listener !== 'function') throw new SessionError('ERR_CONFIG_INVALID', 'on(): the listener must be a function', undefined, 'option');
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return this;
  }

  off<E extends SessionEventName>(event: E, listener: SessionEventListener<E>): this {
    this.#listeners.get(event)?.delete(listener as (payload: never) => void);
    return this;
  }

  listenerCount(event: SessionEventName): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  protected emit<E extends SessionEventName>(event: E, payload: SessionEvents[E]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as SessionEventListener<E>)(payload);
      } catch (error) {
        process.emitWarning(`a "${event}" listener threw: ${error instanceof Error ? error.message : String(error)}`, {
          type: 'SessionListenerWarning',
        });
      }
    }
  }
}
