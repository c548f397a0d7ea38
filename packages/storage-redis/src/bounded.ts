import { SessionError } from '@jwt-session/session-core';
import type { RedisClient } from './util.js';
import { WriteCoalescer } from './coalesce.js';

/*
 * The one gate every command goes through: bounded work in flight and a
 * bounded wait. ioredis alone can keep a command pending for a long time
 * (offline queue, reconnect retries), and a session store that hangs fails
 * open in practice (requests pile up behind it), so every call either answers
 * or rejects with ERR_STORAGE_UNAVAILABLE.
 *
 * At most `maxInFlight` commands of one store are handed to ioredis at a time;
 * the rest wait here, unsent. A burst (a refresh storm after an outage) then
 * queues in this process instead of in ioredis, where every queued command's
 * timer used to run out while it waited, although Redis was healthy, and the
 * commands reported as failed were still written. Now:
 *
 * - a command's `timeout` counts from when it is handed to ioredis; when it
 *   runs out the outcome is unknown (Redis may still run it), as it must be;
 * - a command still waiting here waits as long as Redis keeps answering (back
 *   pressure), and is rejected, never sent, once Redis has answered nothing
 *   for `timeout` ms, or the connection has been lost (or an attempt to make
 *   it failed) and is not back within `timeout` ms of the command's call. A
 *   first connection still being made is waited for: a process busy with a
 *   burst can take longer than `timeout` to finish the handshake of a healthy
 *   server, and ioredis bounds the attempt itself (`connectTimeout`).
 *
 * So on a healthy Redis a burst completes, and a command that fails without
 * being sent says so (`sent: false` on the error's cause) and cannot have
 * been written.
 */
export const DEFAULT_COMMAND_TIMEOUT = 1000;
export const DEFAULT_MAX_IN_FLIGHT = 64;

/**
 * The cause of every ERR_STORAGE_UNAVAILABLE this package raises (the
 * SessionError's own message is fixed per code): which operation failed and
 * why, and whether the command was ever handed to Redis. `sent: false` means
 * it cannot have run; `sent: true` with a timeout means its outcome is
 * unknown. Its own `cause` is Redis' error reduced to its message: an ioredis
 * error also carries the command's arguments, which must not travel.
 */
export class RedisCommandFailure extends Error {
  override readonly name = 'RedisCommandFailure';
  readonly sent: boolean;

  constructor(operation: string, why: string, sent: boolean, cause?: unknown) {
    super(`redis ${operation} failed: ${why}`, cause instanceof Error ? { cause: Object.assign(new Error(cause.message), { name: cause.name }) } : undefined);
    this.sent = sent;
  }
}

/** ERR_STORAGE_UNAVAILABLE with a {@link RedisCommandFailure} as its cause; reason `broadcast` for a publish and a log read, `store` for the rest. */
export function unavailable(operation: string, why: string, sent: boolean, cause?: unknown): SessionError {
  return new SessionError('ERR_STORAGE_UNAVAILABLE', undefined, { cause: new RedisCommandFailure(operation, why, sent, cause) }, operation === 'publish' || operation === 'log read' ? 'broadcast' : 'store');
}

/** Whether the client lost its connection (or failed to make one) since it was last ready; one pair of listeners per client. */
const links = new WeakMap<RedisClient, { down: boolean }>();

function linkOf(client: RedisClient): { down: boolean } {
  let link = links.get(client);
  if (link === undefined) {
    const state = { down: client.status === 'reconnecting' || client.status === 'close' || client.status === 'end' };
    client.on('close', () => (state.down = true));
    client.on('ready', () => (state.down = false));
    links.set(client, state);
    link = state;
  }
  return link;
}

interface Job {
  readonly operation: string;
  readonly send: () => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: SessionError) => void;
  state: 'queued' | 'sent' | 'done';
  timer: NodeJS.Timeout | undefined;
}

/**
 * Decisions on a timer wait for the next check phase of the event loop, after
 * the poll phase has read what the sockets hold: a loop busy for longer than
 * the timeout (10,000 tokens to sign) must not blame Redis for replies that
 * arrived in time and were not read yet.
 */
function afterPoll(fn: () => void): void {
  setImmediate(fn);
}

