import { randomBytes } from 'node:crypto';
import type { InvalidationEvent, InvalidationReceiver, InvalidationSubscription } from '@jwt-session/session-core';
import { unavailable } from './bounded.js';
import type { Delivery } from './listener.js';

/** What a subscription needs from its broadcaster. */
export interface SubscriptionHost {
  readonly clock: () => number;
  append(origin: string, event: InvalidationEvent): Promise<void>;
  forget(subscription: PostgresSubscription): void;
}

/** Seen ids are forgotten once their event has expired, checked every this many deliveries. */
const PRUNE_EVERY = 256;

/**
 * One receiver's view of the revocations: its own origin id, which it stamps
 * on what it publishes and skips when receiving (a node never applies its own
 * events), and the ids it has applied, so an event read twice (notified and
 * read back in a catch-up) is applied once. An id is remembered until its
 * event expires; after that it would not be delivered anyway.
 */
export class PostgresSubscription implements InvalidationSubscription, Delivery {
  readonly #host: SubscriptionHost;
  readonly #receiver: InvalidationReceiver;
  readonly #origin = randomBytes(12).toString('base64url');
  readonly #seen = new Map<string, number>();
  #deliveries = 0;
  #open = true;
  replayed = false;
  #markReady!: () => void;
  readonly #ready = new Promise<void>((resolve) => (this.#markReady = resolve));

  constructor(host: SubscriptionHost, receiver: InvalidationReceiver) {
    this.#host = host;
    this.#receiver = receiver;
  }

  async publish(event: InvalidationEvent): Promise<void> {
    if (!this.#open) throw unavailable('publish', 'the subscription is closed');
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
  }

  markReplayed(): void {
    this.replayed = true;
    this.#markReady();
  }

  deliver(id: string, origin: string, event: InvalidationEvent): void {
    if (!this.#open || origin === this.#origin || this.#seen.has(id)) return;
    const now = this.#host.clock();
    if (event.expiresAt <= now) return;
    this.#seen.set(id, event.expiresAt);
    if (++this.#deliveries % PRUNE_EVERY === 0) for (const [seen, expiresAt] of this.#seen) if (expiresAt <= now) this.#seen.delete(seen);
    try {
      if (event.type === 'session') this.#receiver.restrictOne(event);
      else this.#receiver.restrictAll(event);
    } catch {
      // A receiver that throws must not stop the events after this one.
    }
  }
}
