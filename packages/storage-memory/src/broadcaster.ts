import { SessionError, assertInvalidationReceiver, parseInvalidationEvent, type InvalidationBroadcaster, type InvalidationEvent, type InvalidationReceiver, type InvalidationSubscription } from '@jwt-session/session-core';

function deliver(receiver: InvalidationReceiver, event: InvalidationEvent): void {
  // A fresh copy per receiver, holding only the known fields: no receiver can change what another sees.
  const copy = parseInvalidationEvent(event);
  if (copy === undefined) return;
  try {
    if (copy.type === 'session') receiver.restrictOne(copy);
    else receiver.restrictAll(copy);
  } catch {
    // One receiver's failure must not keep the event from the others.
  }
}

/**
 * Links several managers inside one process, the way the Redis broadcaster
 * links nodes: each subscriber gets every other subscriber's events, never its
 * own, and a late subscriber is replayed the events still in force (until their
 * `expiresAt`), so it enforces revocations made before it started.
 */
export class MemoryBroadcaster implements InvalidationBroadcaster {
  readonly #receivers = new Set<InvalidationReceiver>();
  #log: InvalidationEvent[] = [];
  readonly #clock: () => number;

  constructor(options: { clock?: () => number } = {}) {
    this.#clock = options.clock ?? Date.now;
  }

  subscribe(receiver: InvalidationReceiver): InvalidationSubscription {
    assertInvalidationReceiver(receiver);
    for (const event of this.#recent()) deliver(receiver, event);
    this.#receivers.add(receiver);
    let open = true;
    return {
      publish: async (event) => {
        if (!open) throw new Error('subscription is closed');
        const copy = parseInvalidationEvent(event);
        // Malformed: nobody would apply it; the caller is told.
        if (copy === undefined) throw new SessionError('ERR_CLAIMS_INVALID', 'publish(): the invalidation event is malformed', undefined, 'input');
        this.#log = this.#recent();
        this.#log.push(copy);
        for (const other of this.#receivers) if (other !== receiver) deliver(other, copy);
      },
      ready: async () => undefined,
      close: async () => {
        open = false;
        this.#receivers.delete(receiver);
      },
    };
  }

  /** Events still in force. */
  get size(): number {
    return this.#recent().length;
  }

  #recent() {
    const now = this.#clock();
    return this.#log.filter((event) => event.expiresAt > now);
  }
}
