import type { JwtUserSessionManager } from '@jwt-session/session-core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'socket.io';
import type { DemoConfig } from './config.js';
import type { AuthContext } from '@jwt-session/socketio-adapter';
import type { UserDirectory } from './users.js';

/** What every route module gets. */
export interface DemoContext {
  config: DemoConfig;
  manager: JwtUserSessionManager;
  users: UserDirectory;
  io: Server;
  log(line: string): void;
  /** The caller's verified access token (Bearer), or `undefined` once a 401 has been sent. */
  authenticate(req: IncomingMessage, res: ServerResponse): Promise<AuthContext | undefined>;
}

export type Route = (req: IncomingMessage, res: ServerResponse, ctx: DemoContext, params: Record<string, string>) => Promise<void>;
