// "My sessions": list, revoke one, sign out everywhere. Every route needs the
// access token as a Bearer header (checked by the adapter's httpAuth), which a
// cross-site page cannot send; the CSRF check is applied to the writes anyway.
import type { SessionInfo } from '@jwt-session/session-core';
import { clearRefreshCookie } from './auth-routes.js';
import type { Route } from './context.js';
import { HttpError, checkCsrf, sendJson } from './http.js';

export interface SessionView {
  sessionId: string;
  device: string;
  ip: string;
  createdAt: number;
  lastRefreshedAt: number;
  expiresAt: number;
  current: boolean;
}

function view(info: SessionInfo, currentSessionId: string): SessionView {
  const { device, ip } = info.context;
  return {
    sessionId: info.sessionId,
    device: typeof device === 'string' ? device : 'Unknown device',
    ip: typeof ip === 'string' ? ip : 'unknown',
    createdAt: info.createdAt,
    lastRefreshedAt: info.lastRefreshedAt,
    expiresAt: info.expiresAt,
    current: info.sessionId === currentSessionId,
  };
}

export const listSessions: Route = async (req, res, ctx) => {
  const auth = await ctx.authenticate(req, res);
  if (auth === undefined) return;
  const sessions = await ctx.manager.readAll(auth.sub);
  // This device first, then newest first (readAll's order).
  const views = sessions.map((s) => view(s, auth.sessionId)).sort((a, b) => Number(b.current) - Number(a.current));
  sendJson(res, 200, { sessions: views });
};

export const revokeSession: Route = async (req, res, ctx, params) => {
  checkCsrf(req, ctx.config.allowedOrigins);
  const auth = await ctx.authenticate(req, res);
  if (auth === undefined) return;
  const sessionId = params.sessionId ?? '';
  const revoked = await ctx.manager.deleteOne(auth.sub, sessionId);
  if (!revoked) throw new HttpError(404, 'ERR_SESSION_NOT_FOUND', 'That session does not exist any more.');
  ctx.log(`revoke user=${auth.sub} session=${sessionId} by=${auth.sessionId}`);
  const current = sessionId === auth.sessionId;
  sendJson(res, 200, { revoked: true, current }, current ? { 'set-cookie': clearRefreshCookie(req) } : {});
};

export const signOutEverywhere: Route = async (req, res, ctx) => {
  checkCsrf(req, ctx.config.allowedOrigins);
  const auth = await ctx.authenticate(req, res);
  if (auth === undefined) return;
  const count = await ctx.manager.deleteAll(auth.sub);
  ctx.log(`sign-out-everywhere user=${auth.sub} sessions=${count}`);
  sendJson(res, 200, { revoked: count }, { 'set-cookie': clearRefreshCookie(req) });
};
