export const HELP = `jwt-session: operate @jwt-session sessions

Usage:
  jwt-session sessions list <subject>               <redis> [--cluster] [--prefix <p>]
  jwt-session sessions revoke <subject> <sessionId> <redis> [--cluster] [--prefix <p>] [--access-token-ttl <s>]
  jwt-session sessions revoke <subject> --all       <redis> [--cluster] [--prefix <p>] [--access-token-ttl <s>]
  jwt-session token inspect <jwt | ->               [--secret-env VAR | --jwk FILE | --jwks URL] [--redis <url> | --redis-env VAR [--cluster] [--prefix <p>]]
  jwt-session keys generate --alg HS256|ES256|EdDSA|RS256 [--kid <kid>]
  jwt-session stats                                 <redis> [--cluster] [--prefix <p>]
  (sessions list|revoke and stats take --postgres <url> [--schema <s>] instead of <redis> on PostgreSQL)

<redis> is --redis <url>, or --redis-env VAR (the URL is read from that environment variable), or, with
neither, the URL in $JWT_SESSION_REDIS_URL. The environment keeps a password out of ps and the shell history.
Every command takes --json (one JSON document on stdout; errors as JSON on stderr) and --help.
The URL is redis:// or rediss://; percent-encode a password's special characters (% as %25, @ as %40).
With --cluster it names one node of a Redis Cluster.
--prefix is the keyPrefix the application gives the store and broadcaster (default "jwt-session:").
--postgres is a postgres:// or postgresql:// URL; --schema is the schema the application migrated (default "jwt_session").
--access-token-ttl is the application's accessTokenTtl in seconds (default 900): how long a revocation must be remembered.
A revocation is also published on the invalidation stream: running nodes enforce it at once and drop the sockets.
token inspect reads the token from stdin when given "-" (keeps it out of ps and shell history); it checks
revocation only with --redis or --redis-env. Invisible and control characters print as \\uXXXX escapes.

Exit status: 0 done; 1 operational failure (Redis or PostgreSQL unreachable, session not found, key unusable,
token invalid, expired or revoked); 2 usage error (nothing was done).`;
