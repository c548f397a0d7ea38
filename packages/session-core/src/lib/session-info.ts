import { recordedJkt } from '../dpop/binding.js';
import { contextWithoutAuthentication, storedAuthentication } from '../freshness.js';
import type { StoredSessionInfo } from '../storage.js';
import type { SessionInfo } from '../types.js';
import { sessionDeadline } from './issue.js';

/** A store's sessions as `readAll` lists them: times in Unix seconds, newest first, the DPoP binding and the last authentication when there are. */
export function sessionInfos(sessions: readonly StoredSessionInfo[]): SessionInfo[] {
  return sessions
    .map((s) => {
      const info: SessionInfo & { order: number } = {
        sessionId: s.sessionId,
        subject: s.subject,
        createdAt: Math.floor(s.createdAt / 1000),
        lastRefreshedAt: Math.floor(s.lastRefreshedAt / 1000),
        expiresAt: Math.floor(sessionDeadline(s) / 1000),
        context: contextWithoutAuthentication(s.context),
        order: s.createdAt,
      };
      const jkt = recordedJkt(s.claims);
      if (jkt !== undefined) info.dpop = { jkt };
      // How and when the user last authenticated in this session ("my sessions"); absent for a session made before it was recorded.
      const authentication = storedAuthentication(s.context);
      // None recorded: the session's creation was its authentication, as its tokens say.
      info.authTime = authentication?.auth_time ?? Math.floor(s.createdAt / 1000);
      if (authentication?.amr !== undefined) info.amr = authentication.amr;
      if (authentication?.acr !== undefined) info.acr = authentication.acr;
      if (s.upstream !== undefined) info.upstream = { ...s.upstream };
      return info;
    })
    .sort((a, b) => b.order - a.order)
    .map(({ order: _order, ...info }) => info);
}
