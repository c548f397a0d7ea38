import { randomBytes } from 'node:crypto';
import type { InvalidationEvent, InvalidationReceiver, InvalidationSubscription } from '@jwt-session/session-core';
import { unavailable } from './bounded.js';
import { parseEvent } from './event.js';
import { streamEntries } from './reply.js';
import type { RedisClient } from './util.js';

/** What a subscription needs from its broadcaster. */
export interface StreamHost {
  readonly stream: string;
  /** ms one XREAD BLOCK waits. */
  readonly block: number;
  /** ms past its due time after which a read counts as stalled and its connection is replaced. */
  readonly stall: number;
  readonly clock: () => number;
  append(origin: string, event: InvalidationEvent): Promise<void>;
  openReader(): RedisClient;
  forget(subscription: InvalidationSubscription): void;
}

const BATCH = 500;
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2000;
const END_WAIT_MS = 1000;

/**
 * One receiver's view of the stream: its own reading connection, its own
 * position (the last id it saw) and its own origin id, which it stamps on what
 * it publishes and skips when reading, so a node never applies its own events.
 */
export class StreamSubscription implements InvalidationSubscription {
  readonly #host: StreamHost;
  readonly #receiver: InvalidationReceiver;
  readonly #origin = randomBytes(12).toString('base64url');
  readonly #reader: RedisClient;
  readonly #loop: Promise<void>;
  #lastId = '0-0';
  #open = true;
  #markReady!: () => void;
  readonly #ready = new Promise<void>((resolve) => (this.#markReady = resolve));
  #markClosed!: () => void;
  /**
   * Settles on close(). The loop waits on it beside each read and each retry
   * pause: a read queued while the reader reconnects to a server that is gone
   * is never settled by disconnect() (ioredis 5 and 6 alike), and close() must
   * not hang on it.
   */
  readonly #closed = new Promise<void>((resolve) => (this.#markClosed = resolve));

  constructor(host: StreamHost, receiver: InvalidationReceiver) {
    this.#host = host;
    this.#receiver = receiver;
    this.#reader = host.openReader();
    this.#loop = this.#run();
  }

  async publish(event: InvalidationEvent): Promise<void> {
    if (!this.#open) throw unavailable('publish', 'the subscription is closed', false);
    await this.#host.append(this.#origin, event);
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    this.#markReady();
    this.#host.forget(this);
    // Only a reader with a socket gets to 'end'; one waiting to reconnect has none left to close.
    const status = this.#reader.status;
    const ended = status === 'reconnecting' || status === 'end' ? undefined : new Promise<void>((resolve) => this.#reader.once('end', resolve));
    // disconnect() rather than quit(): quit would wait for the pending BLOCK read to time out.
    this.#reader.disconnect();
    this.#markClosed();
    await this.#loop;
    // Resolved once the socket is closed, so a caller that closes and then counts connections sees it gone
    // (bounded: a Cluster reader between nodes may never report it).
    if (ended !== undefined) await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, END_WAIT_MS).unref())]);
  }

  /** Replays the stream from the start (non-blocking reads until caught up), then follows it with blocking reads. */
  async #run(): Promise<void> {
    const { stream, block, stall } = this.#host;
    let replaying = true;
    let failures = 0;
    while (this.#open) {
      try {
        const args = replaying ? ['COUNT', BATCH, 'STREAMS', stream, this.#lastId] : ['COUNT', BATCH, 'BLOCK', block, 'STREAMS', stream, this.#lastId];
        const reply = await this.#watched(this.#reader.call('XREAD', ...args), replaying ? stall : block + stall);
        failures = 0;
        const entries = streamEntries(reply);
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
        await Promise.race([this.#closed, new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** failures)).unref())]);
      }
    }
  }

  /**
   * A read that outlives its BLOCK time by `stall` ms on a connection that is
   * up is on a connection that stopped answering (a hung server, a half-open
   * TCP connection that keepalive would only notice hours later). Reconnecting
   * makes ioredis send the same read, with the same last id, on a fresh
   * connection; the promise stays the same one, so nothing is read twice or
   * skipped. While the connection is down, ioredis' own reconnect is at work
   * and the clock restarts when it is back.
   */
  async #watched<T>(read: Promise<T>, limit: number): Promise<T> {
    let since = Date.now();
    const timer = setInterval(() => {
      if (this.#reader.status !== 'ready') since = Date.now();
      else if (Date.now() - since >= limit) {
        since = Date.now();
        this.#reader.disconnect(true);
      }
    }, Math.max(20, limit / 4));
    try {
      return await Promise.race([read, this.#closed.then(() => Promise.reject(new Error('closed')))]);
    } finally {
      clearInterval(timer);
    }
  }

  #deliver(fields: readonly string[]): void {
    const entry = entryEvent(fields);
    if (entry === undefined || entry.origin === this.#origin) return;
    const { event } = entry;
    if (event.expiresAt <= this.#host.clock()) return;
    try {
      if (event.type === 'session') this.#receiver.restrictOne(event);
      else this.#receiver.restrictAll(event);
    } catch {
      // A receiver that throws must not stop the stream for the events after this one.
    }
  }
}

/** A stream entry's fields (`o` origin, `e` event JSON) read and checked; undefined for anything malformed. */
export function entryEvent(fields: readonly string[]): { origin: string | undefined; event: InvalidationEvent } | undefined {
  let origin: string | undefined;
  let payload: string | undefined;
  for (let n = 0; n + 1 < fields.length; n += 2) {
    if (fields[n] === 'o') origin = fields[n + 1];
    else if (fields[n] === 'e') payload = fields[n + 1];
  }
  const event = payload === undefined ? undefined : parseEvent(payload);
  return event === undefined ? undefined : { origin, event };
}
