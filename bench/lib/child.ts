import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = join(BENCH_DIR, '..');

export type Message = { type: string } & Record<string, unknown>;

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A bench process spawned as `node --expose-gc --import tsx bench/children/<name>.ts`, talking over IPC. */
export class Child {
  readonly process: ChildProcess;
  readonly #queue: Message[] = [];
  readonly #waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void; reject: (e: Error) => void }[] = [];
  #exit: Error | undefined;
  readonly exited: Promise<number | null>;
  /** Called for every message as it arrives (before queueing), e.g. to stamp its arrival time. */
  onMessage: ((m: Message) => void) | undefined;

  constructor(name: string, args: readonly string[] = [], execArgv: readonly string[] = []) {
    const script = join(BENCH_DIR, 'children', `${name}.ts`);
    this.process = spawn(process.execPath, ['--expose-gc', ...execArgv, '--import', 'tsx', script, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    live.add(this.process);
    this.process.on('error', (error) => this.#fail(error));
    this.process.on('message', (raw) => {
      const message = raw as Message;
      this.onMessage?.(message);
      if (message.type === 'error') {
        this.#fail(new Error(`child ${name}: ${String(message.message)}`));
        return;
      }
      const i = this.#waiters.findIndex((w) => w.match(message));
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(message);
      else this.#queue.push(message);
    });
    this.exited = new Promise((resolve) => {
      this.process.on('exit', (code, signal) => {
        live.delete(this.process);
        this.#fail(new Error(`child ${name} exited (code ${code}, signal ${signal})`));
        resolve(code);
      });
    });
  }

  #fail(error: Error): void {
    this.#exit ??= error;
    for (const w of this.#waiters.splice(0)) w.reject(error);
  }

  send(message: Message): void {
    if (!this.process.connected) throw new Error('child is not connected');
    this.process.send(message, (error) => {
      if (error) this.#fail(error);
    });
  }

  /** The next message of this type (or matching the predicate); rejects if the child dies first or after `timeoutMs`. */
  next(type: string, timeoutMs = 600_000): Promise<Message> {
    const match = (m: Message) => m.type === type;
    const i = this.#queue.findIndex(match);
    if (i >= 0) return Promise.resolve(this.#queue.splice(i, 1)[0]!);
    if (this.#exit !== undefined) return Promise.reject(this.#exit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for "${type}"`)), timeoutMs);
      this.#waiters.push({
        match,
        resolve: (m) => (clearTimeout(timer), resolve(m)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  }

  /** Asks the child to exit, then kills it if it has not within 3 s. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    if (this.process.connected) this.process.send({ type: 'exit' }, () => undefined);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Runs a one-shot child: sends nothing, waits for its `result` message, then for it to exit. */
export async function runChild(name: string, args: readonly string[], execArgv: readonly string[] = [], timeoutMs = 600_000): Promise<Message> {
  const child = new Child(name, args, execArgv);
  try {
    return await child.next('result', timeoutMs);
  } finally {
    await child.stop();
  }
}
