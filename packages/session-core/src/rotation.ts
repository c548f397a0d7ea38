import { SessionError, reasonOf, storageError } from './errors.js';
import { SESSION_DEVICE_CHANGED, SESSION_REFRESHED, type SessionEventName, type SessionEvents } from './events.js';
import { checkRefreshBinding, refreshProof, withBinding, withSessionBinding, type DpopBindingRefusal } from './dpop/binding.js';
import { applyDrift, driftChange, presentedMarks } from './drift.js';
import { checkCallerContext, withAuthentication, type StoredAuthentication } from './freshness.js';
import { callOptions } from './lib/call-options.js';
import { checkClaims, checkContext } from './lib/claims.js';
import { issueTokens, type IssueConfig } from './lib/issue.js';
import { hashSecret, parseRefreshToken, successorSecret } from './lib/refresh-token.js';
import type { NormalizedOptions } from './options.js';
import { handleReuse, type ReuseHandler } from './reuse.js';
import { refreshFailure } from './telemetry/observe.js';
import type { Telemetry } from './telemetry/telemetry.js';
import type { SessionTokens, UpdateOptions } from './types.js';

/*
 * update() and reauthenticate(): one rotation of a refresh token, moved out
 * of the manager. The refresh token is checked (format, mac, DPoP binding)
 * before any store call; the store rotates atomically; what it answers is a
 * new pair, or a refusal told apart (expired, reuse of some kind, unknown).
 */

/** reauthenticate(): the session the credential was checked for, and its new authentication. */
export interface ReauthenticationStamp {
  sessionId: string;
  stamp: StoredAuthentication;
}

/** What a rotation needs of its manager, fixed at construction. */
export interface RotationDeps {
  options: NormalizedOptions;
  issueConfig: IssueConfig;
  reuse: ReuseHandler;
  telemetry: Telemetry;
  assertOpen: () => void;
  emit: <E extends SessionEventName>(event: E, payload: SessionEvents[E]) => void;
  bindingRefused: (payload: DpopBindingRefusal) => void;
  deleteOne: (subject: string, sessionId: string) => Promise<boolean>;
}

/** A rotation: the new pair, or a SessionError (counted in the telemetry either way). */
export async function rotateSession(deps: RotationDeps, refreshToken: string, options: UpdateOptions, stamp?: ReauthenticationStamp): Promise<SessionTokens> {
  const { options: o, telemetry } = deps;
  // Counted here, not in a .catch() on this call's promise: that cost a promise and a microtask turn per update().
  try {
    deps.assertOpen();
    const key = o.refreshTokenKey;
    // Malformed and forged tokens (a bad mac) end here, at the cost of one HMAC, before any store call.
    const parsed = parseRefreshToken(key, refreshToken);
    if (typeof parsed === 'string') throw new SessionError('ERR_REFRESH_TOKEN_INVALID', 'refresh token is invalid', undefined, parsed);
    const { claims: rawClaims, context: rawContext, dpop, device: rawDevice } = callOptions(options);
    const { sessionId, secret, jkt } = parsed;
    // Drift (drift.ts): the device presented now, against the one the presented token records.
    const { drift, deviceHistory } = o, marks = presentedMarks(drift, rawDevice, sessionId, parsed.drift, deviceHistory !== undefined);
    if (stamp !== undefined && stamp.sessionId !== sessionId) throw new SessionError('ERR_REFRESH_TOKEN_INVALID', undefined, undefined, 'unknown_session');
    const now = o.clock();
    checkRefreshBinding(sessionId, jkt, refreshProof(dpop), now, deps.bindingRefused);
    // The binding is the refresh token's: new claims keep it, and the store cannot drop it.
    const claims = rawClaims === undefined ? undefined : withBinding(checkClaims(rawClaims), jkt);
    // A refresh is not an authentication: the caller's context may not touch the stored one (only a reauthentication stamps it).
    const context = stamp !== undefined ? withAuthentication({}, stamp.stamp) : rawContext === undefined ? undefined : checkCallerContext(checkContext(rawContext));
    const successor = successorSecret(sessionId, secret);

    let result;
    try {
      result = await o.refreshTokenStore.rotate({
        sessionId,
        presentedHash: hashSecret(secret),
        successorHash: hashSecret(successor),
        now,
        reuseInterval: o.refreshTokenReuseInterval,
        idleTtl: o.refreshTokenIdleTtl,
        claims,
        context,
        revokePrevious: o.refreshTokenReusePolicy.previous === 'revoke',
      });
    } catch (error) {
      throw storageError('update', error);
    }

    switch (result.status) {
      case 'rotated':
      case 'grace': {
        if (drift !== undefined) await applyDrift(drift, driftChange(parsed.drift, marks), { subject: result.session.subject, sessionId, now }, (e) => deps.emit(SESSION_DEVICE_CHANGED, e), deps.deleteOne);
        const tokens = issueTokens(deps.issueConfig, withSessionBinding(result.session, jkt), successor, now, marks);
        if (result.status === 'rotated') deps.emit(SESSION_REFRESHED, { subject: result.session.subject, sessionId, at: now });
        telemetry.refresh(result.status);
        return tokens;
      }
      case 'reused':
      case 'mismatch':
        // The mac proved we issued this token for this session: rotated out, so reuse of some kind (reuse.ts).
        throw await handleReuse(deps.reuse, result, parsed, now);
      case 'expired':
        throw new SessionError('ERR_REFRESH_TOKEN_EXPIRED', 'refresh token has expired', undefined, result.idle === true ? 'idle_timeout' : 'expired');
      default:
        // The store has forgotten the session: expired, or deleted. The token's own deadline tells which.
        if (parsed.deadline <= now) throw new SessionError('ERR_REFRESH_TOKEN_EXPIRED', 'refresh token has expired', undefined, 'expired');
        throw new SessionError('ERR_REFRESH_TOKEN_INVALID', 'refresh token is invalid', undefined, 'unknown_session');
    }
  } catch (error) {
    telemetry.refreshRefused(refreshFailure(error), reasonOf(error));
    throw error;
  }
}