export class CommandQueue {
  readonly #client: RedisClient;
  readonly #timeout: number;
  readonly #maxInFlight: number;
  readonly #link: { down: boolean };
  readonly #queue: (Job | undefined)[] = [];
  #head = 0;
  #inFlight = 0;
  /** When Redis last answered one of ours, or when the first of a new run of commands was sent. */
  #lastMove = 0;
  #waitingForReady = false;
  readonly #writes: WriteCoalescer;

  constructor(client: RedisClient, timeout: number, maxInFlight: number) {
    this.#client = client;
    this.#writes = new WriteCoalescer(client);
    this.#timeout = timeout;
    this.#maxInFlight = maxInFlight;
    this.#link = linkOf(client);
  }

  /** Runs `send` when a slot is free and the client is connected; see the rules above. */
  run<T>(operation: string, send: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#client.status === 'end') {
        reject(unavailable(operation, 'the client was closed', false));
        return;
      }
      const job: Job = { operation, send, resolve: resolve as (value: unknown) => void, reject, state: 'queued', timer: undefined };
      this.#queue.push(job);
      this.#pump();
      // Only a command that has to wait needs a timer for the wait (most are sent at once).
      if (job.state === 'queued') job.timer = setTimeout(() => afterPoll(() => this.#waited(job)), this.#timeout);
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#head < this.#queue.length) {
      if (this.#client.status !== 'ready') {
        this.#awaitReady();
        break;
      }
      const job = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined;
      if (job.state === 'queued') this.#send(job);
    }
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /**
   * Commands are never handed to ioredis while it is disconnected: its offline
   * queue would run them after the caller was told they failed. One listener
   * per queue, however many commands wait.
   */
  #awaitReady(): void {
    if (this.#waitingForReady) return;
    this.#waitingForReady = true;
    // A lazyConnect client connects on its first command anyway; connecting it here keeps that command out of the offline queue.
    if (this.#client.status === 'wait') this.#client.connect().catch(() => undefined);
    this.#client.once('ready', () => {
      this.#waitingForReady = false;
      this.#pump();
    });
  }

  #send(job: Job): void {
    if (this.#inFlight === 0) this.#lastMove = Date.now();
    this.#inFlight++;
    job.state = 'sent';
    if (job.timer !== undefined) clearTimeout(job.timer);
    job.timer = setTimeout(() => afterPoll(() => this.#fail(job, `no answer within ${this.#timeout} ms`)), this.#timeout);
    let pending: Promise<unknown>;
    try {
      this.#writes.hold();
      pending = job.send();
    } catch (error) {
      pending = Promise.reject(error);
    }
    // The slot stays taken until Redis answers or the connection drops, even after the caller was told it failed:
    // what is in flight is what Redis may still run.
    pending.then(
      (value) => {
        this.#answered();
        if (job.state !== 'sent') return;
        job.state = 'done';
        clearTimeout(job.timer);
        job.resolve(value);
      },
      (error: unknown) => {
        this.#answered();
        this.#fail(job, error instanceof Error ? error.message : 'unknown error', error);
      },
    );
  }

  #answered(): void {
    this.#inFlight--;
    this.#lastMove = Date.now();
    this.#pump();
  }

  /** A queued command's timer ran out: wait on while Redis keeps answering, else give up without sending it. */
  #waited(job: Job): void {
    if (job.state !== 'queued') return;
    const now = Date.now();
    const connected = this.#client.status === 'ready';
    let wait = 0;
    if (connected && this.#inFlight > 0 && now - this.#lastMove < this.#timeout) wait = this.#lastMove + this.#timeout - now;
    else if (!connected && !this.#link.down) wait = this.#timeout;
    if (wait > 0) {
      job.timer = setTimeout(() => afterPoll(() => this.#waited(job)), wait);
      return;
    }
    this.#fail(job, connected ? `Redis answered nothing for ${this.#timeout} ms; not sent` : `not connected within ${this.#timeout} ms; not sent`);
  }

  #fail(job: Job, why: string, cause?: unknown): void {
    if (job.state === 'done') return;
    const sent = job.state === 'sent';
    job.state = 'done';
    clearTimeout(job.timer);
    job.reject(cause instanceof SessionError ? cause : unavailable(job.operation, why, sent, cause));
  }
}
