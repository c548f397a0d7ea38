import type { Namespace, Server } from 'socket.io';
import { AuthError } from '../errors.js';
import type { AnySocket } from '../socket-auth.js';

/*
 * The only two places the guard reaches past Socket.IO's public API, kept
 * here so that an upgrade that moves them breaks one file:
 * - `server._nsps`: the namespaces that exist already (there is no public
 *   list; later ones arrive through the public `new_namespace` event);
 * - `namespace._fns`: to put the guard's middleware *before* the
 *   application's (`namespace.use()` appends), so the application's own
 *   middlewares already see `socket.data.auth`.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyServer = Server<any, any, any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyNamespace = Namespace<any, any, any, any>;
export type Middleware = (socket: AnySocket, next: (err?: Error) => void) => void;

interface Internals {
  _nsps: Map<string, AnyNamespace>;
}

/** Throws ERR_CONFIG_INVALID unless `io` is a Server this module knows how to reach into. */
export function checkServer(where: string, io: unknown): void {
  let ok = false;
  try {
    const server = io as { _nsps?: unknown; sockets?: { on?: unknown } } | null;
    ok = server?._nsps instanceof Map && typeof server.sockets?.on === 'function';
  } catch {
    ok = false;
  }
  if (!ok) throw AuthError.config(where, 'io', 'a Socket.IO Server');
}

export function existingNamespaces(io: AnyServer): AnyNamespace[] {
  return [...(io as unknown as Internals)._nsps.values()];
}

/** Runs `middleware` before every middleware already registered or registered later with `use()`. */
export function useFirst(nsp: AnyNamespace, middleware: Middleware): void {
  const fns = (nsp as unknown as { _fns?: unknown })._fns;
  if (Array.isArray(fns)) fns.unshift(middleware);
  // A Socket.IO without the field: last in line is still a guard, only later than the app's middlewares.
  else nsp.use(middleware);
}

export function removeMiddleware(nsp: AnyNamespace, middleware: Middleware): void {
  const fns = (nsp as unknown as { _fns?: unknown })._fns;
  if (!Array.isArray(fns)) return;
  const at = fns.indexOf(middleware);
  if (at >= 0) fns.splice(at, 1);
}
