import { ms } from '../sql.js';
import type { Migration } from './migration.js';

/*
 * Version 1 of the schema. Frozen once released: a later change ships as a
 * new numbered migration, never as an edit here (see the README's upgrade
 * path).
 *
 * Tables hold columns a DBA can read and index, not JSON blobs, except for
 * claims and context, which are the application's own open-ended objects
 * (jsonb). Times are timestamptz; the library's API speaks milliseconds and
 * converts at the boundary (to_timestamp(ms / 1000), microsecond precision).
 *
 * Text: PostgreSQL's text (and jsonb) cannot hold U+0000, which a subject,
 * a claim or a context name may contain. Such text is stored with U+0000
 * written as U+0001 U+0002 and U+0001 as U+0001 U+0001 (src/text.ts), so
 * ordinary text is stored as it is and equal strings stay equal.
 *
 * The store's operations are functions, one round trip each, for the same
 * reason the Redis store's are Lua scripts: "check, then change" must be
 * atomic across nodes. In READ COMMITTED each statement of a PL/pgSQL
 * function takes a fresh snapshot, so after a lock is granted the function
 * sees what the lock's previous holder committed; a single SQL statement
 * would keep the snapshot it started with and miss it (two capped inserts of
 * one subject would both count four sessions and leave six).
 */
