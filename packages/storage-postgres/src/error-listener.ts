import type { Queryable } from './bounded.js';

/*
 * node-postgres emits on the pool the error of an idle client that lost its
 * server (a restart, a failover, an idle timeout on the server's side), and
 * an 'error' event nobody listens to ends the process. The pool is the
 * app's, so the listener is the app's to add (as pg's documentation asks);
 * a pool handed over without one is said once, as socket.io-redis-adapter
 * does for a Redis client with no listener.
 */
const warned = new WeakSet<object>();

/** Warns once per pool (or client) that has no 'error' listener when a store or a broadcaster is given it. */
export function warnWithoutErrorListener(db: Queryable, who: string): void {
  const listenerCount = (db as { listenerCount?: unknown }).listenerCount;
  if (typeof listenerCount !== 'function' || (listenerCount as (event: string) => number).call(db, 'error') > 0 || warned.has(db)) return;
  warned.add(db);
  process.emitWarning(
    `the pg pool passed to ${who} has no "error" listener: pg emits there the error of an idle connection that lost its server, and with no listener that ends the process; add pool.on('error', …) before handing it over`,
    { code: 'JWT_SESSION_PG_NO_ERROR_LISTENER' },
  );
}
