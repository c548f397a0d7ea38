import { accessSync, constants, readdirSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

/*
 * Where PostgreSQL's server programs are. Debian's `postgresql` package puts
 * them in /usr/lib/postgresql/<major>/bin, off PATH (only the client wrappers
 * are on it), so PATH is searched first and then the newest Debian major.
 */
function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

let found: string | undefined;

/** The directory holding `initdb`, `postgres` and `pg_isready`; throws a one-line hint when there is none. */
export function serverBinDir(): string {
  if (found !== undefined) return found;
  const onPath = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  let debian: string[] = [];
  try {
    debian = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => `/usr/lib/postgresql/${v}/bin`);
  } catch {
    // Not a Debian layout.
  }
  for (const dir of [...onPath, ...debian]) {
    // A symlink on PATH (/usr/local/bin/initdb) leads to the directory that also holds pg_isready.
    if (executable(join(dir, 'initdb')) && executable(join(dir, 'postgres'))) return (found = dirname(realpathSync(join(dir, 'initdb'))));
  }
  throw new Error('PostgreSQL server programs (initdb, postgres) not found; install with: apt-get install postgresql');
}

/**
 * PgBouncer: on PATH, or where Debian's `pgbouncer` package puts it
 * (/usr/sbin, off a non-root user's PATH). Throws a one-line hint when absent.
 */
export function pgbouncerBin(): string {
  const onPath = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  for (const dir of [...onPath, '/usr/sbin']) if (executable(join(dir, 'pgbouncer'))) return join(dir, 'pgbouncer');
  throw new Error('pgbouncer not found; install with: apt-get install pgbouncer');
}
