import type { InvalidationEvent } from '@jwt-session/session-core';
import { withDeadline } from './deadline.js';
import { eventOfRow, parseNotification, type RevocationRow } from './revocation-row.js';
import type { BroadcastStatements } from './sql.js';

/**
 * The dedicated connection a broadcaster LISTENs on: a `pg.Client` made by
 * the caller's factory, connected directly to PostgreSQL (a transaction-mode
 * PgBouncer does not carry LISTEN). Only the members used here.
 */
export interface ListenClient {
  connect(): Promise<unknown>;
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  on(event: 'notification', listener: (message: { channel: string; payload?: string | undefined }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  end(): Promise<void>;
}

/** What the listener hands each event to: a subscription (see subscription.ts). */
export interface Delivery {
  /** Whether this subscription has had its replay of what is still in force. */
  replayed: boolean;
  deliver(id: string, origin: string, event: InvalidationEvent): void;
  markReplayed(): void;
}

export interface ListenerHost {
  readonly channel: string;
  readonly sql: BroadcastStatements;
  readonly makeClient: () => ListenClient;
  /** ms a connect, a LISTEN or a catch-up may take before the connection is replaced. */
  readonly timeout: number;
  /** ms between liveness checks of an idle connection. */
  readonly heartbeat: number;
}

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2000;
const END_WAIT_MS = 1000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * One LISTEN connection shared by a broadcaster's subscriptions. On every
 * (re)connect it LISTENs first and then reads the revocations table, so
 * nothing committed in between is missed: notifications cover what commits
 * after the LISTEN, the read covers what committed before.
 *
 * The read does not resume from the last id seen: ids are drawn when a row is
 * inserted, not when it commits, so a row with a lower id can commit after
 * one with a higher id was read. It resumes from the transaction horizon
 * (`pg_snapshot_xmin`) of the previous read instead: every transaction below
 * it had ended, so every row that read missed has an xact at or above it.
 * What comes twice (a row read again, a notification for a row already read)
 * is dropped by id in each subscription.
 *
 * Events reach the subscriptions in the order the database sent them: the
 * set-up of a connection (LISTEN, catch-up), each notification and each
 * read of an event too large for one take their turn in one queue. A
 * notification that arrives while the catch-up read is out, or after one
 * whose event is still being read, waits for it (else a node would apply
 * a later revocation before an earlier one).
 *
 * A connection that stops answering (a paused server, a half-open socket)
 * is found by a `SELECT 1` every `heartbeat` ms that must answer within
 * `timeout` ms, and replaced. The connection is the library's own: its
 * errors are handled here (it is replaced), never left to crash the app,
 * and so is a factory that throws.
 */
export class Listener {
  readonly #host: ListenerHost;
  readonly #subs = new Set<Delivery>();
  #client: ListenClient | undefined;
  #up = false;
  #horizon: string | undefined;
  #closed = false;
  #loop: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  /** The delivery queue: each step starts when the one before it has settled. */
  #turn: Promise<void> = Promise.resolve();

  constructor(host: ListenerHost) {
    this.#host = host;
  }

  get size(): number {
    return this.#subs.size;
  }

  add(sub: Delivery): void {
    this.#subs.add(sub);
    if (this.#up) {
      const client = this.#client!;
      void this.#inTurn(() => this.#catchUp(client, [sub]));
    }
    this.#loop ??= this.#run();
  }

  remove(sub: Delivery): void {
    this.#subs.delete(sub);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    const client = this.#client;
    this.#drop();
    await this.#loop;
    if (client !== undefined) await this.#end(client);
  }

  /** Connects, LISTENs and catches up; again whenever the connection is lost. */
  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      if (this.#up) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      let client: ListenClient | undefined;
      try {
        const fresh = (client = this.#connection());
        await withDeadline(fresh.connect(), this.#host.timeout);
        // The set-up takes its turn in the queue: notifications that come meanwhile are applied after the catch-up.
        await this.#inTurn(async () => {
          await withDeadline(fresh.query(this.#host.sql.listen), this.#host.timeout);
          if (fresh !== this.#client) throw new Error('replaced');
          this.#up = true;
          failures = 0;
          this.#startHeartbeat(fresh);
          await this.#catchUp(fresh, [...this.#subs]);
        });
      } catch {
        if (client !== undefined) this.#lost(client);
        if (this.#closed) break;
        failures++;
        await Promise.race([sleep(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** failures)), new Promise<void>((resolve) => (this.#wake = resolve))]);
        this.#wake = undefined;
      }
    }
  }

  /** A new client from the caller's factory, watched: its errors and its end replace it. */
  #connection(): ListenClient {
    const client = this.#host.makeClient();
    this.#client = client;
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    client.on('notification', (message) => {
      if (client === this.#client && message.channel === this.#host.channel && message.payload !== undefined) this.#notified(client, message.payload);
    });
    return client;
  }

  /** Runs `step` once every step queued before it has settled; the queue goes on whatever it does. */
  #inTurn(step: () => Promise<void>): Promise<void> {
    const run = this.#turn.then(step);
    this.#turn = run.catch(() => undefined);
    return run;
  }

  /**
   * Reads what `subs` may have missed and hands it to them. Subscriptions
   * that have had no replay yet read from the start (every row still kept);
   * the others from the horizon of the last read.
   */
  async #catchUp(client: ListenClient, subs: Delivery[]): Promise<void> {
    if (subs.length === 0 && this.#horizon !== undefined) return;
    const fresh = subs.some((s) => !s.replayed);
    let rows: Record<string, unknown>[];
    try {
      rows = (await withDeadline(client.query(this.#host.sql.catchUp, [fresh || this.#horizon === undefined ? '0' : this.#horizon]), this.#host.timeout)).rows;
    } catch {
      this.#lost(client);
      return;
    }
    if (client !== this.#client) return;
    // Any read made while connected is a valid horizon: what committed before it was read now or notified since the LISTEN.
    const horizon = rows[0]?.horizon;
    if (typeof horizon === 'string') this.#horizon = horizon;
    for (const row of rows) {
      if (row.id === null) continue;
      const event = eventOfRow(row as unknown as RevocationRow);
      if (event === undefined) continue;
      for (const sub of subs) sub.deliver(row.id as string, row.origin as string, event);
    }
    for (const sub of subs) sub.markReplayed();
  }

  #notified(client: ListenClient, payload: string): void {
    const note = parseNotification(payload);
    if (note === undefined) return;
    void this.#inTurn(async () => {
      if (note.event !== undefined) {
        for (const sub of this.#subs) sub.deliver(note.id, note.origin!, note.event);
        return;
      }
      // Too large for a notification: read the row. A lost connection's catch-up reads it on the next one.
      if (client !== this.#client) return;
      let rows: Record<string, unknown>[];
      try {
        rows = (await withDeadline(client.query(this.#host.sql.byId, [note.id]), this.#host.timeout)).rows;
      } catch {
        this.#lost(client);
        return;
      }
      const row = rows[0] as RevocationRow | undefined;
      const event = row === undefined ? undefined : eventOfRow(row);
      if (event !== undefined) for (const sub of this.#subs) sub.deliver(row!.id, row!.origin, event);
    });
  }

  #startHeartbeat(client: ListenClient): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => {
      withDeadline(client.query('SELECT 1'), this.#host.timeout).catch(() => this.#lost(client));
    }, this.#host.heartbeat);
    this.#heartbeat.unref();
  }

  /** The connection failed or stopped answering: drop it and (unless closed) make another. */
  #lost(client: ListenClient): void {
    if (client !== this.#client) return;
    this.#drop();
    void this.#end(client);
    this.#wake?.();
  }

  #drop(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    this.#up = false;
    this.#client = undefined;
  }

  /** Ends a connection without waiting on a server that may never answer the goodbye. */
  async #end(client: ListenClient): Promise<void> {
    const socket = (client as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream;
    const ended = client.end().catch(() => undefined);
    await Promise.race([ended, sleep(END_WAIT_MS)]);
    socket?.destroy?.();
  }
}
