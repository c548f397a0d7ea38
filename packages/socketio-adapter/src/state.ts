import type { SessionTracker, SocketAuthOptions } from './socket-auth.js';

/** How a live socket was accepted: what a later `socketAuth` with other options builds on. */
export interface Acceptance {
  /** The options every middleware that accepted it so far, combined (later ones win field by field). */
  options: SocketAuthOptions;
  /** The user and session rooms the acceptance joined, left again if a later one moves the socket. */
  rooms: string[];
  /** Trackers it is registered with, so that each registers it once; never changed, replaced. */
  trackers: ReadonlySet<SessionTracker>;
}

/*
 * The live Socket objects this package's middleware accepted. A recovered
 * socket is a new object with no entry here, which is how the guard knows it
 * skipped the middleware. Tokens themselves are never kept: not here, and not
 * in `socket.data`, which fetchSockets() serialises to other nodes and
 * connection-state recovery stores.
 */
export const acceptances = new WeakMap<object, Acceptance>();
