import type {
  DeleteAllResult,
  InsertOptions,
  InsertResult,
  NewSessionRecord,
  RefreshTokenStore,
  RotateRequest,
  RotateResult,
  SessionContext,
  StoredSessionInfo,
  UpstreamIdentity,
  UpstreamSelector,
  UpstreamSessionRef,
} from '@jwt-session/session-core';
import { DEFAULT_RECEIPT_TTL, checkDeviceFingerprint, isSessionIdOf, storeInput, type DeviceHistoryResult } from '@jwt-session/session-core';
import { keyLayout, type KeyLayout } from './keys.js';
import { DELETE, DELETE_ALL, INSERT, REPLY, ROTATE, SETTLE } from './scripts.js';
import { REMEMBER_DEVICE } from './device-history.js';
import { INDEX_ADD, INSERT_LINKED, LIST_LINKED, MAX_UPSTREAM_INDEX, RESOLVE } from './upstream-scripts.js';
import { CommandQueue, DEFAULT_COMMAND_TIMEOUT, DEFAULT_MAX_IN_FLIGHT } from './bounded.js';
import { checkCount, checkTimeout, defineScripts, type RedisClient } from './util.js';

export interface RedisRefreshTokenStoreOptions {
  /** Prepended to every key; must not contain `{` or `}`. @default 'jwt-session:' */
  keyPrefix?: string;
  /**
   * ms Redis has to answer an operation once it is sent, else it rejects with
   * ERR_STORAGE_UNAVAILABLE (its outcome unknown); also how long an operation
   * waits unsent while the client is disconnected or Redis answers nothing
   * (it then rejects, never sent). @default 1000
   */
  commandTimeout?: number;
  /**
   * Operations sent to Redis and not yet answered, at most; the others wait in
   * order, unsent, for as long as Redis keeps answering. @default 64
   */
  maxInFlight?: number;
}

const SCRIPTS = [
  { name: 'jwtSessionInsert', keys: 1, lua: INSERT },
  { name: 'jwtSessionSettle', keys: 1, lua: SETTLE },
  { name: 'jwtSessionRotate', keys: 1, lua: ROTATE },
  { name: 'jwtSessionListLinked', keys: 2, lua: LIST_LINKED },
  { name: 'jwtSessionInsertLinked', keys: 2, lua: INSERT_LINKED },
  { name: 'jwtSessionUpstreamIndexAdd', keys: 1, lua: INDEX_ADD },
  { name: 'jwtSessionUpstreamResolve', keys: 2, lua: RESOLVE },
  { name: 'jwtSessionDelete', keys: 1, lua: DELETE },
  { name: 'jwtSessionDeleteAll', keys: 1, lua: DELETE_ALL },
  { name: 'jwtSessionRememberDevice', keys: 1, lua: REMEMBER_DEVICE },
] as const;

/** A session as a script returns it (REPLY): strings, and whole numbers as integers. */
type Flat = (string | number)[];

function contextFields(context: SessionContext, removals: boolean): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(context)) {
    if (value !== undefined) out.push(name, JSON.stringify(value));
    // An explicit undefined in a rotation's context removes the entry, as JSON would.
    else if (removals) out.push(name, '');
  }
  return out;
}

const R = REPLY;

/** `{tag}:u:<rest>` beside the subject key `{tag}:s:<rest>` (keys.ts). */
function upstreamKeyOf(subjectKey: string): string {
  const at = subjectKey.lastIndexOf('}:s:');
  return `${subjectKey.slice(0, at)}}:u:${subjectKey.slice(at + 4)}`;
}

function identity(issuer: string, subject: string, sid: string): UpstreamIdentity {
  return sid === '' ? { issuer, subject } : { issuer, subject, sessionId: sid };
}

/** A session as the scripts return it (see REPLY in scripts.ts). */
function decode(sessionId: string, rec: Flat): StoredSessionInfo {
  const idle = rec[R.IDLE];
  const context: SessionContext = {};
  for (let n = R.CONTEXT; n + 1 < rec.length; n += 2) context[rec[n] as string] = JSON.parse(rec[n + 1] as string) as SessionContext[string];
  return {
    sessionId,
    subject: rec[R.SUB] as string,
    generation: Number(rec[R.GEN]),
    createdAt: Number(rec[R.CREATED]),
    lastRefreshedAt: Number(rec[R.REFRESHED]),
    rotatedAt: Number(rec[R.ROTATED]),
    expiresAt: Number(rec[R.EXPIRES]),
    ...(idle === undefined || idle === '' ? {} : { idleExpiresAt: Number(idle) }),
    claims: JSON.parse(rec[R.CLAIMS] as string) as Record<string, unknown>,
    context,
  };
}

