import pg from 'pg';
import { CliError, usage } from './errors.js';

/** Options of the commands that talk to PostgreSQL (beside REDIS_OPTIONS; one storage per command line). */
export const POSTGRES_OPTIONS = {
  postgres: { type: 'string' },
  schema: { type: 'string' },
} as const;

export interface PostgresFlags {
  postgres?: string | undefined;
  schema?: string | undefined;
}

const CONNECT_TIMEOUT_MS = 5000;

/** A checked `--postgres` URL: the text pg is given, and where it points (for messages; never the password). */
export interface PostgresTarget {
  url: string;
  where: string;
}

/**
 * Checks the URL before pg sees it: pg decodes the user, password and
 * database with decodeURIComponent and would throw a URIError quoting
 * nothing useful for a stray `%`; here it is a usage error that names the
 * part, never its text.
 */
export function postgresTarget(text: string): PostgresTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usage('--postgres must be a URL such as postgres://user@127.0.0.1:5432/app');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw usage('--postgres must start with postgres:// or postgresql://');
  for (const [part, value] of [['user name', url.username], ['password', url.password], ['database name', url.pathname]] as const) {
    try {
      decodeURIComponent(value);
    } catch {
      throw usage(`--postgres: the ${part} in the URL is not valid percent-encoding (write % as %25)`);
    }
  }
  const host = url.searchParams.get('host') ?? (url.hostname.replace(/^\[|\]$/g, '') || 'localhost');
  return { url: text, where: `${host}:${url.port || 5432}` };
}

/** A client for the broadcaster's LISTEN connection, on the same URL. */
export function listenClientFor(target: PostgresTarget): () => pg.Client {
  return () => new pg.Client({ connectionString: target.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'jwt-session-cli' });
}

/**
 * A small pool (one command's queries and the store's) that gives up instead
 * of waiting: a CLI that cannot reach PostgreSQL should say so and exit, not
 * hang. The URL's password is never echoed in an error.
 */
export async function connectPostgres(target: PostgresTarget): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: target.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, max: 2, application_name: 'jwt-session-cli' });
  // An idle connection lost meanwhile is replaced on the next query; failures surface through the queries.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (cause) {
    await pool.end().catch(() => undefined);
    throw new CliError('ERR_POSTGRES_UNAVAILABLE', `cannot reach PostgreSQL at ${target.where}`, { cause });
  }
  return pool;
}
