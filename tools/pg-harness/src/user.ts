import { spawnSync } from 'node:child_process';

export interface RunAs {
  uid: number;
  gid: number;
}

/**
 * Root cannot run PostgreSQL (nor PgBouncer, which refuses root too): the
 * server programs run as the `postgres` user then, in a dir it owns.
 */
export function runAs(): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root, and there is no `postgres` user to run PostgreSQL as');
  return { uid, gid };
}
