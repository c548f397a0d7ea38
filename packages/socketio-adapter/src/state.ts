/*
 * The token a socket authenticated with, keyed by the live Socket object. It
 * is kept out of `socket.data` on purpose: socket.data is serialised to other
 * nodes by fetchSockets() and stored by connection-state recovery, and a token
 * must not travel or persist there. A recovered socket is a new object with
 * no entry here, which is how the guard knows it skipped the middleware.
 */
export const socketTokens = new WeakMap<object, string>();
