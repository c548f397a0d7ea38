import type {
  InvalidationBroadcaster,
  InvalidationEvent,
  InvalidationReceiver,
  InvalidationSubscription,
  RevocationLogPage,
} from '@jwt-session/session-core';
import { SessionError, assertInvalidationReceiver, checkRevocationLogRead, parseInvalidationEvent } from '@jwt-session/session-core';
import { keyLayout, type KeyLayout } from './keys.js';
import { PUBLISH } from './scripts.js';
import { CommandQueue, DEFAULT_COMMAND_TIMEOUT, DEFAULT_MAX_IN_FLIGHT } from './bounded.js';
import { streamEntries } from './reply.js';
import { StreamSubscription, entryEvent } from './subscription.js';
import { checkCount, checkTimeout, defineScripts, duplicateForBlocking, type RedisClient } from './util.js';

export interface RedisInvalidationBroadcasterOptions {
  /** Prefix of the stream key `<prefix>{invalidations}`; must not contain `{` or `}`. @default 'jwt-session:' */
  keyPrefix?: string;
  /**
   * ms after which `publish` rejects with ERR_STORAGE_UNAVAILABLE; also how long
   * past its BLOCK time a read may hang before its connection is replaced. @default 1000
   */
  commandTimeout?: number;
  /** ms one blocking read waits for new entries before it is re-issued. @default 5000 */
  blockTimeout?: number;
  /**
   * ms an entry stays in the stream. @default the longest lifetime (`expiresAt`
   * minus now) of any event published through this broadcaster: every node
   * shares the access-token lifetime, so that is how long an entry can matter
   */
  retention?: number;
  /** Upper bound on entries kept, whatever their age (approximate trimming). @default 1000000 */
  maxLength?: number;
  /** Name of each reading connection (CLIENT LIST). @default 'jwt-session:invalidations' */
  connectionName?: string;
  /** ms since the epoch; entries whose `expiresAt` has passed are not delivered. @default Date.now */
  clock?: () => number;
}

const PUBLISH_SCRIPT = 'jwtSessionPublish';

/** A stream entry id (`<ms>-<seq>`); `0-0` is the start. */
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

const warned = new WeakSet<object>();

/**
 * Carries invalidations between nodes through a Redis Stream: a durable,
 * bounded log rather than PUBLISH, which drops whatever is sent while a
 * subscriber is disconnected. Each subscription reads the stream with XREAD
 * BLOCK on a connection of its own (a duplicate of the caller's client),
 * remembers the last id it saw and resumes from there after a reconnect; on
 * subscribe it replays the entries still in force, and `ready()` resolves when
 * that replay is done. Entries carry a random origin id per subscription so a
 * node never applies its own events. The stream is trimmed by age and expires
 * when no one publishes.
 *
 * On a Cluster the stream lives on one slot (its own hash tag); every node
 * reads it from there.
 */
export class RedisInvalidationBroadcaster implements InvalidationBroadcaster {
  readonly #client: RedisClient;
  readonly #keys: KeyLayout;
  readonly #timeout: number;
  readonly #queue: CommandQueue;
  readonly #block: number;
  readonly #fixedRetention: number | undefined;
  readonly #maxLength: number;
  readonly #connectionName: string;
  readonly #clock: () => number;
  readonly #publish: ReturnType<typeof defineScripts>[string];
  readonly #subscriptions = new Set<InvalidationSubscription>();
  #retention = 0;

