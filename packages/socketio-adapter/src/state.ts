/*
 * The live Socket objects this package's middleware accepted. A recovered
 * socket is a new object with no entry here, which is how the guard knows it
 * skipped the middleware. Tokens themselves are never kept: not here, and not
 * in `socket.data`, which fetchSockets() serialises to other nodes and
 * connection-state recovery stores.
 */
export const acceptedSockets = new WeakSet<object>();
