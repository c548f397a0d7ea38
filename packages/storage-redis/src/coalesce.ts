import type { RedisClient } from './util.js';

/*
 * ioredis writes every command to its socket as it is called: one write
 * system call per command. Under load (64 operations in flight, a refresh
 * storm) the replies of many commands arrive in one read, their callers go on
 * in the same turn of the event loop, and each sends its next command with a
 * system call of its own; that call was a quarter of the process's CPU in
 * `create()`'s profile. Corking the connections while a turn sends, and
 * uncorking them after BATCH commands or once the turn's microtasks have run
 * (process.nextTick from inside them runs after the queue drains), makes Node
 * flush those commands in one writev per connection. Nothing waits longer
 * than the current turn, and the socket keeps its order, so replies and
 * timeouts are as they were. The caller's own commands sent meanwhile ride
 * along.
 */

interface Corkable {
  cork(): void;
  uncork(): void;
  readonly destroyed?: boolean;
}

/** The connections a command of `client` may be written to: its socket, or every Cluster node's. */
function connectionsOf(client: RedisClient): Corkable[] {
  const nodes = (client as { nodes?: (role: 'all') => { stream?: Corkable }[] }).nodes;
  const sources = typeof nodes === 'function' ? nodes.call(client, 'all') : [client as { stream?: Corkable }];
  const out: Corkable[] = [];
  for (const source of sources) {
    const stream = source.stream;
    if (stream !== undefined && typeof stream.cork === 'function' && stream.destroyed !== true) out.push(stream);
  }
  return out;
}

/*
 * At most this many commands share one write. Holding a whole turn's commands
 * until its end made Redis and this process take turns instead of working at
 * once: Redis idled while the turn's 64 replies were processed, then this
 * process idled while Redis ran the 64 scripts (measured: both under three
 * quarters busy, update() at half the throughput). Flushing every 16 commands
 * lets Redis start on the first ones while the rest are prepared, and still
 * saves 15 of 16 system calls (bench 4c/4d: 8 and 16 both doubled update();
 * 16 did a little better for create()).
 */
const BATCH = 16;

export class WriteCoalescer {
  readonly #client: RedisClient;
  #corked: Corkable[] | undefined;
  #held = 0;
  readonly #release = (): void => {
    const corked = this.#corked;
    if (corked === undefined) return;
    this.#corked = undefined;
    for (const stream of corked) stream.uncork();
  };

  constructor(client: RedisClient) {
    this.#client = client;
  }

  /** Call before handing a command to ioredis: its write joins the current batch. */
  hold(): void {
    if (this.#corked !== undefined) {
      if (++this.#held < BATCH) return;
      this.#release();
    }
    this.#held = 1;
    this.#corked = connectionsOf(this.#client);
    for (const stream of this.#corked) stream.cork();
    process.nextTick(this.#release);
  }
}
