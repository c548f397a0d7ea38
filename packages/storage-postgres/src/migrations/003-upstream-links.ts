import type { Migration } from './migration.js';

/*
 * Issue 26 §1: sessions remember the identity provider's session and user
 * they were opened for, and are found by either without a scan. A table of
 * its own rather than columns of `sessions`, so `insert_session` and the
 * other functions stay as they are: `insert_linked_session` calls
 * `insert_session` and links the session in the same transaction, only when
 * the insert stored it (a settled or repeated insert stores nothing). The
 * foreign key's ON DELETE CASCADE ends a link with its session, by whatever
 * path the session leaves (delete, deleteAll, reuse, eviction, the sweep):
 * the table never holds more rows than there are linked sessions.
 *
 * Version 3: version 2 is taken by another change of the same release.
 */
export const upstreamLinks: Migration = {
  version: 3,
  name: 'upstream-links',
  sql: (s) => `
CREATE TABLE ${s}.session_upstreams (
  session_id        text PRIMARY KEY REFERENCES ${s}.sessions (session_id) ON DELETE CASCADE,
  issuer            text NOT NULL,
  upstream_subject  text NOT NULL,
  upstream_sid      text
);
CREATE INDEX session_upstreams_sid_idx ON ${s}.session_upstreams (issuer, upstream_sid) WHERE upstream_sid IS NOT NULL;
CREATE INDEX session_upstreams_subject_idx ON ${s}.session_upstreams (issuer, upstream_subject);

CREATE FUNCTION ${s}.insert_linked_session(
  p_now float8, p_max integer, p_receipt_ttl float8, p_id text, p_subject text, p_hash text,
  p_created float8, p_expires float8, p_idle float8, p_claims jsonb, p_context jsonb, p_sweep integer,
  p_issuer text, p_upstream_subject text, p_upstream_sid text
) RETURNS text[] LANGUAGE plpgsql AS $fn$
DECLARE
  v_evicted text[];
BEGIN
  v_evicted := ${s}.insert_session(p_now, p_max, p_receipt_ttl, p_id, p_subject, p_hash, p_created, p_expires, p_idle, p_claims, p_context, p_sweep);
  INSERT INTO ${s}.session_upstreams (session_id, issuer, upstream_subject, upstream_sid)
  SELECT p_id, p_issuer, p_upstream_subject, p_upstream_sid
  WHERE EXISTS (SELECT 1 FROM ${s}.sessions WHERE session_id = p_id AND subject = p_subject)
  ON CONFLICT (session_id) DO NOTHING;
  RETURN v_evicted;
END
$fn$;
`,
};
