import { ms } from '../sql.js';
import type { Migration } from './migration.js';

/*
 * Version 2 (issue 22): reuse told apart, and device histories.
 * - rotate_session_v2: a new function beside rotate_session, not a
 *   replacement: during a rolling upgrade nodes still on the previous release
 *   keep calling the old one.
 * - device_history: per subject, the keyed hashes (fingerprints) of the
 *   devices sessions were created from, when each was last seen, and when it
 *   is forgotten; remember_device records one in one locked step. No network
 *   or user agent is stored: the fingerprint is an HMAC the manager made.
 */
const sql = (s: string): string => `
-- One rotation, as rotate_session, and: p_revoke_previous false keeps the session when the previous hash comes
-- after the interval ('reused_kept'); a mismatch returns the current hash and generation (token_hash, generation).
CREATE FUNCTION ${s}.rotate_session_v2(
  p_now float8, p_id text, p_presented text, p_successor text, p_reuse float8, p_idle_ttl float8,
  p_claims jsonb, p_context jsonb, p_revoke_previous boolean
) RETURNS TABLE (status text, subject text, generation integer, created_at float8, last_refreshed_at float8,
  rotated_at float8, expires_at float8, idle_expires_at float8, claims text, context text, token_hash text)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  v_now timestamptz := to_timestamp(p_now / 1000);
  r ${s}.sessions%ROWTYPE;
BEGIN
  -- FOR UPDATE waits for a concurrent rotation and then reads the row as it left it.
  SELECT * INTO r FROM ${s}.sessions s WHERE s.session_id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', NULL::text, NULL::integer, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::text, NULL::text, NULL::text;
    RETURN;
  END IF;
  IF r.deadline <= v_now THEN
    DELETE FROM ${s}.sessions s WHERE s.session_id = p_id;
    -- 'expired_idle' when the deadline that passed is the idle one alone (the manager's reason idle_timeout).
    RETURN QUERY SELECT CASE WHEN r.idle_expires_at < r.expires_at THEN 'expired_idle' ELSE 'expired' END, NULL::text, NULL::integer, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::text, NULL::text, NULL::text;
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
      ${ms('r.expires_at')}, ${ms('r.idle_expires_at')}, r.claims::text, r.context::text, NULL::text;
    RETURN;
  END IF;
  IF r.previous_token_hash = p_presented THEN
    IF p_reuse > 0 AND p_now - ${ms('r.rotated_at')} <= p_reuse THEN
      IF p_successor = r.token_hash THEN
        RETURN QUERY SELECT 'grace', r.subject, r.generation, ${ms('r.created_at')},
          ${ms('r.last_refreshed_at')}, ${ms('r.rotated_at')},
          ${ms('r.expires_at')}, ${ms('r.idle_expires_at')}, r.claims::text, r.context::text, NULL::text;
        RETURN;
      END IF;
    ELSIF NOT p_revoke_previous THEN
      RETURN QUERY SELECT 'reused_kept', r.subject, NULL::integer, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::text, NULL::text, NULL::text;
      RETURN;
    ELSE
      DELETE FROM ${s}.sessions s WHERE s.session_id = p_id;
      RETURN QUERY SELECT 'reused', r.subject, NULL::integer, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::text, NULL::text, NULL::text;
      RETURN;
    END IF;
  END IF;
  RETURN QUERY SELECT 'mismatch', r.subject, r.generation, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::text, NULL::text, r.token_hash::text;
END
$fn$;

CREATE TABLE ${s}.device_history (
  subject     text COLLATE "C" NOT NULL,
  fingerprint text COLLATE "C" NOT NULL,
  last_seen   timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (subject, fingerprint)
);
COMMENT ON TABLE ${s}.device_history IS 'jwt-session: per subject, keyed hashes of the devices sessions were created from (no network, no user agent)';
CREATE INDEX device_history_expires_idx ON ${s}.device_history (expires_at);

-- Records a device as seen now; returns 'known', 'new' or 'first'. Keeps the p_max most recently seen
-- (never dropping the one just seen), each for p_ttl ms. A transaction-scoped advisory lock per subject makes
-- two sign-ins of one subject take turns (both would otherwise read an empty history and answer 'first').
CREATE FUNCTION ${s}.remember_device(p_now float8, p_subject text, p_fingerprint text, p_ttl float8, p_max integer)
RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
  v_now timestamptz := to_timestamp(p_now / 1000);
  v_answer text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('${s}.device_history' || p_subject, 0));
  DELETE FROM ${s}.device_history d WHERE d.subject = p_subject AND d.last_seen <= v_now - p_ttl * interval '1 millisecond';
  IF EXISTS (SELECT 1 FROM ${s}.device_history d WHERE d.subject = p_subject AND d.fingerprint = p_fingerprint) THEN
    v_answer := 'known';
  ELSIF EXISTS (SELECT 1 FROM ${s}.device_history d WHERE d.subject = p_subject) THEN
    v_answer := 'new';
  ELSE
    v_answer := 'first';
  END IF;
  INSERT INTO ${s}.device_history AS d (subject, fingerprint, last_seen, expires_at)
  VALUES (p_subject, p_fingerprint, v_now, v_now + p_ttl * interval '1 millisecond')
  ON CONFLICT (subject, fingerprint) DO UPDATE SET last_seen = EXCLUDED.last_seen, expires_at = EXCLUDED.expires_at;
  DELETE FROM ${s}.device_history d WHERE d.subject = p_subject AND d.fingerprint IN (
    SELECT h.fingerprint FROM ${s}.device_history h WHERE h.subject = p_subject AND h.fingerprint <> p_fingerprint
    ORDER BY h.last_seen DESC, h.fingerprint OFFSET p_max - 1);
  RETURN v_answer;
END
$fn$;
`;

export const reuseKinds: Migration = { version: 2, name: 'reuse-kinds-and-devices', sql };
