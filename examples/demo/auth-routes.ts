// Sign-in, silent refresh and sign-out.
//
// The access token goes to the page in the JSON body and lives only in a
// JavaScript variable. The refresh token goes into a cookie the page cannot
// read (HttpOnly), that the browser sends only to this server's own pages
// (SameSite=Strict), only over https when the demo is served over https
// (Secure), and only to the one path that uses it (Path=/api/auth/refresh):
//   POST   /api/auth/refresh   rotate: new access token + new refresh cookie
//   DELETE /api/auth/refresh   sign out this device
import type { SessionTokens } from '@jwt-session/session-core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DemoContext, Route } from './context.js';
import { toHttpError } from './errors.js';
import { HttpError, bearerToken, checkCsrf, clientIp, isHttps, parseCookies, readJson, sendError, sendJson, serializeCookie } from './http.js';
import { describeDevice } from './user-agent.js';

export const REFRESH_COOKIE = 'demo_refresh';
export const REFRESH_PATH = '/api/auth/refresh';

function refreshCookie(req: IncomingMessage, value: string, maxAge: number): string {
  return serializeCookie(REFRESH_COOKIE, value, { path: REFRESH_PATH, maxAge, secure: isHttps(req) });
}

export function clearRefreshCookie(req: IncomingMessage): string {
  return refreshCookie(req, '', 0);
}

function deviceContext(req: IncomingMessage, ctx: DemoContext) {
  const userAgent = (req.headers['user-agent'] ?? '').slice(0, 400);
  return { ip: clientIp(req, ctx.config.trustProxy), userAgent, device: describeDevice(userAgent) };
}

/** The body every successful sign-in and refresh answers with. Times are Unix seconds. */
async function sendTokens(req: IncomingMessage, res: ServerResponse, ctx: DemoContext, tokens: SessionTokens, status = 200): Promise<void> {
  const claims = await ctx.manager.read(tokens.accessToken);
  const user = ctx.users.get(claims.sub) ?? { id: claims.sub, name: claims.sub };
  const now = Math.floor(Date.now() / 1000);
  sendJson(
    res,
    status,
    {
      accessToken: tokens.accessToken,
      expiresAt: tokens.accessTokenExpiresAt,
      expiresIn: tokens.accessTokenExpiresAt - now,
      sessionId: tokens.sessionId,
      user,
    },
    { 'set-cookie': refreshCookie(req, tokens.refreshToken, tokens.refreshTokenExpiresAt - now) },
  );
}

export const signIn: Route = async (req, res, ctx) => {
  checkCsrf(req, ctx.config.allowedOrigins);
  const body = await readJson(req);
  const username = typeof body.username === 'string' ? body.username.slice(0, 100) : '';
  const password = typeof body.password === 'string' ? body.password.slice(0, 200) : '';
  if (username === '' || password === '') throw new HttpError(400, 'ERR_BAD_REQUEST', 'Enter a user name and a password.');
  const user = await ctx.users.verify(username, password);
  if (user === undefined) throw new HttpError(401, 'ERR_BAD_CREDENTIALS', 'Wrong user name or password.');
  const tokens = await ctx.manager.create(user.id, { claims: { name: user.name }, context: deviceContext(req, ctx) });
  ctx.log(`sign-in user=${user.id} session=${tokens.sessionId}`);
  await sendTokens(req, res, ctx, tokens, 201);
};

export const refresh: Route = async (req, res, ctx) => {
  checkCsrf(req, ctx.config.allowedOrigins);
  const cookie = parseCookies(req.headers.cookie).get(REFRESH_COOKIE);
  if (cookie === undefined || cookie === '') throw new HttpError(401, 'ERR_NOT_SIGNED_IN', 'You are not signed in.');
  let tokens: SessionTokens;
  try {
    tokens = await ctx.manager.update(cookie, { context: deviceContext(req, ctx) });
  } catch (error) {
    const failure = toHttpError(error);
    ctx.log(`refresh refused: ${failure.code}`);
    // A refresh token that failed once never works again: drop the cookie.
    sendError(res, failure, failure.status === 401 ? { 'set-cookie': clearRefreshCookie(req) } : {});
    return;
  }
  await sendTokens(req, res, ctx, tokens);
};

export const signOut: Route = async (req, res, ctx) => {
  checkCsrf(req, ctx.config.allowedOrigins);
  // The session to end: from the access token when the page still has a valid
  // one, otherwise from the refresh cookie (rotating it tells us its session).
  let session: { sub: string; sid: string } | undefined;
  const bearer = bearerToken(req);
  if (bearer !== undefined) session = await ctx.manager.read(bearer).catch(() => undefined);
  const cookie = parseCookies(req.headers.cookie).get(REFRESH_COOKIE);
  if (session === undefined && cookie !== undefined && cookie !== '') {
    const tokens = await ctx.manager.update(cookie).catch(() => undefined);
    if (tokens !== undefined) session = await ctx.manager.read(tokens.accessToken);
  }
  if (session !== undefined) {
    await ctx.manager.deleteOne(session.sub, session.sid);
    ctx.log(`sign-out user=${session.sub} session=${session.sid}`);
  }
  sendJson(res, 200, { signedOut: true }, { 'set-cookie': clearRefreshCookie(req) });
};
