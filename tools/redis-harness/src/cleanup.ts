import { rmSync } from 'node:fs';

/*
 * Servers outlive a crashed test unless something kills them, so every
 * spawned process and temp dir is registered here and torn down
 * synchronously on exit (the only moment Node still runs code when a test
 * throws out of the runner or the process is interrupted).
 */
const pids = new Set<number>();
const dirs = new Set<string>();
let hooked = false;

function sweep(): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  pids.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', sweep);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      sweep();
      // Default disposition: die of the same signal.
      process.kill(process.pid, signal);
    });
  }
}

export function trackPid(pid: number): void {
  hook();
  pids.add(pid);
}

export function untrackPid(pid: number): void {
  pids.delete(pid);
}

export function trackDir(dir: string): void {
  hook();
  dirs.add(dir);
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** Kills every server this process started and removes their temp dirs. */
export function stopAll(): void {
  sweep();
}