  constructor(client: RedisClient, options: RedisInvalidationBroadcasterOptions = {}) {
    this.#client = client;
    this.#keys = keyLayout(options.keyPrefix);
    this.#timeout = checkTimeout(options.commandTimeout, 'commandTimeout', DEFAULT_COMMAND_TIMEOUT);
    this.#queue = new CommandQueue(client, this.#timeout, DEFAULT_MAX_IN_FLIGHT);
    this.#block = checkTimeout(options.blockTimeout, 'blockTimeout', 5000);
    this.#fixedRetention = options.retention === undefined ? undefined : checkTimeout(options.retention, 'retention', 0);
    this.#maxLength = checkCount(options.maxLength, 'maxLength', 1_000_000);
    this.#connectionName = options.connectionName ?? 'jwt-session:invalidations';
    if (/\s/.test(this.#connectionName)) throw new SessionError('ERR_CONFIG_INVALID', 'options.connectionName must not contain spaces', undefined, 'option');
    this.#clock = options.clock ?? Date.now;
    this.#publish = defineScripts(client, [{ name: PUBLISH_SCRIPT, keys: 1, lua: PUBLISH }])[PUBLISH_SCRIPT]!;
    if (client.listenerCount('error') === 0 && !warned.has(client)) {
      // Without a listener ioredis reports connection errors on stderr on its own; say why it matters once.
      warned.add(client);
      process.emitWarning('the Redis client passed to RedisInvalidationBroadcaster has no "error" listener; connection errors will be logged by ioredis as unhandled', {
        code: 'JWT_SESSION_REDIS_NO_ERROR_LISTENER',
      });
    }
  }

  /** The stream key. */
  get streamKey(): string {
    return this.#keys.stream;
  }

  subscribe(receiver: InvalidationReceiver): InvalidationSubscription {
    assertInvalidationReceiver(receiver);
    const subscription = new StreamSubscription(
      {
        stream: this.#keys.stream,
        block: this.#block,
        stall: this.#timeout,
        clock: this.#clock,
        append: (origin, event) => this.#append(origin, event),
        openReader: () => this.#openReader(),
        forget: (s) => this.#subscriptions.delete(s),
      },
      receiver,
    );
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /**
   * The stream read as a log: `XREAD COUNT limit` (not blocking, on the
   * caller's client, bounded by `commandTimeout`) after the stream id `after`.
   * Stream ids only grow, so a cursor misses nothing that is still kept.
   */
  async entriesAfter(after: string | undefined, limit: number): Promise<RevocationLogPage> {
    checkRevocationLogRead(after, limit, STREAM_ID);
    const from = after ?? '0-0';
    const reply = await this.#queue.run('log read', () => this.#client.call('XREAD', 'COUNT', limit, 'STREAMS', this.#keys.stream, from));
    const read = streamEntries(reply);
    const now = this.#clock();
    const entries: RevocationLogPage['entries'] = [];
    for (const [id, fields] of read) {
      const event = entryEvent(fields)?.event;
      if (event !== undefined && event.expiresAt > now) entries.push({ id, event });
    }
    return { entries, cursor: read.at(-1)?.[0] ?? from, more: read.length === limit };
  }

  /** Closes every subscription (and its reading connection). The caller's client stays open. */
  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
  }

  async #append(origin: string, input: InvalidationEvent): Promise<void> {
    // The same check every receiver applies: what they would skip is refused here, with a code.
    const event = parseInvalidationEvent(input);
    if (event === undefined) throw new SessionError('ERR_CLAIMS_INVALID', 'publish(): the invalidation event is malformed', undefined, 'input');
    const lifetime = event.expiresAt - this.#clock();
    if (!Number.isFinite(lifetime)) throw new SessionError('ERR_STORAGE_UNAVAILABLE', 'redis publish refused an event without a finite expiresAt', undefined, 'broadcast');
    // Already over: nobody needs it, and a non-positive retention would trim the whole stream.
    if (lifetime <= 0) return;
    this.#retention = Math.max(this.#retention, Math.ceil(lifetime));
    const retention = this.#fixedRetention ?? this.#retention;
    await this.#queue.run('publish', () => this.#publish(this.#keys.stream, retention, this.#maxLength, origin, JSON.stringify(event)));
  }

  #openReader(): RedisClient {
    const reader = duplicateForBlocking(this.#client, this.#connectionName);
    // Its failures are handled by the read loop; the listener only keeps ioredis from reporting them as unhandled.
    reader.on('error', () => undefined);
    return reader;
  }
}
