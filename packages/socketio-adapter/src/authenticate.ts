import type { AccessTokenClaims, SessionVerifier } from '@jwt-session/session-core';
import { checkProof, needsProof, type GuardDpop, type ProofReader } from './dpop.js';
import { AuthError, toAuthError } from './errors.js';
import { checkAuthenticateOptions, checkVerifier } from './options.js';
import { extractToken, type TokenRequest, type TokenSource, type TokenSourceOptions } from './token-source.js';

/** What `users.findOrCreate` answers. Fields it gives override what the token claims. */
export interface ProvisionedUser {
  id: string;
  role?: string | null | undefined;
  roles?: readonly string[] | undefined;
  permissions?: readonly string[] | undefined;
  features?: readonly string[] | undefined;
  /** True refuses the user even with a valid token: revocation by flag. */
  isDisabled?: boolean | undefined;
}

/**
 * Your user store. `User` is whatever it returns (with at least `id`): the
 * whole object is `auth.user`, so `socket.data.auth.user.email` works.
 */
export interface UserProvider<User extends ProvisionedUser = ProvisionedUser> {
  findOrCreate(sub: string, profile: { email: string | undefined; name: string | undefined }): User | Promise<User>;
}

export interface AuthenticateOptions<User extends ProvisionedUser = ProvisionedUser> extends TokenSourceOptions {
  /** Called on every handshake, HTTP request and renewal. @default undefined: userId = sub */
  users?: UserProvider<User>;
  /**
   * Told of every refusal, for your logs and metrics: a handshake, an HTTP
   * request (with a token, or without one when credentials are required), a
   * `session:renew`, a recovered socket, a guarded socket found revoked. The
   * {@link AuthError} carries the `code` the client is answered with and the
   * `reason` (and `cause`) it is not. What it throws is ignored.
   * @default none
   */
  onError?: (error: AuthError) => void;
}

/**
 * Who is on the other end. Plain data (no token, no functions), so it survives
 * the serialisation of `fetchSockets()` across nodes. `expiresAt` is the
 * access token's `exp`, in Unix seconds like every time in session-core.
 */
export interface AuthContext<User extends ProvisionedUser = ProvisionedUser> {
  sub: string;
  userId: string;
  /** The `sid` claim; `''` for a token without one (another OpenID Connect provider's). */
  sessionId: string;
  role: string;
  roles: string[];
  permissions: string[];
  features: string[];
  claims: AccessTokenClaims;
  expiresAt: number;
  /**
   * What `users.findOrCreate` returned, whole (absent without `users`). It
   * travels with the context (fetchSockets(), recovery): keep it plain data.
   */
  user?: User;
}

/** The Socket.IO `SocketData` of a guarded server: `new Server<C2S, S2C, Inter, AuthSocketData<MyUser>>()`. */
export interface AuthSocketData<User extends ProvisionedUser = ProvisionedUser> {
  auth: AuthContext<User>;
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? [...value] : undefined;
}

function rolesOf(claims: AccessTokenClaims): string[] {
  return strings(claims.roles) ?? (typeof claims.role === 'string' && claims.role !== '' ? [claims.role] : []);
}

function permissionsOf(claims: AccessTokenClaims): string[] {
  // OAuth access tokens carry permissions as a space-separated `scope`.
  return strings(claims.permissions) ?? (typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : []);
}

function featuresOf(claims: AccessTokenClaims): string[] {
  const value = claims.features;
  const list = strings(value);
  if (list !== undefined) return list;
  // Feature flags are often an object of booleans; the enabled ones are what handlers test.
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value).filter(([, on]) => on === true).map(([name]) => name);
  }
  return [];
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

async function provision<User extends ProvisionedUser>(users: UserProvider<User>, claims: AccessTokenClaims): Promise<User> {
  let user: User;
  try {
    user = await users.findOrCreate(claims.sub, { email: optionalString(claims.email), name: optionalString(claims.name) });
  } catch (error) {
    // The one way for a user store to say "down, try again" (503) rather than "broken" (500).
    if (codeOf(error) === 'ERR_STORAGE_UNAVAILABLE') throw new AuthError('ERR_STORAGE_UNAVAILABLE', { cause: error }, 'user_store');
    throw new AuthError('ERR_USER_PROVISIONING_FAILED', { cause: error }, 'user_store');
  }
  let valid: boolean;
  let disabled: boolean;
  try {
    valid = user !== null && typeof user === 'object' && typeof user.id === 'string' && user.id !== '';
    disabled = valid && user.isDisabled === true;
  } catch (error) {
    // A getter on the answer threw: as broken as no answer.
    throw new AuthError('ERR_USER_PROVISIONING_FAILED', { cause: error }, 'not_a_user');
  }
  if (!valid) throw new AuthError('ERR_USER_PROVISIONING_FAILED');
  if (disabled) throw new AuthError('ERR_USER_DISABLED');
  return user;
}

