/** Helpers for code running inside a bench child process. */
import type { Message } from './child.js';

/** Sends a message to the parent; resolves once it is written. */
export function send(message: Message): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) resolve();
    else process.send(message, undefined, undefined, () => resolve());
  });
}

/** Runs `main`, reports a failure to the parent as an `error` message, and exits when told to (or when done, if `oneShot`). */
export function childMain(main: () => Promise<void>, oneShot: boolean): void {
  process.on('message', (m) => {
    if ((m as Message).type === 'exit') process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
  main().then(
    () => {
      if (oneShot) process.disconnect?.();
    },
    (error: unknown) => {
      void send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }).then(() => process.exit(1));
    },
  );
}

/** The --expose-gc collector; collects twice so that weak and finalised objects are gone. */
export function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc();
  gc();
}

export function heapUsed(): number {
  fullGc();
  return process.memoryUsage().heapUsed;
}
