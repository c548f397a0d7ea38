import { randomBytes } from 'node:crypto';
import type {
  InvalidationBroadcaster,
  InvalidationEvent,
  InvalidationReceiver,
  InvalidationSubscription,
} from '@jwt-session/session-core';
import { SessionError } from '@jwt-session/session-core';
import { keyLayout, type KeyLayout } from './keys.js';
import { PUBLISH } from './scripts.js';
import { DEFAULT_COMMAND_TIMEOUT, bounded, unavailable } from './bounded.js';
import { parseEvent } from './event.js';
import { checkTimeout, defineScripts, duplicateForBlocking, type RedisClient } from './util.js';

export interface RedisInvalidationBroadcasterOptions {
  /** Prefix of the stream key `<prefix>{invalidations}`; must not contain `{` or `}`. @default 'jwt-session:' */
  keyPrefix?: string;
  /** ms after which `publish` rejects with ERR_STORAGE_UNAVAILABLE. @default 1000 */
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
const BATCH = 500;
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2000;
const warned = new WeakSet<object>();

type StreamReply = [string, [string, string[]][]][] | null;

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
    this.#block = checkTimeout(options.blockTimeout, 'blockTimeout', 5000);
    this.#fixedRetention = options.retention === undefined ? undefined : checkTimeout(options.retention, 'retention', 0);
    const maxLength = options.maxLength ?? 1_000_000;
    if (!Number.isSafeInteger(maxLength) || maxLength < 1) throw new SessionError('ERR_CONFIG_INVALID', 'options.maxLength must be a positive integer');
    this.#maxLength = maxLength;
    this.#connectionName = options.connectionName ?? 'jwt-session:invalidations';
    if (/\s/.test(this.#connectionName)) throw new SessionError('ERR_CONFIG_INVALID', 'options.connectionName must not contain spaces');
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
    const subscription = new StreamSubscription(this, receiver);
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /** Closes every subscription (and its reading connection). The caller's client stays open. */
  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
  }

  /** @internal */
  forget(subscription: InvalidationSubscription): void {
    this.#subscriptions.delete(subscription);
  }

  /** @internal */
  async append(origin: string, event: InvalidationEvent): Promise<void> {
    const lifetime = event.expiresAt - this.#clock();
    if (!Number.isFinite(lifetime)) throw new SessionError('ERR_STORAGE_UNAVAILABLE', 'redis publish refused an event without a finite expiresAt');
    // Already over: nobody needs it, and a non-positive retention would trim the whole stream.
    if (lifetime <= 0) return;
    this.#retention = Math.max(this.#retention, Math.ceil(lifetime));
    const retention = this.#fixedRetention ?? this.#retention;
    await bounded(this.#client, 'publish', this.#timeout, () => this.#publish(this.#keys.stream, retention, this.#maxLength, origin, JSON.stringify(event)));
  }

  /** @internal */
  reader(): RedisClient {
    const reader = duplicateForBlocking(this.#client, this.#connectionName);
    // Its failures are handled by the read loop; the listener only keeps ioredis from reporting them as unhandled.
    reader.on('error', () => undefined);
    return reader;
  }

  /** @internal */
  get settings() {
    return { stream: this.#keys.stream, block: this.#block, clock: this.#clock };
  }
}

class StreamSubscription implements InvalidationSubscription {
  readonly #owner: RedisInvalidationBroadcaster;
  readonly #receiver: InvalidationReceiver;
  readonly #origin = randomBytes(12).toString('base64url');
  readonly #reader: RedisClient;
  readonly #loop: Promise<void>;
  #lastId = '0-0';
  #open = true;
  #markReady!: () => void;
  readonly #ready = new Promise<void>((resolve) => (this.#markReady = resolve));

  constructor(owner: RedisInvalidationBroadcaster, receiver: InvalidationReceiver) {
    this.#owner = owner;
    this.#receiver = receiver;
    this.#reader = owner.reader();
    this.#loop = this.#run();
  }

  async publish(event: InvalidationEvent): Promise<void> {
    if (!this.#open) throw unavailable('publish', 'the subscription is closed');
    await this.#owner.append(this.#origin, event);
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    this.#markReady();
    this.#owner.forget(this);
    // disconnect() rather than quit(): quit would wait for the pending BLOCK read to time out.
    this.#reader.disconnect();
    await this.#loop;
  }

  /** Replays the stream from the start (non-blocking reads until caught up), then follows it with blocking reads. */
  async #run(): Promise<void> {
    const { stream, block } = this.#owner.settings;
    let replaying = true;
    let failures = 0;
    while (this.#open) {
      try {
        const args = replaying ? ['COUNT', BATCH, 'STREAMS', stream, this.#lastId] : ['COUNT', BATCH, 'BLOCK', block, 'STREAMS', stream, this.#lastId];
        const reply = (await this.#reader.call('XREAD', ...args)) as StreamReply;
        failures = 0;
        const entries = reply?.[0]?.[1] ?? [];
        for (const [id, fields] of entries) {
          this.#lastId = id;
          this.#deliver(fields);
        }
        if (replaying && entries.length < BATCH) {
          replaying = false;
          this.#markReady();
        }
      } catch {
        if (!this.#open) break;
        // Disconnected or refused: wait (the offline queue holds the next read until the connection is back) and resume from #lastId.
        failures++;
        await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** failures)).unref());
      }
    }
  }

  #deliver(fields: string[]): void {
    let origin: string | undefined;
    let payload: string | undefined;
    for (let n = 0; n + 1 < fields.length; n += 2) {
      if (fields[n] === 'o') origin = fields[n + 1];
      else if (fields[n] === 'e') payload = fields[n + 1];
    }
    if (origin === this.#origin || payload === undefined) return;
    const event = parseEvent(payload);
    if (event === undefined || event.expiresAt <= this.#owner.settings.clock()) return;
    try {
      if (event.type === 'session') this.#receiver.restrictOne(event);
      else this.#receiver.restrictAll(event);
    } catch {
      // A receiver that throws must not stop the stream for the events after this one.
    }
  }
}
