import type { SessionError, UpstreamSelector } from '@jwt-session/session-core';
import { SessionHttpError } from './errors.js';
import { configChecked } from './options.js';

/*
 * What the two endpoints an identity provider pushes to (back-channel logout,
 * Shared Signals) configure alike: the manager that ends sessions, the path,
 * the body cap and the refusal hook. Their tokens' checks differ and stay in
 * their own modules.
 */

/** What the endpoints need of the manager: a JwtUserSessionManager. */
export interface UpstreamRevoker {
  revokeUpstream(selector: UpstreamSelector): Promise<number>;
}

const PATH = /^\/[A-Za-z0-9\-._~!$&'()*+=:@/%]*$/;

export interface PushedEndpointConfig<Checker> {
  manager: UpstreamRevoker;
  /** The `verifier` or `receiver` option as given: the caller builds its checker from it. */
  checker: Checker;
  path: string;
  maxBodyBytes: number;
  onRefused: ((error: SessionError) => void) | undefined;
}

/** The shared options, checked: ERR_CONFIG_INVALID naming the option otherwise. `name` is the checker's option (`verifier`, `receiver`). */
export function pushedEndpointConfig<Checker>(manager: unknown, options: unknown, name: 'verifier' | 'receiver', defaultPath: string): PushedEndpointConfig<Checker> {
  if (manager === null || typeof manager !== 'object' || typeof (manager as UpstreamRevoker).revokeUpstream !== 'function') {
    throw new SessionHttpError('ERR_CONFIG_INVALID', 'manager must implement revokeUpstream() (a JwtUserSessionManager)');
  }
  const o = configChecked(() => {
    if (options === null || typeof options !== 'object') throw new SessionHttpError('ERR_CONFIG_INVALID', `options must be an object with a ${name}`);
    const given = options as Record<string, unknown>;
    return { checker: given[name], path: given.path, maxBodyBytes: given.maxBodyBytes, onRefused: given.onRefused };
  });
  const path = o.path ?? defaultPath;
  if (typeof path !== 'string' || !PATH.test(path) || path.includes('//') || (path.length > 1 && path.endsWith('/'))) {
    throw new SessionHttpError('ERR_CONFIG_INVALID', 'options.path must be a path starting with "/" (no query or fragment, no trailing "/")');
  }
  const max = o.maxBodyBytes ?? 32 * 1024;
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1024) throw new SessionHttpError('ERR_CONFIG_INVALID', 'options.maxBodyBytes must be a whole number of bytes >= 1024');
  if (o.onRefused !== undefined && typeof o.onRefused !== 'function') throw new SessionHttpError('ERR_CONFIG_INVALID', 'options.onRefused must be a function');
  return { manager: manager as UpstreamRevoker, checker: o.checker as Checker, path, maxBodyBytes: max, onRefused: o.onRefused as ((error: SessionError) => void) | undefined };
}
