import type { SignedOutReason, SocketLike } from './types.js';

/** What a bound socket needs from its client. */
export interface SocketHost {
  token(): Promise<string>;
  /** The DPoP proof for `session:renew` with `token` (undefined for a session that is not bound). */
  proof(token: string): Promise<string | undefined>;
  signedIn(): boolean;
  /** Renews the access token unless a newer one arrived since `seen`. */
  renewFrom(seen: number): Promise<void>;
  generation(): number;
  end(reason: SignedOutReason): void;
  /** True while this tab or a sibling is signing out on purpose. */
  ending(): boolean;
  /** The server's `session:not-fresh` (an event refused for want of a recent authentication, sent without an ack). */
  stepUp(payload: { maxAge?: unknown; acrValues?: unknown; event?: unknown } | undefined): void;
}

/** What the client keeps per bound socket. */
export interface BoundSocket {
  renew(token: string): void;
  signedOut(): void;
  unbind(): void;
}

/**
 * Maps the guard's `session:revoked` reason: `all` is a subject-wide
 * revocation ("sign out everywhere" from another device), `reused` a refresh
 * token presented twice; `deleted`, `evicted`, `unverified` and anything
 * unknown (an adapter newer than this client) read as `revoked`. Adapters
 * before `all` existed sent `deleted` for both, which also reads as `revoked`.
 */
export function revokedReason(payload: unknown, ending: boolean): SignedOutReason {
  const reason = (payload as { reason?: unknown } | null)?.reason;
  if (ending) return 'signed-out';
  return reason === 'reused' ? 'reused' : reason === 'all' ? 'signed-out-elsewhere' : 'revoked';
}

export function bindSocket(socket: SocketLike, host: SocketHost): BoundSocket {
  // The server closed the socket (an expiry, a failed renewal): get a valid
  // token (renewed only if stale), then reconnect; socket.io does not by itself.
  const reconnect = (renewal: Promise<unknown>): void => {
    renewal.then(
      () => {
        if (host.signedIn() && !socket.connected) socket.connect();
      },
      () => undefined, // offline: the refresh schedule retries, and socket.io reconnects by itself
    );
  };
  const handlers: Record<string, (...args: any[]) => void> = {
    'session:revoked': (payload: unknown) => host.end(revokedReason(payload, host.ending())),
    'session:expired': () => reconnect(host.token()),
    'session:not-fresh': (payload) => host.stepUp(payload),
    connect_error: (error: { data?: { code?: unknown } } | undefined) => {
      const code = error?.data?.code;
      // The handshake's token was refused as expired: renew even if it looks fresh here, so this cannot loop.
      if (code === 'ERR_AUTH_TOKEN_EXPIRED') reconnect(host.renewFrom(host.generation()));
      else if (code === 'ERR_SESSION_REVOKED') host.end(host.ending() ? 'signed-out' : 'revoked');
    },
    disconnect: (why: string) => {
      // The server closed it (expiry, a failed renewal): socket.io does not reconnect by itself then.
      if (why === 'io server disconnect' && host.signedIn()) reconnect(host.token());
    },
  };
  for (const [event, fn] of Object.entries(handlers)) socket.on(event, fn);
  return {
    renew(token) {
      if (!socket.connected) return;
      const answered = (answer: { ok?: boolean } | undefined): void => {
        // Refused (e.g. the socket's session changed): reconnect, the auth callback gives the current token.
        if (answer?.ok !== true && host.signedIn()) {
          socket.disconnect();
          socket.connect();
        }
      };
      // A bound session's renewal carries a proof like the handshake's (same htm and htu, ath of the new token).
      host.proof(token).then(
        (dpop) => socket.emit('session:renew', { token, dpop }, answered),
        () => answered(undefined),
      );
    },
    signedOut() {
      socket.disconnect();
    },
    unbind() {
      for (const [event, fn] of Object.entries(handlers)) socket.off(event, fn);
    },
  };
}