function codeOf(error: unknown): unknown {
  try {
    return (error as { code?: unknown } | null)?.code;
  } catch {
    return undefined;
  }
}

/** Verifies one access token and builds its context. Throws only {@link AuthError}. */
export async function authenticateToken<User extends ProvisionedUser = ProvisionedUser>(
  manager: SessionVerifier,
  token: string,
  options: AuthenticateOptions<User> = {},
): Promise<AuthContext<User>> {
  checkVerifier('authenticateToken', 'manager', manager);
  checkAuthenticateOptions('authenticateToken', options);
  if (typeof token !== 'string') throw new AuthError('ERR_AUTH_TOKEN_INVALID', undefined, 'malformed');
  return verifyToken(manager, token, options);
}

/**
 * {@link authenticateToken} for callers that checked the manager and the
 * options when they were built (the middlewares, the guard): those checks
 * build their messages eagerly, too much to repeat on every handshake.
 */
export async function verifyToken<User extends ProvisionedUser, Source = never>(
  manager: SessionVerifier,
  token: string,
  options: AuthenticateOptions<User>,
  dpop?: GuardDpop,
  readProof?: ProofReader<Source>,
  source?: Source,
): Promise<AuthContext<User>> {
  try {
    const claims = await manager.read(token);
    // Before the user store: a copied bound token provisions nothing.
    if (needsProof(claims, dpop)) await checkProof(claims, token, dpop, readProof?.(source as Source));
    return contextOf(claims, options.users === undefined ? undefined : await provision(options.users, claims));
  } catch (error) {
    throw toAuthError(error);
  }
}

/** A verifier's `readSync` bound to it: `read()` answered without a promise. */
export type SyncRead = (token: string) => AccessTokenClaims;

/**
 * The verifier's `readSync`, looked up once when a guard is built (checking
 * the verifier built no messages for it: it is optional); undefined when it
 * has none or looking it up throws, and the guard then awaits `read()`.
 */
export function syncReadOf(manager: SessionVerifier): SyncRead | undefined {
  let readSync: unknown;
  try {
    readSync = manager.readSync;
  } catch {
    return undefined;
  }
  if (typeof readSync !== 'function') return undefined;
  return (token) => (readSync as SyncRead).call(manager, token);
}

/**
 * {@link verifyToken} without a promise when nothing needs waiting for: a
 * verifier with `readSync` and no user store. What it throws is not coded
 * here (wrapping a SessionError in an AuthError costs a second stack trace):
 * the caller codes it (`authCodeOf`, `toAuthError`).
 */
export function verifyTokenNow<User extends ProvisionedUser, Source = never>(
  manager: SessionVerifier,
  readSync: SyncRead | undefined,
  token: string,
  options: AuthenticateOptions<User>,
  dpop?: GuardDpop,
  readProof?: ProofReader<Source>,
  source?: Source,
): AuthContext<User> | Promise<AuthContext<User>> {
  if (readSync === undefined || options.users !== undefined) return verifyToken(manager, token, options, dpop, readProof, source);
  const claims = readSync(token);
  // The one check an unbound token pays (RFC 9449 §7.1: a bound one needs its proof).
  if (needsProof(claims, dpop)) return checkProof(claims, token, dpop, readProof?.(source as Source)).then(() => contextOf<User>(claims, undefined));
  return contextOf<User>(claims, undefined);
}

function contextOf<User extends ProvisionedUser>(claims: AccessTokenClaims, user: User | undefined): AuthContext<User> {
  const roles = user?.roles !== undefined ? [...user.roles] : typeof user?.role === 'string' && user.role !== '' ? [user.role] : rolesOf(claims);
  const context: AuthContext<User> = {
    sub: claims.sub,
    userId: user?.id ?? claims.sub,
    // Another provider's token (through a verifier for resource servers) may carry no sid.
    sessionId: typeof claims.sid === 'string' ? claims.sid : '',
    role: roles[0] ?? 'user',
    roles,
    permissions: user?.permissions !== undefined ? [...user.permissions] : permissionsOf(claims),
    features: user?.features !== undefined ? [...user.features] : featuresOf(claims),
    claims,
    expiresAt: claims.exp,
  };
  if (user !== undefined) context.user = user;
  return context;
}

/**
 * The core shared by the Socket.IO middleware, the Express middleware and the
 * Fastify plugin: find the token, verify it, provision the user. Throws only
 * {@link AuthError}. The token is returned to the caller, who may need it (to
 * forward it, say), but never placed in the context, which may travel.
 */
export async function authenticateRequest<User extends ProvisionedUser = ProvisionedUser>(
  manager: SessionVerifier,
  request: TokenRequest,
  options: AuthenticateOptions<User> = {},
): Promise<{ auth: AuthContext<User>; token: string; source: TokenSource }> {
  checkVerifier('authenticateRequest', 'manager', manager);
  const { token, source } = extractToken(request, options);
  return { auth: await authenticateToken(manager, token, options), token, source };
}
