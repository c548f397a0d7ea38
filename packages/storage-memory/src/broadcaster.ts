import {
  SessionError,
  assertInvalidationReceiver,
  checkRevocationLogRead,
  parseInvalidationEvent,
  type InvalidationBroadcaster,
  type InvalidationEvent,
  type InvalidationReceiver,
  type InvalidationSubscription,
  type RevocationLogPage,
} from '@jwt-session/session-core';

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

/** `<log>-<seq>`: the log's random name, then the entry's number in it. */
const CURSOR = /^([0-9a-z]{1,16})-(\d{1,15})$/;

/**
 * Links several managers inside one process, the way the Redis broadcaster
 * links nodes: each subscriber gets every other subscriber's events, never its
 * own, and a late subscriber is replayed the events still in force (until their
 * `expiresAt`), so it enforces revocations made before it started.
 *
 * `entriesAfter` reads the same log. Its cursors name this broadcaster's log
 * (a random name per instance): a cursor from an earlier process, whose numbers
 * started again at 1 here, reads from the start instead of skipping entries.
 */
export class MemoryBroadcaster implements InvalidationBroadcaster {
  readonly #receivers = new Set<InvalidationReceiver>();
  #log: Array<{ seq: number; event: InvalidationEvent }> = [];
  #seq = 0;
  readonly #name = Math.random().toString(36).slice(2, 10).padEnd(8, '0');
  readonly #clock: () => number;

  constructor(options: { clock?: () => number } = {}) {
    this.#clock = options.clock ?? Date.now;
  }

  subscribe(receiver: InvalidationReceiver): InvalidationSubscription {
    assertInvalidationReceiver(receiver);
    for (const { event } of this.#recent()) deliver(receiver, event);
    this.#receivers.add(receiver);
    let open = true;
    return {
      publish: async (event) => {
        if (!open) throw new Error('subscription is closed');
        const copy = parseInvalidationEvent(event);
        // Malformed: nobody would apply it; the caller is told.
        if (copy === undefined) throw new SessionError('ERR_CLAIMS_INVALID', 'publish(): the invalidation event is malformed', undefined, 'input');
        this.#log = this.#recent();
        this.#log.push({ seq: ++this.#seq, event: copy });
        for (const other of this.#receivers) if (other !== receiver) deliver(other, copy);
      },
      ready: async () => undefined,
      close: async () => {
        open = false;
        this.#receivers.delete(receiver);
      },
    };
  }

  async entriesAfter(after: string | undefined, limit: number): Promise<RevocationLogPage> {
    checkRevocationLogRead(after, limit, CURSOR);
    const [, name, seq] = after === undefined ? [] : CURSOR.exec(after)!;
    const from = name === this.#name ? Number(seq) : 0;
    const recent = this.#recent().filter((entry) => entry.seq > from);
    const page = recent.slice(0, limit);
    const last = page.at(-1)?.seq ?? from;
    return {
      entries: page.map(({ seq: n, event }) => ({ id: `${this.#name}-${n}`, event: parseInvalidationEvent(event)! })),
      cursor: `${this.#name}-${last}`,
      more: recent.length > limit,
    };
  }

  /** Events still in force. */
  get size(): number {
    return this.#recent().length;
  }

  #recent() {
    const now = this.#clock();
    return this.#log.filter(({ event }) => event.expiresAt > now);
  }
}