const sql = (s: string): string => `
CREATE TABLE ${s}.sessions (
  session_id          text COLLATE "C" PRIMARY KEY,
  subject             text COLLATE "C" NOT NULL,
  token_hash          text COLLATE "C" NOT NULL,
  previous_token_hash text COLLATE "C",
  generation          integer NOT NULL DEFAULT 0,
  created_at          timestamptz NOT NULL,
  last_refreshed_at   timestamptz NOT NULL,
  rotated_at          timestamptz NOT NULL,
  expires_at          timestamptz NOT NULL,
  idle_expires_at     timestamptz,
  deadline            timestamptz NOT NULL GENERATED ALWAYS AS (LEAST(expires_at, idle_expires_at)) STORED,
  claims              jsonb NOT NULL,
  context             jsonb NOT NULL
);
COMMENT ON TABLE ${s}.sessions IS 'jwt-session: one row per session; token hashes only, never a refresh secret';
CREATE INDEX sessions_subject_idx ON ${s}.sessions (subject, created_at);
CREATE INDEX sessions_deadline_idx ON ${s}.sessions (deadline);

CREATE TABLE ${s}.insert_receipts (
  session_id text COLLATE "C" PRIMARY KEY,
  evicted    text[] COLLATE "C" NOT NULL,
  expires_at timestamptz NOT NULL
);
COMMENT ON TABLE ${s}.insert_receipts IS 'jwt-session: what an evicting insert evicted (for settleInsert), or an empty mark that a settled insert must never run';
CREATE INDEX insert_receipts_expires_idx ON ${s}.insert_receipts (expires_at);

CREATE TABLE ${s}.revocations (
  id          bigserial PRIMARY KEY,
  xact        xid8 NOT NULL DEFAULT pg_current_xact_id(),
  origin      text COLLATE "C" NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('session', 'subject')),
  subject     text COLLATE "C" NOT NULL,
  session_id  text COLLATE "C",
  reason      text CHECK (reason IN ('deleted', 'reused', 'evicted')),
  at          timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  session_ids text[] COLLATE "C",
  keep_until  timestamptz NOT NULL
);
COMMENT ON TABLE ${s}.revocations IS 'jwt-session: invalidations for every node; NOTIFY carries them live, this log lets a node catch up';
CREATE INDEX revocations_xact_idx ON ${s}.revocations (xact);
CREATE INDEX revocations_keep_until_idx ON ${s}.revocations (keep_until);

-- Inserts a session; with a cap, evicts the subject's oldest live sessions first.
-- Returns the evicted ids, oldest first. See the store for the receipt.
CREATE FUNCTION ${s}.insert_session(
  p_now float8, p_max integer, p_receipt_ttl float8, p_id text, p_subject text, p_hash text,
  p_created float8, p_expires float8, p_idle float8, p_claims jsonb, p_context jsonb, p_sweep integer
) RETURNS text[] LANGUAGE plpgsql AS $fn$
DECLARE
  v_now timestamptz := to_timestamp(p_now / 1000);
  v_created timestamptz := to_timestamp(p_created / 1000);
  v_evicted text[] := '{}';
BEGIN
  -- settleInsert takes the same lock: an insert and its settlement never interleave.
  PERFORM pg_advisory_xact_lock(hashtext('${s}.insert'), hashtext(p_id));
  -- Settled before it ran, or a repeat: it must not evict anyone now.
  PERFORM 1 FROM ${s}.insert_receipts WHERE session_id = p_id AND expires_at > v_now;
  IF FOUND THEN RETURN v_evicted; END IF;
  IF p_max IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(hashtext('${s}.subject'), hashtext(p_subject));
    DELETE FROM ${s}.sessions WHERE subject = p_subject AND deadline <= v_now;
    WITH gone AS (
      DELETE FROM ${s}.sessions WHERE session_id IN (
        SELECT session_id FROM ${s}.sessions
        WHERE subject = p_subject AND session_id <> p_id
        ORDER BY created_at, session_id
        LIMIT GREATEST(0, (SELECT count(*) FROM ${s}.sessions WHERE subject = p_subject AND session_id <> p_id) - p_max + 1))
      RETURNING session_id, created_at)
    SELECT COALESCE(array_agg(session_id ORDER BY created_at, session_id), '{}') INTO v_evicted FROM gone;
  END IF;
  INSERT INTO ${s}.sessions AS t (session_id, subject, token_hash, generation, created_at, last_refreshed_at, rotated_at, expires_at, idle_expires_at, claims, context)
  VALUES (p_id, p_subject, p_hash, 0, v_created, v_created, v_created, to_timestamp(p_expires / 1000), to_timestamp(p_idle / 1000), p_claims, p_context)
  ON CONFLICT (session_id) DO UPDATE SET subject = EXCLUDED.subject, token_hash = EXCLUDED.token_hash, previous_token_hash = NULL,
    generation = 0, created_at = EXCLUDED.created_at, last_refreshed_at = EXCLUDED.last_refreshed_at, rotated_at = EXCLUDED.rotated_at,
    expires_at = EXCLUDED.expires_at, idle_expires_at = EXCLUDED.idle_expires_at, claims = EXCLUDED.claims, context = EXCLUDED.context;
  IF cardinality(v_evicted) > 0 THEN
    INSERT INTO ${s}.insert_receipts (session_id, evicted, expires_at)
    VALUES (p_id, v_evicted, v_now + p_receipt_ttl * interval '1 millisecond')
    ON CONFLICT (session_id) DO UPDATE SET evicted = EXCLUDED.evicted, expires_at = EXCLUDED.expires_at;
  END IF;
  -- The bounded sweep: a few of the longest-dead rows, through the deadline index, skipping rows
  -- another transaction holds. Dead only once both clocks say so: a node whose clock runs ahead
  -- must not remove what the others still consider live.
  DELETE FROM ${s}.sessions WHERE session_id IN (
    SELECT session_id FROM ${s}.sessions WHERE deadline <= LEAST(v_now, now()) ORDER BY deadline LIMIT p_sweep FOR UPDATE SKIP LOCKED);
  DELETE FROM ${s}.insert_receipts WHERE session_id IN (
    SELECT session_id FROM ${s}.insert_receipts WHERE expires_at <= LEAST(v_now, now()) ORDER BY expires_at LIMIT p_sweep FOR UPDATE SKIP LOCKED);
  RETURN v_evicted;
END
$fn$;

-- For an insert whose reply never came: removes the session it created and returns what it evicted,
-- or, when it has not run, leaves a mark that makes it a no-op.
CREATE FUNCTION ${s}.settle_insert(p_now float8, p_id text, p_subject text, p_receipt_ttl float8)
RETURNS text[] LANGUAGE plpgsql AS $fn$
DECLARE
  v_now timestamptz := to_timestamp(p_now / 1000);
  v_receipt text[];
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('${s}.insert'), hashtext(p_id));
  SELECT evicted INTO v_receipt FROM ${s}.insert_receipts WHERE session_id = p_id AND expires_at > v_now;
  DELETE FROM ${s}.sessions WHERE session_id = p_id AND subject = p_subject;
  IF NOT FOUND AND v_receipt IS NULL THEN
    INSERT INTO ${s}.insert_receipts (session_id, evicted, expires_at)
    VALUES (p_id, '{}', v_now + p_receipt_ttl * interval '1 millisecond')
    ON CONFLICT (session_id) DO UPDATE SET evicted = EXCLUDED.evicted, expires_at = EXCLUDED.expires_at;
  END IF;
  RETURN COALESCE(v_receipt, '{}');
END
$fn$;

-- One rotation: compare the presented hash with the row's, locked, and swap, grace, delete or refuse.
CREATE FUNCTION ${s}.rotate_session(
  p_now float8, p_id text, p_presented text, p_successor text, p_reuse float8, p_idle_ttl float8,
  p_claims jsonb, p_context jsonb
) RETURNS TABLE (status text, subject text, generation integer, created_at float8, last_refreshed_at float8,
  rotated_at float8, expires_at float8, idle_expires_at float8, claims text, context text)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  v_now timestamptz := to_timestamp(p_now / 1000);
  r ${s}.sessions%ROWTYPE;
BEGIN
  -- FOR UPDATE waits for a concurrent rotation and then reads the row as it left it.
  SELECT * INTO r FROM ${s}.sessions s WHERE s.session_id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', NULL::text, NULL::integer, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::text, NULL::text;
    RETURN;
  END IF;
  IF r.deadline <= v_now THEN
    DELETE FROM ${s}.sessions s WHERE s.session_id = p_id;
    -- 'expired_idle' when the deadline that passed is the idle one alone (the manager's reason idle_timeout).
    RETURN QUERY SELECT CASE WHEN r.idle_expires_at < r.expires_at THEN 'expired_idle' ELSE 'expired' END, NULL::text, NULL::integer, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::text, NULL::text;
    RETURN;
  END IF;
  IF r.token_hash = p_presented THEN
    UPDATE ${s}.sessions s SET
      previous_token_hash = s.token_hash, token_hash = p_successor, generation = s.generation + 1,
      last_refreshed_at = v_now, rotated_at = v_now,
      idle_expires_at = CASE WHEN p_idle_ttl IS NULL THEN s.idle_expires_at
        ELSE LEAST(v_now + p_idle_ttl * interval '1 millisecond', s.expires_at) END,
      claims = COALESCE(p_claims, s.claims),
      context = CASE WHEN p_context IS NULL THEN s.context ELSE s.context || p_context END
    WHERE s.session_id = p_id RETURNING s.* INTO r;
    RETURN QUERY SELECT 'rotated', r.subject, r.generation, ${ms('r.created_at')},
      ${ms('r.last_refreshed_at')}, ${ms('r.rotated_at')},
      ${ms('r.expires_at')}, ${ms('r.idle_expires_at')}, r.claims::text, r.context::text;
    RETURN;
  END IF;
  IF r.previous_token_hash = p_presented THEN
    IF p_reuse > 0 AND p_now - ${ms('r.rotated_at')} <= p_reuse THEN
      IF p_successor = r.token_hash THEN
        RETURN QUERY SELECT 'grace', r.subject, r.generation, ${ms('r.created_at')},
          ${ms('r.last_refreshed_at')}, ${ms('r.rotated_at')},
          ${ms('r.expires_at')}, ${ms('r.idle_expires_at')}, r.claims::text, r.context::text;
        RETURN;
      END IF;
    ELSE
      DELETE FROM ${s}.sessions s WHERE s.session_id = p_id;
      RETURN QUERY SELECT 'reused', r.subject, NULL::integer, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::text, NULL::text;
      RETURN;
    END IF;
  END IF;
  RETURN QUERY SELECT 'mismatch', r.subject, NULL::integer, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::text, NULL::text;
END
$fn$;
`;

export const initial: Migration = { version: 1, name: 'initial', sql };
