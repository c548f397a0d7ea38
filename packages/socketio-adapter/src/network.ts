import type { AccessTokenClaims, SessionVerifier } from '@jwt-session/session-core';
import { AuthError } from './errors.js';

/*
 * The guards' half of the manager's 'refresh' drift policy (session-core
 * drift.ts): an access token issued for one network (its `dnh` claim, a keyed
 * mark) presented from another is refused with ERR_AUTH_TOKEN_INVALID
 * (reason `drift`, `WWW-Authenticate: Bearer error="invalid_token"`), so the
 * client refreshes — presenting its device, which the manager observes — and
 * gets a token for the network it is on. The guard only learns the request's
 * network from the app (`network`: the same coarse value the app gives
 * create() and update(), e.g. the /24 or /48 prefix of the client address).
 * A guard without the option pays nothing; a token without `dnh` (no device
 * given, or another policy) passes with it.
 */

/** A manager that can check a token's network: `JwtUserSessionManager` has `checkNetwork`. */
interface NetworkChecker {
  checkNetwork(claims: AccessTokenClaims, network: string): void;
}

/** Checks claims against the network the app reads off `source`; throws the refusal. */
export type NetworkCheck<Source> = (claims: AccessTokenClaims, source: Source) => void;

/**
 * The `network` option of a guard, checked once (its construction):
 * undefined when absent; a function and a manager with `checkNetwork`
 * otherwise, or ERR_CONFIG_INVALID naming the option.
 */
export function networkCheck<Source>(where: string, manager: SessionVerifier, network: unknown): NetworkCheck<Source> | undefined {
  if (network === undefined) return undefined;
  if (typeof network !== 'function') throw AuthError.config(where, 'network', 'a function (req) => string');
  const checker = manager as unknown as Partial<NetworkChecker>;
  if (typeof checker.checkNetwork !== 'function') throw AuthError.config(where, 'network', "given with a manager that has checkNetwork (a JwtUserSessionManager with drift: 'refresh')");
  const of = network as (source: Source) => unknown;
  return (claims, source) => {
    // Nothing to compare: no call to the app's function either.
    if (claims.dnh === undefined) return;
    checker.checkNetwork!(claims, of(source) as string);
  };
}