/**
 * Sessions in Redis or Redis Cluster, shared by every node. Each method is one
 * Lua script: one round trip, atomic, on one Cluster slot. Only hashes of
 * refresh secrets are stored, and every key expires with the last session it
 * holds. Every failure (Redis down, not answering within `commandTimeout`,
 * script error) rejects with SessionError ERR_STORAGE_UNAVAILABLE.
 *
 * The client belongs to the caller: the store never connects, quits or
 * reconfigures it.
 *
 * @example
 * ```ts
 * const store = new RedisRefreshTokenStore(new Redis(process.env.REDIS_URL!));
 * ```
 */
export class RedisRefreshTokenStore implements RefreshTokenStore {
  readonly #client: RedisClient;
  readonly #keys: KeyLayout;
  readonly #queue: CommandQueue;
  readonly #scripts: ReturnType<typeof defineScripts>;

  constructor(client: RedisClient, options: RedisRefreshTokenStoreOptions = {}) {
    this.#client = client;
    this.#keys = keyLayout(options.keyPrefix);
    const timeout = checkTimeout(options.commandTimeout, 'commandTimeout', DEFAULT_COMMAND_TIMEOUT);
    this.#queue = new CommandQueue(client, timeout, checkCount(options.maxInFlight, 'maxInFlight', DEFAULT_MAX_IN_FLIGHT));
    this.#scripts = defineScripts(client, SCRIPTS);
  }

  /** The key layout in use (for operators and tests). */
  get keys(): KeyLayout {
    return this.#keys;
  }

