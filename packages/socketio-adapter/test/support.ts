import { JwtUserSessionManager, type JwtUserSessionManagerOptions, type SessionVerifier } from '@jwt-session/session-core';
import { MemoryBroadcaster, MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type ServerOptions } from 'socket.io';
import { io as ioClient, type ManagerOptions, type Socket as ClientSocket, type SocketOptions } from 'socket.io-client';
import { attachSessionGuard, type SessionGuard, type SessionGuardOptions } from '../src/index.js';
import { MAX_TIMEOUT_MS, type Scheduler } from '../src/timers.js';

export const SECRET = 'a-test-secret-of-at-least-32-bytes!!';

/** Collects teardown steps; run them in `finally` so a failing assertion still closes everything. */
export class Cleanup {
  readonly #steps: (() => unknown)[] = [];
  add<T>(step: () => unknown, value?: T): T {
    this.#steps.push(step);
    return value as T;
  }
  async run(): Promise<void> {
    for (const step of this.#steps.reverse()) {
      try {
        await step();
      } catch {
        // Keep tearing down the rest.
      }
    }
    this.#steps.length = 0;
  }
}

export function makeManager(
  cleanup: Cleanup,
  options: Partial<JwtUserSessionManagerOptions> & { broadcaster?: MemoryBroadcaster | JwtUserSessionManagerOptions['broadcaster'] } = {},
): JwtUserSessionManager {
  // Memory storage by default; `options` override any part (a test that brings its own store closes it).
  const refreshTokenStore = new MemoryRefreshTokenStore();
  const invalidAccessTokenCache = new MemoryInvalidAccessTokenCache();
  const manager = new JwtUserSessionManager({
    keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET },
    issuer: 'https://auth.test',
    audience: 'https://api.test',
    refreshTokenStore,
    invalidAccessTokenCache,
    ...options,
  });
  cleanup.add(async () => {
    await manager.close();
    await refreshTokenStore.close();
    invalidAccessTokenCache.close();
  });
  return manager;
}

export interface IoServer {
  io: Server;
  http: HttpServer;
  url: string;
  port: number;
  guard: SessionGuard | undefined;
}

/** A real HTTP server with Socket.IO on a free port. `guard: false` leaves the server unguarded. */
export async function startIo(
  cleanup: Cleanup,
  manager: SessionVerifier | undefined,
  options: { guard?: SessionGuardOptions | false; server?: Partial<ServerOptions> } = {},
): Promise<IoServer> {
  const http = createServer();
  // Upgraded (WebSocket) connections leave the HTTP server's bookkeeping, so
  // closeAllConnections() misses them and ws waits 30 s for a closing
  // handshake; track the raw sockets and destroy them at the end instead.
  const raw = new Set<import('node:net').Socket>();
  http.on('connection', (s) => {
    raw.add(s);
    s.once('close', () => raw.delete(s));
  });
  const io = new Server(http, { pingInterval: 1000, pingTimeout: 1000, ...options.server });
  const guard = manager !== undefined && options.guard !== false ? attachSessionGuard(io, manager, options.guard ?? {}) : undefined;
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  cleanup.add(async () => {
    guard?.close();
    io.disconnectSockets(true);
    const closed = new Promise<void>((resolve) => io.close(() => resolve()));
    for (const s of raw) s.destroy();
    await closed;
  });
  return { io, http, url: `http://127.0.0.1:${port}`, port, guard };
}

export type ClientOptions = Partial<ManagerOptions & SocketOptions>;

/** A client that connects once (no reconnection) and is closed by cleanup. */
export function client(cleanup: Cleanup, url: string, options: ClientOptions = {}): ClientSocket {
  const socket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, ...options });
  cleanup.add(async () => {
    const engine = socket.io.engine;
    socket.io.reconnection(false);
    socket.disconnect();
    // Let the closing handshake finish, or its 30 s timer keeps the process alive.
    if (engine !== undefined && engine.readyState !== 'closed') await Promise.race([new Promise((resolve) => engine.once('close', resolve)), sleep(500)]);
  });
  return socket;
}

export interface ConnectError {
  message: string;
  data: { code: string; message: string } | undefined;
}

/** Resolves on `connect`, rejects with the `connect_error`. */
export function connected(socket: ClientSocket): Promise<ClientSocket> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err: Error & { data?: { code: string; message: string } }) => reject(err));
  });
}

export async function connect(cleanup: Cleanup, url: string, options: ClientOptions = {}): Promise<ClientSocket> {
  return connected(client(cleanup, url, options));
}

/** The connect_error a refused handshake produces. Fails if the client connects. */
export async function refused(cleanup: Cleanup, url: string, options: ClientOptions = {}): Promise<ConnectError> {
  try {
    await connect(cleanup, url, options);
  } catch (error) {
    const e = error as Error & { data?: { code: string; message: string } };
    return { message: e.message, data: e.data };
  }
  throw new Error('expected the handshake to be refused');
}

/** Resolves with the first emission of `event`, or rejects after `ms`. */
export function next<T = unknown>(socket: ClientSocket, event: string, ms = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms`)), ms);
    socket.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `predicate` holds, polling. */
export async function until(predicate: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** Virtual time: nothing waits, `advance` runs what falls due, in order. */
export class VirtualScheduler implements Scheduler {
  time = 1_700_000_000_000;
  readonly delays: number[] = [];
  #queue: { at: number; callback: () => void; id: number }[] = [];
  #id = 0;
  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    // What Node does with an overflowing delay: fire after 1 ms.
    const effective = ms > MAX_TIMEOUT_MS ? 1 : ms;
    this.delays.push(ms);
    const id = ++this.#id;
    this.#queue.push({ at: this.time + effective, callback, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#queue = this.#queue.filter((t) => t.id !== handle);
  }
  get pending(): number {
    return this.#queue.length;
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      this.#queue.sort((a, b) => a.at - b.at);
      const due = this.#queue[0];
      if (due === undefined || due.at > end) break;
      this.#queue.shift();
      this.time = due.at;
      due.callback();
    }
    this.time = end;
  }
}

export { MemoryBroadcaster };

