// The demo's "sensitive action" (issue 22): changing the account's e-mail
// address needs an authentication at most `freshMaxAge` seconds old
// (requireFresh, RFC 9470). An older session is answered 401
// `insufficient_user_authentication`; the page asks for the password again and
// posts it to POST /auth/reauthenticate, which checks it here (throttled like
// sign-in) and has @jwt-session/http's reauthenticateSession stamp the same
// session fresh and rotate it; @jwt-session/client then sends the change again.
import type { SessionRouter } from '@jwt-session/http';
import { requireFresh, type AuthContext } from '@jwt-session/socketio-adapter';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientAddress, readJson } from './sign-in.js';
import type { SignInThrottle } from './throttle.js';
import type { UserDirectory } from './users.js';

export interface SensitiveDeps {
  users: UserDirectory;
  throttle: SignInThrottle;
  /** The API guard (httpAuth with the demo's DPoP option): sets `req.auth`. */
  guard(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void;
  /** Seconds. */
  freshMaxAge: number;
  trustProxy: boolean;
  log(line: string): void;
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

export function sensitiveRoutes(deps: SensitiveDeps) {
  const fresh = requireFresh({ maxAge: deps.freshMaxAge, onError: (error) => deps.log(`step-up asked: ${error.code}`) });
  /** user id → e-mail address (the demo keeps it in memory). */
  const emails = new Map<string, string>();

  return {
    /** `POST /auth/reauthenticate` with `{ password }`: the password of the access token's user, checked again. */
    async reauthenticate(req: IncomingMessage, res: ServerResponse, sessions: SessionRouter): Promise<void> {
      // The CSRF header first, so that a cross-site form cannot make the server hash (reauthenticateSession checks Origin too).
      if (req.headers['x-jwt-session'] !== '1') return answer(res, 403, { error: 'ERR_CSRF', message: 'This request was refused: it did not come from the demo page.' });
      const body = await readJson(req);
      const password = typeof body?.password === 'string' ? body.password.slice(0, 200) : '';
      const address = clientAddress(req, deps.trustProxy);
      const result = await sessions.reauthenticateSession(req, res, async ({ subject }) => {
        // Throttled per account and address like sign-in: a stolen access token must not become a password oracle.
        if (password === '' || deps.throttle.check(subject, address) !== undefined) return false;
        // check() counted this attempt as pending: exactly one of failed / succeeded / released ends it.
        let user;
        try {
          user = await deps.users.verify(subject, password);
        } catch (error) {
          deps.throttle.released(subject, address);
          throw error;
        }
        if (user === undefined) {
          deps.throttle.failed(subject, address);
          return false;
        }
        deps.throttle.succeeded(subject, address);
        return { amr: ['pwd'] };
      });
      if (result !== undefined) deps.log(`re-authenticated session=${result.sessionId}`);
    },

    /** `POST /api/account/email` with `{ email }`: only for a session authenticated in the last `freshMaxAge` seconds. */
    changeEmail(req: IncomingMessage, res: ServerResponse): void {
      deps.guard(req, res, (error?: unknown) => {
        if (error !== undefined) return answer(res, 500, { error: 'ERR_INTERNAL', message: 'Something went wrong.' });
        fresh(req as IncomingMessage & { auth?: AuthContext }, res, (refused?: unknown) => {
          if (refused !== undefined) return answer(res, 500, { error: 'ERR_INTERNAL', message: 'Something went wrong.' });
          const auth = (req as { auth?: AuthContext }).auth!;
          readJson(req).then((body) => {
            const email = typeof body?.email === 'string' ? body.email.trim() : '';
            if (!/^[^\s@]{1,64}@[^\s@]{1,190}$/.test(email)) return answer(res, 400, { error: 'ERR_BAD_REQUEST', message: 'Enter an e-mail address.' });
            emails.set(auth.userId, email);
            deps.log(`e-mail changed user=${auth.userId}`);
            answer(res, 200, { email });
          }, () => answer(res, 500, { error: 'ERR_INTERNAL', message: 'Something went wrong.' }));
        });
      });
    },
  };
}