  async insert(input: NewSessionRecord, options: InsertOptions): Promise<InsertResult> {
    const session = storeInput.record(input);
    const { now, maxSessionsPerSubject, receiptTtl } = storeInput.insertOptions(options);
    const { upstream } = session;
    // Linked: the index entries first (other slots), then the session with its link; see upstream-scripts.ts.
    if (upstream !== undefined) await this.#indexUpstream(session.sessionId, session.expiresAt, upstream, now);
    const linked = upstream === undefined ? [] : [this.#keys.upstream(session.sessionId), upstream.issuer, upstream.subject, upstream.sessionId ?? ''];
    const evicted = (await this.#run('insert', upstream === undefined ? 'jwtSessionInsert' : 'jwtSessionInsertLinked', [
      this.#keys.session(session.sessionId),
      ...linked,
      now,
      maxSessionsPerSubject ?? '',
      Math.ceil(receiptTtl ?? DEFAULT_RECEIPT_TTL),
      session.sessionId,
      session.subject,
      session.tokenHash,
      session.createdAt,
      session.expiresAt,
      session.idleExpiresAt ?? '',
      JSON.stringify(session.claims),
      ...contextFields(session.context, false),
    ])) as string[];
    return { evicted };
  }

  async settleInsert(subject: string, sessionId: string, options: { now: number; receiptTtl?: number | undefined }): Promise<string[]> {
    storeInput.subjectAndId(subject, sessionId);
    const { now, receiptTtl } = storeInput.insertOptions(options);
    if (!isSessionIdOf(sessionId, subject)) return [];
    return (await this.#run('settleInsert', 'jwtSessionSettle', [
      this.#keys.session(sessionId),
      now,
      sessionId,
      Math.ceil(receiptTtl ?? DEFAULT_RECEIPT_TTL),
    ])) as string[];
  }

  async rotate(input: RotateRequest): Promise<RotateResult> {
    const request = storeInput.rotate(input);
    if (!storeInput.isSessionId(request.sessionId)) return { status: 'not_found' };
    const reply = (await this.#run('rotate', 'jwtSessionRotate', [
      this.#keys.session(request.sessionId),
      request.now,
      request.sessionId,
      request.presentedHash,
      request.successorHash,
      request.reuseInterval,
      request.idleTtl ?? '',
      request.claims === undefined ? '' : JSON.stringify(request.claims),
      request.revokePrevious === false ? '0' : '1',
      ...(request.context === undefined ? [] : contextFields(request.context, true)),
    ])) as [string, ...unknown[]];
    const [status] = reply;
    switch (status) {
      case 'rotated':
      case 'grace':
        return { status, session: decode(request.sessionId, reply[1] as Flat) };
      case 'reused':
        return reply[2] === 'kept' ? { status, subject: reply[1] as string, revoked: false } : { status, subject: reply[1] as string };
      case 'mismatch':
        return { status, subject: reply[1] as string, tokenHash: reply[2] as string, generation: Number(reply[3]) };
      case 'expired':
        return reply[1] === 'idle' ? { status, idle: true } : { status };
      default:
        return { status: 'not_found' };
    }
  }

  async list(subject: string, now: number): Promise<StoredSessionInfo[]> {
    storeInput.subject(subject);
    storeInput.now(now);
    const key = this.#keys.subject(subject);
    // The upstream key is the subject key's neighbour ({tag}:u:<rest>); any id of the subject names it, so it is derived from the key.
    const [reply, links] = (await this.#run('list', 'jwtSessionListLinked', [key, upstreamKeyOf(key), now, subject])) as [(string | Flat)[], string[]];
    const sessions: StoredSessionInfo[] = [];
    for (let n = 0; n + 1 < reply.length; n += 2) {
      const session = decode(reply[n] as string, reply[n + 1] as Flat);
      const at = (n / 2) * 3;
      if (links.length > at && links[at] !== '') session.upstream = identity(links[at]!, links[at + 1]!, links[at + 2]!);
      sessions.push(session);
    }
    return sessions.sort((a, b) => b.createdAt - a.createdAt);
  }

  /**
   * The live sessions linked to the provider session or user: the index set
   * names candidates, each checked on its subject's slot against the link
   * written with the session (a stale entry matches nothing).
   */
  async findUpstream(selector: UpstreamSelector, now: number): Promise<UpstreamSessionRef[]> {
    const checked = storeInput.upstreamSelector(selector);
    storeInput.now(now);
    const index = this.#keys.upstreamIndex(checked);
    const ids = (await this.#queue.run('findUpstream', () => this.#client.call('ZRANGEBYSCORE', index, `(${now}`, '+inf'))) as string[];
    const bySlot = new Map<string, string[]>();
    for (const id of ids) {
      if (!storeInput.isSessionId(id)) continue;
      const key = this.#keys.session(id);
      bySlot.set(key, [...(bySlot.get(key) ?? []), id]);
    }
    const [kind, value] = checked.sessionId !== undefined ? ['sid', checked.sessionId] : ['sub', checked.subject];
    const replies = await Promise.all(
      [...bySlot].map(([key, group]) => this.#run('findUpstream', 'jwtSessionUpstreamResolve', [key, upstreamKeyOf(key), now, checked.issuer, kind, value, ...group]) as Promise<string[]>),
    );
    const found: UpstreamSessionRef[] = [];
    for (const reply of replies) for (let n = 0; n + 1 < reply.length; n += 2) found.push({ sessionId: reply[n]!, subject: reply[n + 1]! });
    return found;
  }

  async delete(subject: string, sessionId: string, now: number): Promise<boolean> {
    storeInput.subjectAndId(subject, sessionId);
    storeInput.now(now);
    // A session id starts with its subject's digest: another digest cannot be this subject's session (and would be another key).
    if (!isSessionIdOf(sessionId, subject)) return false;
    const deleted = await this.#run('delete', 'jwtSessionDelete', [this.#keys.session(sessionId), now, sessionId, subject]);
    return deleted === 1;
  }

  async deleteAll(subject: string, now: number): Promise<DeleteAllResult> {
    storeInput.subject(subject);
    storeInput.now(now);
    const [at, ...sessionIds] = (await this.#run('deleteAll', 'jwtSessionDeleteAll', [this.#keys.subject(subject), now, subject])) as string[];
    return { sessionIds, at: Number(at) };
  }

  /** The subject's device history (issue 22, device-history.ts): one script on the subject's slot. */
  async rememberDevice(subject: string, fingerprint: string, options: { now: number; ttl: number; max: number }): Promise<DeviceHistoryResult> {
    storeInput.subject(subject);
    const { now, ttl, max } = checkDeviceFingerprint(subject, fingerprint, options);
    return (await this.#run('rememberDevice', 'jwtSessionRememberDevice', [this.#keys.devices(subject), now, fingerprint, ttl, max])) as DeviceHistoryResult;
  }

  /** Nothing to release: the client is the caller's to close. */
  async close(): Promise<void> {}

  /** Adds the session to the index sets of its provider session and user (each on its own slot). */
  async #indexUpstream(sessionId: string, expiresAt: number, upstream: UpstreamIdentity, now: number): Promise<void> {
    const selectors: UpstreamSelector[] = [{ issuer: upstream.issuer, subject: upstream.subject }];
    if (upstream.sessionId !== undefined) selectors.push({ issuer: upstream.issuer, sessionId: upstream.sessionId });
    await Promise.all(selectors.map((selector) => this.#run('insert', 'jwtSessionUpstreamIndexAdd', [this.#keys.upstreamIndex(selector), now, expiresAt, sessionId, MAX_UPSTREAM_INDEX])));
  }

  #run(operation: string, script: string, args: (string | number)[]): Promise<unknown> {
    return this.#queue.run(operation, () => this.#scripts[script]!(...args));
  }
}
