import { recordedJkt } from '../dpop/binding.js';
import type { StoredSessionInfo } from '../storage.js';
import type { SessionInfo } from '../types.js';
import { sessionDeadline } from './issue.js';

/** A store's sessions as `readAll` lists them: times in Unix seconds, newest first, the DPoP binding when there is one. */
export function sessionInfos(sessions: readonly StoredSessionInfo[]): SessionInfo[] {
  return sessions
    .map((s) => {
      const info: SessionInfo & { order: number } = {
        sessionId: s.sessionId,
        subject: s.subject,
        createdAt: Math.floor(s.createdAt / 1000),
        lastRefreshedAt: Math.floor(s.lastRefreshedAt / 1000),
        expiresAt: Math.floor(sessionDeadline(s) / 1000),
        context: s.context,
        order: s.createdAt,
      };
      const jkt = recordedJkt(s.claims);
      if (jkt !== undefined) info.dpop = { jkt };
      if (s.upstream !== undefined) info.upstream = { ...s.upstream };
      return info;
    })
    .sort((a, b) => b.order - a.order)
    .map(({ order: _order, ...info }) => info);
}
