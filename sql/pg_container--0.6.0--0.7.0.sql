-- pg_container 0.6.0 -> 0.7.0
--
-- Cold starts in the background, the house rebuilt, fleet operations.
-- Each change below is its own commented block, saying what changed and
-- why.

\echo Use "ALTER EXTENSION pg_container UPDATE TO '0.7.0'" to load this file. \quit

-- Statistics: container_stat_operations, in the shape of
-- pg_stat_statements, from counters in shared memory (so it needs
-- shared_preload_libraries, and says so): one row per operation (an
-- ensure is a hot ensure, a cold start or a resume by what it had to do;
-- stop, restart, reap, health, touch; backup is reserved), its calls
-- (failed ones included), time, the engine requests it made, and its
-- errors as {SQLSTATE: count}.  Like the overview, nothing for PUBLIC.
CREATE FUNCTION @extschema@.container_stat_operations_rows()
RETURNS TABLE (operation text, calls bigint, total_ms double precision, mean_ms double precision,
               max_ms double precision, engine_requests bigint, errors jsonb)
AS 'MODULE_PATHNAME', 'container_stat_operations_rows'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

CREATE VIEW @extschema@.container_stat_operations AS
    SELECT * FROM @extschema@.container_stat_operations_rows();

COMMENT ON VIEW @extschema@.container_stat_operations IS
    'One row per operation since the last container_stat_reset(): calls, total, mean and max time, engine requests, errors by SQLSTATE.';

CREATE FUNCTION @extschema@.container_stat_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'container_stat_reset'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_stat_reset() IS
    'Set every counter of container_stat_operations back to zero.';

REVOKE ALL ON TABLE @extschema@.container_stat_operations FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_stat_operations_rows() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_stat_reset() FROM PUBLIC;

-- Usage, what a platform bills by: per user, the seconds running and
-- paused between from_time and to_time, and the starts, replayed from
-- container_event.  A user's state is set by the last state-changing
-- event (started, unpaused, restarted, recovered: running; paused;
-- stopped, reaped, removed: stopped) and lasts until the next; each span
-- is clipped at from_time and at to_time or the present, whichever is
-- earlier, so a period still under way is not billed ahead.  The state at
-- from_time comes from the last event before it: a period older than
-- pg_container.event_retention starts as stopped.  Owner only, like the
-- events themselves.
CREATE FUNCTION @extschema@.container_usage(from_time timestamptz, to_time timestamptz)
RETURNS TABLE (user_id text, running_seconds numeric, paused_seconds numeric, starts bigint)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH bounds AS (
        SELECT from_time AS lo,
               LEAST(to_time, pg_catalog.clock_timestamp()) AS hi
    ), transitions AS (
        SELECT e.user_id, e.at, e.id,
               CASE WHEN e.event OPERATOR(pg_catalog.=) ANY (ARRAY['started', 'unpaused', 'restarted', 'recovered'])
                    THEN 'running'
                    WHEN e.event OPERATOR(pg_catalog.=) 'paused' THEN 'paused'
                    ELSE 'stopped' END AS state
          FROM @extschema@.container_event e, bounds b
         WHERE e.user_id IS NOT NULL
           AND e.at OPERATOR(pg_catalog.<) b.hi
           AND e.event OPERATOR(pg_catalog.=) ANY (ARRAY['started', 'unpaused', 'restarted', 'recovered',
                                                         'paused', 'stopped', 'reaped', 'removed'])
    ), spans AS (
        SELECT t.user_id, t.state,
               GREATEST(t.at, b.lo) AS span_from,
               LEAST(COALESCE(pg_catalog.lead(t.at) OVER w, b.hi), b.hi) AS span_to
          FROM transitions t, bounds b
        WINDOW w AS (PARTITION BY t.user_id ORDER BY t.at, t.id)
    ), seconds AS (
        SELECT s.user_id,
               pg_catalog.sum(EXTRACT(epoch FROM s.span_to OPERATOR(pg_catalog.-) s.span_from))
                   FILTER (WHERE s.state OPERATOR(pg_catalog.=) 'running') AS running,
               pg_catalog.sum(EXTRACT(epoch FROM s.span_to OPERATOR(pg_catalog.-) s.span_from))
                   FILTER (WHERE s.state OPERATOR(pg_catalog.=) 'paused') AS paused
          FROM spans s
         WHERE s.span_to OPERATOR(pg_catalog.>) s.span_from
         GROUP BY s.user_id
    ), starts AS (
        SELECT e.user_id, pg_catalog.count(*) AS n
          FROM @extschema@.container_event e, bounds b
         WHERE e.event OPERATOR(pg_catalog.=) 'started' AND e.user_id IS NOT NULL
           AND e.at OPERATOR(pg_catalog.>=) b.lo AND e.at OPERATOR(pg_catalog.<) b.hi
         GROUP BY e.user_id
    )
    SELECT u.user_id,
           COALESCE(x.running, 0), COALESCE(x.paused, 0),
           COALESCE(st.n, 0)
      FROM (SELECT user_id FROM seconds UNION SELECT user_id FROM starts) u
      LEFT JOIN seconds x ON x.user_id OPERATOR(pg_catalog.=) u.user_id
      LEFT JOIN starts st ON st.user_id OPERATOR(pg_catalog.=) u.user_id
     WHERE COALESCE(x.running, 0) OPERATOR(pg_catalog.>) 0
        OR COALESCE(x.paused, 0) OPERATOR(pg_catalog.>) 0
        OR st.n IS NOT NULL
     ORDER BY u.user_id
$$;

COMMENT ON FUNCTION @extschema@.container_usage(timestamptz, timestamptz) IS
    'Per user, seconds running and paused and the starts between from_time and to_time, from container_event (what a platform bills by).';

REVOKE ALL ON FUNCTION @extschema@.container_usage(timestamptz, timestamptz) FROM PUBLIC;

-- The doctor: one row per finding, each with what to do in its hint.  It
-- checks the key files, the event mirror, the engine's API version and
-- clock, orphans, outdated specs, each user's container (its labels, and
-- its hardening against the spec today's settings and profile give) and
-- the volumes and networks no row owns.  A clean installation reports
-- nothing.  It reads the engine and never changes anything.  "check" is
-- the issue's name for the column; as a reserved word it is quoted.
-- Owner only: the findings name users, files and the engine's version.
CREATE FUNCTION @extschema@.container_doctor()
RETURNS TABLE (severity text, user_id text, "check" text, detail text, hint text)
AS 'MODULE_PATHNAME', 'container_doctor'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_doctor() IS
    'One row per finding (severity, user, check, detail, hint): hardening or labels that differ from the row and spec, orphans, outdated specs, rowless volumes and networks, key files, the engine''s API and clock, the mirror.';

REVOKE ALL ON FUNCTION @extschema@.container_doctor() FROM PUBLIC;

-- ===== BEGIN container_move: a timeout argument =====
--
-- The copy of a move could only wait a fixed 30 minutes for its helper
-- tasks.  A DBA who knows the volume is small (or large) now says how long
-- with timeout (between 1 second and 7 days, by default 30 minutes), and
-- the tests of the move's secret and checksum can fail a move in seconds.
-- A function's arguments are part of its identity, so the old one is
-- dropped and the new one made with the same attributes, comment and
-- privileges (none for PUBLIC).

DROP FUNCTION @extschema@.container_move(text, text, text);

CREATE FUNCTION @extschema@.container_move(user_id text, node text, helper_image text DEFAULT NULL,
                                           timeout interval DEFAULT '30 min')
RETURNS void
AS 'MODULE_PATHNAME', 'container_move'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_move(text, text, text, interval) IS
    'Swarm only: copies a stopped user''s volume to another node within timeout and pins the user there; the source volume is kept.';

REVOKE ALL ON FUNCTION @extschema@.container_move(text, text, text, interval) FROM PUBLIC;

-- ===== END container_move: a timeout argument =====

-- Cold starts in the background.  container_start asks for a user's start
-- and returns at once; the background worker boots what was asked, at
-- most pg_container.max_concurrent_starts at a time, first come first
-- served; container_wait, or LISTEN pg_container, learns how each ended.
-- A request is a row here, so it survives the worker and the server: one
-- row per user whose start is queued, booting ('starting') or failed (with
-- the error it failed with, for container_wait to raise again).  A start
-- that ends well deletes its row.  Removing the user drops the request.
CREATE TABLE @extschema@.container_start_request (
    user_id        text        PRIMARY KEY
                               REFERENCES @extschema@.user_container (user_id) ON DELETE CASCADE,
    state          text        NOT NULL DEFAULT 'queued'
                               CHECK (state OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'starting', 'failed']::pg_catalog.text[])),
    requested_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    booting_since  timestamptz,
    failed_at      timestamptz,
    error_sqlstate text,
    error_message  text,
    error_detail   text,
    error_hint     text
);

CREATE INDEX container_start_request_queued
    ON @extschema@.container_start_request (requested_at) WHERE state OPERATOR(pg_catalog.=) 'queued';

COMMENT ON TABLE @extschema@.container_start_request IS
    'Starts asked for with container_start and not yet ended well: queued, booting in the worker, or failed with their error.';

-- The outcome of a background start is an event like the others, so one
-- LISTEN pg_container connection learns of any number of users: 'queued'
-- when it is asked for, 'started' when the gateway answers (as before),
-- 'failed' with the error's message, detail and SQLSTATE.
ALTER TABLE @extschema@.container_event
    DROP CONSTRAINT container_event_event_check,
    ADD CONSTRAINT container_event_event_check
        CHECK (event OPERATOR(pg_catalog.=) ANY (ARRAY['created', 'started', 'stopped', 'reaped',
                                        'restarted', 'recreated', 'unhealthy', 'recovered', 'removed',
                                        'profile', 'error', 'paused', 'unpaused',
                                        'queued', 'failed']::pg_catalog.text[]));

CREATE FUNCTION @extschema@.container_start(user_id text, OUT url text, OUT token text, OUT status text)
RETURNS record
AS 'MODULE_PATHNAME', 'container_start'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_start(text) IS
    'Ask for the user''s container to run and return at once: status running (ready now), queued or starting (the worker boots it; see container_wait).';

CREATE FUNCTION @extschema@.container_wait(user_id text, timeout interval DEFAULT '60 s',
                                           OUT url text, OUT token text, OUT status text)
RETURNS record
AS 'MODULE_PATHNAME', 'container_wait'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_wait(text, interval) IS
    'Wait, holding no lock, until the user''s background start ends: its URL and token when ready, its error if it failed.';

REVOKE ALL ON FUNCTION @extschema@.container_start(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_wait(text, interval) FROM PUBLIC;

-- Where each background start stands, for operators and dashboards: its
-- place in the queue (first come first served) and how long it has
-- waited: until now while queued, until the worker took it up once
-- booting, until it failed once failed.  The overview's shape is left as
-- it is; this view sits beside it.
CREATE VIEW @extschema@.container_start_queue AS
SELECT user_id, state,
       CASE WHEN state OPERATOR(pg_catalog.=) 'queued'
            THEN pg_catalog.row_number() OVER (PARTITION BY state ORDER BY requested_at, user_id) END AS position,
       requested_at,
       COALESCE(booting_since, failed_at, pg_catalog.now()) OPERATOR(pg_catalog.-) requested_at AS waited,
       booting_since,
       error_message
  FROM @extschema@.container_start_request;

COMMENT ON VIEW @extschema@.container_start_queue IS
    'Background starts not yet ended well: queued (with their position), booting, or failed; and how long each waited.';

REVOKE ALL ON @extschema@.container_start_queue FROM PUBLIC;
REVOKE ALL ON @extschema@.container_start_request FROM PUBLIC;

-- Backups of users' volumes, kept in the database: container_backup
-- copies the state path of a user's container (the engine's tar stream,
-- the container paused meanwhile if it runs) into a large object with a
-- row saying when, how large, and its SHA-256; container_restore puts one
-- back into a stopped user's volume after checking that checksum, and
-- may restore another user's backup (a clone).  The database is where
-- they go so that pg_dump, replicas and point-in-time recovery carry
-- users' state with their rows (the row and its large object follow the
-- caller's transaction); storage says where the bytes are, for a later
-- 'volume' kind.  There is no foreign key to user_container: a backup
-- outlives container_remove.  The newest pg_container.backup_keep per
-- user are kept; each backup drops older ones.  pg_dump keeps the rows
-- (and dumps the large objects with the database).  Owner only.
CREATE TABLE @extschema@.container_backup (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      text        NOT NULL,
    taken_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    size_bytes   bigint      NOT NULL,
    sha256       text        NOT NULL,
    storage      text        NOT NULL DEFAULT 'database'
                             CHECK (storage OPERATOR(pg_catalog.=) 'database'),
    large_object oid         NOT NULL
);
CREATE INDEX container_backup_user_idx ON @extschema@.container_backup (user_id, id);

COMMENT ON TABLE @extschema@.container_backup IS
    'Backups of users'' volumes: the tar stream of the state path, in the large object large_object, with its size and SHA-256.';

SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.format('%I.container_backup', pg_catalog.current_schema())::pg_catalog.regclass, '');
SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.pg_get_serial_sequence(pg_catalog.format('%I.container_backup', pg_catalog.current_schema()), 'id')::pg_catalog.regclass, '');

CREATE FUNCTION @extschema@.container_backup(user_id text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'container_backup'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_backup(text) IS
    'Copy the user''s volume into container_backup (a running container is paused for the copy, not restarted); returns the backup''s id.';

CREATE FUNCTION @extschema@.container_restore(user_id text, backup bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'container_restore'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_restore(text, bigint) IS
    'Put a backup, checked against its SHA-256, into the stopped user''s volume; another user''s backup clones that user.';

CREATE FUNCTION @extschema@.container_backups(user_id text)
RETURNS TABLE (id bigint, taken_at timestamptz, size_bytes bigint, sha256 text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT b.id, b.taken_at, b.size_bytes, b.sha256
      FROM @extschema@.container_backup b
     WHERE b.user_id OPERATOR(pg_catalog.=) container_backups.user_id
     ORDER BY b.id DESC
$$;

COMMENT ON FUNCTION @extschema@.container_backups(text) IS
    'The user''s backups, newest first: id, taken_at, size_bytes, sha256.';

REVOKE ALL ON TABLE @extschema@.container_backup FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_backup(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_restore(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_backups(text) FROM PUBLIC;

-- ===== BEGIN leases, and the source of activity =====
--
-- An agent turn can run for many minutes with no message, so a short
-- idle timeout could reap a user in the middle of one.  container_hold
-- takes a lease on the user: while it is live no sweep pauses, stops or
-- evicts them (the reaper, container_reap_idle(), the start queue's
-- memory budget).  A lease ends at container_release, or by itself at
-- its expiry, so an application that crashed pins a user for at most
-- pg_container.max_lease.  The leases are rows here; the user's row
-- keeps held_until, the latest expiry of its leases, which is what the
-- sweeps read: a condition on the row they lock, rechecked when a hold
-- commits while they wait for it.  Removing the user drops its leases.
-- pg_dump keeps them like the users' rows.  Owner only.
ALTER TABLE @extschema@.user_container
    ADD COLUMN held_until timestamptz,
    ADD COLUMN last_activity_source text
        CHECK (last_activity_source OPERATOR(pg_catalog.~) '^[a-z0-9_.-]{1,32}$');

COMMENT ON COLUMN @extschema@.user_container.held_until IS
    'The latest expiry of the user''s leases (container_lease); the sweeps leave the user alone until then.';
COMMENT ON COLUMN @extschema@.user_container.last_activity_source IS
    'The kind of the last activity, as container_touch(user_id, source) said; NULL when it said none.';

CREATE TABLE @extschema@.container_lease (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    text        NOT NULL
                           REFERENCES @extschema@.user_container (user_id) ON DELETE CASCADE,
    reason     text        NOT NULL,
    held_at    timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX container_lease_user_idx ON @extschema@.container_lease (user_id);
CREATE INDEX container_lease_expires_idx ON @extschema@.container_lease (expires_at);

COMMENT ON TABLE @extschema@.container_lease IS
    'Leases taken with container_hold and not yet released or pruned: while one is live its user is neither paused, stopped nor evicted.';

SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.format('%I.container_lease', pg_catalog.current_schema())::pg_catalog.regclass, '');
SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.pg_get_serial_sequence(pg_catalog.format('%I.container_lease', pg_catalog.current_schema()), 'id')::pg_catalog.regclass, '');

-- A lease taken ('held') and ended ('released', with "expired" when it
-- ran out), each with the lease's id and reason.
ALTER TABLE @extschema@.container_event
    DROP CONSTRAINT container_event_event_check,
    ADD CONSTRAINT container_event_event_check
        CHECK (event OPERATOR(pg_catalog.=) ANY (ARRAY['created', 'started', 'stopped', 'reaped',
                                        'restarted', 'recreated', 'unhealthy', 'recovered', 'removed',
                                        'profile', 'error', 'paused', 'unpaused',
                                        'queued', 'failed', 'held', 'released']::pg_catalog.text[]));

CREATE FUNCTION @extschema@.container_hold(user_id text, reason text, ttl interval)
RETURNS bigint
AS 'MODULE_PATHNAME', 'container_hold'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_hold(text, text, interval) IS
    'Keep the user from being paused, stopped or evicted for ttl (at most pg_container.max_lease) or until released; returns the lease''s id.';

CREATE FUNCTION @extschema@.container_release(lease bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'container_release'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_release(bigint) IS
    'End a lease; true if it was live, false (no error) if it had expired, was released already or is unknown.';

-- The one-argument touch keeps its symbol and behaviour; this one also
-- records the kind of activity.
CREATE FUNCTION @extschema@.container_touch(user_id text, source text)
RETURNS void
AS 'MODULE_PATHNAME', 'container_touch'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_touch(text, text) IS
    'Record activity of the user now, and its kind (1 to 32 of a-z 0-9 _ . -; NULL: none said); no Docker request.';

REVOKE ALL ON TABLE @extschema@.container_lease FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_hold(text, text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_release(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_touch(text, text) FROM PUBLIC;

-- Whoever may touch may hold, release and touch with a source: an
-- application that records activity is the one that knows a turn runs.
DO $$
DECLARE
    item record;
    target text;
BEGIN
    FOR item IN
        SELECT a.grantee, a.is_grantable
          FROM pg_catalog.pg_proc p,
               LATERAL pg_catalog.aclexplode(p.proacl) a
         WHERE p.oid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure(
                   pg_catalog.format('%I.container_touch(text)', pg_catalog.current_schema()))
           AND a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'
           AND a.grantee OPERATOR(pg_catalog.<>) 0::pg_catalog.oid
           AND a.grantee OPERATOR(pg_catalog.<>) p.proowner
    LOOP
        FOREACH target IN ARRAY ARRAY['container_hold(text, text, interval)', 'container_release(bigint)',
                                      'container_touch(text, text)']
        LOOP
            EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %I.%s TO %s%s',
                                      pg_catalog.current_schema(), target,
                                      pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(item.grantee)),
                                      CASE WHEN item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
    END LOOP;
END
$$;

-- container_status gains held_until, the end of the user's live leases
-- (NULL: not held).  Its result type changes, so it is dropped and made
-- again with the grants it had, as the update to 0.2.0 did.
SELECT pg_catalog.set_config('pg_container_upgrade.status_acl', COALESCE(p.proacl::pg_catalog.text, ''), true)
  FROM pg_catalog.pg_proc p
 WHERE p.oid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure(
           pg_catalog.format('%I.container_status(text)', pg_catalog.current_schema()));
DROP FUNCTION @extschema@.container_status(text);
CREATE FUNCTION @extschema@.container_status(user_id text)
RETURNS TABLE (status text, port integer, last_active timestamptz, outdated boolean, held_until timestamptz)
AS 'MODULE_PATHNAME', 'container_status'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_status(text) IS
    'The user''s recorded status, host port, last activity, whether its container is out of date, and until when a lease holds it; no row for an unknown user.';

REVOKE ALL ON FUNCTION @extschema@.container_status(text) FROM PUBLIC;

DO $$
DECLARE
    saved text := pg_catalog.current_setting('pg_container_upgrade.status_acl', true);
    status_function pg_catalog.regprocedure := pg_catalog.to_regprocedure(
        pg_catalog.format('%I.container_status(text)', pg_catalog.current_schema()));
    item record;
BEGIN
    IF saved IS NULL OR saved OPERATOR(pg_catalog.=) '' THEN
        RETURN;
    END IF;
    FOR item IN
        SELECT a.grantee, a.is_grantable
          FROM pg_catalog.aclexplode(saved::pg_catalog.aclitem[]) AS a
         WHERE a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'
           AND a.grantee OPERATOR(pg_catalog.<>) a.grantor
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s%s', status_function,
                                  CASE WHEN item.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'PUBLIC'
                                       ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(item.grantee)) END,
                                  CASE WHEN item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
END
$$;

-- The overview gains, at its end, until when the user is held and the
-- source of the last activity.  Both are plain columns of the row, so the
-- view reads them beside container_overview_rows() rather than changing
-- that function's type; CREATE OR REPLACE keeps the view's grants.
CREATE OR REPLACE VIEW @extschema@.container_overview AS
    SELECT o.*,
           CASE WHEN c.held_until OPERATOR(pg_catalog.>) pg_catalog.now() THEN c.held_until END AS held_until,
           c.last_activity_source
      FROM @extschema@.container_overview_rows() o
      LEFT JOIN @extschema@.user_container c ON c.user_id OPERATOR(pg_catalog.=) o.user_id;

COMMENT ON VIEW @extschema@.container_overview IS
    'One row per user: status, port, idle minutes left before reaping, health, profile, spec out of date, last error, held until, last activity''s source.';

-- ===== END leases, and the source of activity =====

-- ===== BEGIN container_explain =====
--
-- "Why isn't my server culled?" is the question idle rules raise most.
-- container_explain answers it for one user: one row per rule that
-- applies now (last activity with its source, lease, idle timeout, pause
-- delay, the paused tier's and the start queue's memory budgets), what
-- it does, when, whether the next sweep does it, and why not earlier.
-- It reads the sweep's own plan, so it agrees with the sweep.  For
-- operators, like the overview: nothing for PUBLIC.
CREATE FUNCTION @extschema@.container_explain(user_id text)
RETURNS TABLE (rule text, action text, at timestamptz, next_sweep boolean, why text)
AS 'MODULE_PATHNAME', 'container_explain'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_explain(text) IS
    'One row per idle rule that applies to the user now: what it does, when, whether the next sweep does it, and why not earlier; and the last activity with its source.';

REVOKE ALL ON FUNCTION @extschema@.container_explain(text) FROM PUBLIC;

-- ===== END container_explain =====

-- ===== BEGIN rollouts: a new image across the fleet, by the worker =====
--
-- container_rollout records a job here and returns its id; the worker
-- carries it out once it is committed: the canaries first, then batches of
-- batch_size running users whose container is out of date, each restarted
-- with container_restart's health-gated rollback (the replacement must get
-- ready or the previous container comes back, with its volume, token and
-- port).  The job stops itself as 'failed' once max_failures users were
-- rolled back (0 and 1 both stop at the first), and as 'cancelled' at the
-- end of the batch in flight after container_rollout_cancel.  The image of
-- the newest job that did not fail is the one every new container is made
-- from (store_rollout_image, in place of pg_container.image; a profile's
-- own image still comes first), so a stopped user gets it at its next
-- start with no boot now, and a failed rollout stops handing out its
-- image.  setting_image is pg_container.image when the job was recorded:
-- once the setting is changed, the setting wins again (the DBA's newer
-- word).  One job at a time: the unique index on unfinished jobs.  Each
-- user's step is a row in container_rollout_step (which users a job has
-- dealt with, so a worker restarted mid-job goes on where it was) and a
-- 'rollout' event; the job's start and end are 'rollout' events with no
-- user.  Owner only, like the other administrative functions.
CREATE TABLE @extschema@.container_rollout (
    job              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    image            text        NOT NULL CHECK (image OPERATOR(pg_catalog.<>) ''),
    setting_image    text        NOT NULL,
    batch_size       integer     NOT NULL CHECK (batch_size OPERATOR(pg_catalog.>=) 1),
    max_failures     integer     NOT NULL CHECK (max_failures OPERATOR(pg_catalog.>=) 0),
    canaries         text[]      NOT NULL DEFAULT '{}',
    phase            text        NOT NULL DEFAULT 'initializing'
                                 CHECK (phase OPERATOR(pg_catalog.=) ANY (ARRAY['initializing', 'restarting canaries',
                                        'restarting users', 'waiting for held users', 'completed', 'failed',
                                        'cancelled']::pg_catalog.text[])),
    cancel_requested boolean     NOT NULL DEFAULT false,
    users_total      integer     NOT NULL DEFAULT 0,
    users_done       integer     NOT NULL DEFAULT 0,
    users_failed     integer     NOT NULL DEFAULT 0,
    batches_done     integer     NOT NULL DEFAULT 0,
    current_users    text[]      NOT NULL DEFAULT '{}',
    requested_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    started_at       timestamptz,
    finished_at      timestamptz
);

CREATE UNIQUE INDEX container_rollout_one_active
    ON @extschema@.container_rollout ((finished_at IS NULL)) WHERE finished_at IS NULL;

COMMENT ON TABLE @extschema@.container_rollout IS
    'Rollout jobs: an image brought to the running users batch by batch by the worker, each restart gated by readiness with rollback.';

-- The image new containers are made from lives here, so pg_dump keeps the
-- jobs (and their steps below) with the rows.
SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.format('%I.container_rollout', pg_catalog.current_schema())::pg_catalog.regclass, '');
SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.pg_get_serial_sequence(pg_catalog.format('%I.container_rollout', pg_catalog.current_schema()), 'job')::pg_catalog.regclass, '');

CREATE TABLE @extschema@.container_rollout_step (
    job      bigint      NOT NULL REFERENCES @extschema@.container_rollout (job) ON DELETE CASCADE,
    user_id  text        NOT NULL,
    batch    integer     NOT NULL,
    outcome  text        NOT NULL
                         CHECK (outcome OPERATOR(pg_catalog.=) ANY (ARRAY['updated', 'rolled back', 'skipped']::pg_catalog.text[])),
    error    text,
    at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    PRIMARY KEY (job, user_id)
);

COMMENT ON TABLE @extschema@.container_rollout_step IS
    'What each rollout job did to each user: updated, rolled back (with the error), or skipped (no longer running or out of date).';

SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.format('%I.container_rollout_step', pg_catalog.current_schema())::pg_catalog.regclass, '');

ALTER TABLE @extschema@.container_event
    DROP CONSTRAINT container_event_event_check,
    ADD CONSTRAINT container_event_event_check
        CHECK (event OPERATOR(pg_catalog.=) ANY (ARRAY['created', 'started', 'stopped', 'reaped',
                                        'restarted', 'recreated', 'unhealthy', 'recovered', 'removed',
                                        'profile', 'error', 'paused', 'unpaused',
                                        'queued', 'failed', 'held', 'released', 'rollout']::pg_catalog.text[]));

CREATE FUNCTION @extschema@.container_rollout(image text, batch integer, max_failures integer,
                                              canaries text[] DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'container_rollout'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_rollout(text, integer, integer, text[]) IS
    'Record a rollout of image for the worker (canaries first, then batches of out-of-date running users); returns the job id.';

CREATE FUNCTION @extschema@.container_rollout_cancel(job bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'container_rollout_cancel'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_rollout_cancel(bigint) IS
    'Ask a rollout job to stop at the end of its batch in flight; false if it had already finished.';

-- In the shape of pg_stat_progress_*: one row per job, the running one
-- and the finished ones (which pg_stat_progress_* would no longer show,
-- but a DBA wants to see how a rollout ended).  The estimated end
-- extrapolates the time per user so far to the users left.
CREATE VIEW @extschema@.container_rollout_progress AS
SELECT job, phase, image, batch_size, max_failures,
       users_total AS total, users_done AS done, users_failed AS failed,
       current_users, canaries, cancel_requested, requested_at, started_at,
       CASE WHEN finished_at IS NOT NULL THEN finished_at
            WHEN users_done OPERATOR(pg_catalog.>) 0 THEN
                 started_at OPERATOR(pg_catalog.+)
                 ((pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) started_at)
                  OPERATOR(pg_catalog.*) (users_total::double precision OPERATOR(pg_catalog./) users_done))
       END AS estimated_end,
       finished_at
  FROM @extschema@.container_rollout;

COMMENT ON VIEW @extschema@.container_rollout_progress IS
    'Rollout jobs as pg_stat_progress_* shows a command: phase, users total, done and failed, the batch in flight, the estimated end.';

REVOKE ALL ON TABLE @extschema@.container_rollout FROM PUBLIC;
REVOKE ALL ON TABLE @extschema@.container_rollout_step FROM PUBLIC;
REVOKE ALL ON @extschema@.container_rollout_progress FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_rollout(text, integer, integer, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_rollout_cancel(bigint) FROM PUBLIC;

-- ===== END rollouts =====

-- ===== BEGIN dormancy =====
-- Dormancy (issue 23): with pg_container.dormant_after set (0, the default,
-- turns it off), the idle sweep removes the container and network of a user
-- stopped for that long, keeping the row, token, port and volume; the next
-- start makes the container again.  Each is a 'dormant' event.
ALTER TABLE @extschema@.container_event
    DROP CONSTRAINT container_event_event_check,
    ADD CONSTRAINT container_event_event_check
        CHECK (event OPERATOR(pg_catalog.=) ANY (ARRAY['created', 'started', 'stopped', 'reaped',
                                        'restarted', 'recreated', 'unhealthy', 'recovered', 'removed',
                                        'profile', 'error', 'paused', 'unpaused',
                                        'queued', 'failed', 'held', 'released', 'rollout',
                                        'dormant']::pg_catalog.text[]));
-- ===== END dormancy =====

-- ===== BEGIN max_age =====
-- Maximum age (issue 23): with pg_container.max_age set (0, the default,
-- turns it off), the worker restarts a gateway that has run for longer,
-- once it has been idle for 5 minutes and no lease holds it, so that memory
-- a gateway leaks does not live for ever.  started_at is when the row's
-- container last started (each start stamps it); rows running before this
-- version take their last write as an estimate.  Each restart, or its
-- rollback, is an 'aged_out' event.
ALTER TABLE @extschema@.user_container
    ADD COLUMN started_at timestamptz;

UPDATE @extschema@.user_container
   SET started_at = updated_at
 WHERE status OPERATOR(pg_catalog.=) ANY (ARRAY['running', 'paused']::pg_catalog.text[]);

COMMENT ON COLUMN @extschema@.user_container.started_at IS
    'When the container last started (by pg_container, or as the state mirror saw it); what pg_container.max_age counts from.';

ALTER TABLE @extschema@.container_event
    DROP CONSTRAINT container_event_event_check,
    ADD CONSTRAINT container_event_event_check
        CHECK (event OPERATOR(pg_catalog.=) ANY (ARRAY['created', 'started', 'stopped', 'reaped',
                                        'restarted', 'recreated', 'unhealthy', 'recovered', 'removed',
                                        'profile', 'error', 'paused', 'unpaused',
                                        'queued', 'failed', 'held', 'released', 'rollout',
                                        'dormant', 'aged_out']::pg_catalog.text[]));
-- ===== END max_age =====

-- ===== BEGIN schedules =====
-- Schedules (issue 23): windows in which the users of a profile, or one
-- user, are kept warm.  From start_before ahead of each window's opening
-- until it closes, the idle sweep (the worker's, container_reap_idle()'s,
-- pg_cron's) gives each of its users a lease that ends when the window
-- closes, with a 'kept_warm' event, and queues a start for those not
-- running (the worker boots them within the start queue's limits).  While
-- the lease lives nothing pauses, stops, evicts or restarts them, as for
-- container_hold; when it ends the idle rules apply again.  A window whose
-- schedule is changed or deleted ends its leases at the next sweep.
CREATE TABLE @extschema@.container_schedule (
    name         text     PRIMARY KEY
                          CHECK (pg_catalog.length(name) OPERATOR(pg_catalog.<=) 63
                                 AND name OPERATOR(pg_catalog.~) '^[A-Za-z0-9][A-Za-z0-9_.-]*$'),
    profile      text     REFERENCES @extschema@.container_profile (name) ON DELETE CASCADE,
    user_id      text     REFERENCES @extschema@.user_container (user_id) ON DELETE CASCADE,
    days         integer[] NOT NULL DEFAULT ARRAY[1, 2, 3, 4, 5]
                          CHECK (pg_catalog.cardinality(days) OPERATOR(pg_catalog.>) 0
                                 AND pg_catalog.array_position(days, NULL) IS NULL
                                 AND days OPERATOR(pg_catalog.<@) ARRAY[1, 2, 3, 4, 5, 6, 7]),
    opens        time     NOT NULL,
    closes       time     NOT NULL,
    time_zone    text     NOT NULL DEFAULT 'UTC'
                          CHECK (pg_catalog.timezone(time_zone, '2000-01-01 00:00'::timestamp) IS NOT NULL),
    start_before interval NOT NULL DEFAULT '5 minutes'
                          CHECK (start_before OPERATOR(pg_catalog.>=) '0'::interval
                                 AND start_before OPERATOR(pg_catalog.<=) '1 day'::interval),
    CONSTRAINT container_schedule_profile_or_user
        CHECK ((profile IS NULL) OPERATOR(pg_catalog.<>) (user_id IS NULL)),
    CONSTRAINT container_schedule_opens_closes_differ
        CHECK (opens OPERATOR(pg_catalog.<>) closes)
);

CREATE INDEX container_schedule_profile_idx ON @extschema@.container_schedule (profile);
CREATE INDEX container_schedule_user_idx ON @extschema@.container_schedule (user_id);

COMMENT ON TABLE @extschema@.container_schedule IS
    'Windows in which the users of a profile (or one user) are kept warm: on the ISO week days listed, from opens to closes in time_zone (closes before opens: the next day), started start_before ahead.';
COMMENT ON COLUMN @extschema@.container_schedule.days IS
    'ISO days of the week on which a window opens: 1 is Monday, 7 Sunday.';

SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.format('%I.container_schedule', pg_catalog.current_schema())::pg_catalog.regclass, '');

-- The schedule whose window took the lease; NULL for container_hold's.
ALTER TABLE @extschema@.container_lease
    ADD COLUMN schedule text;

CREATE FUNCTION @extschema@.container_schedule_windows(
    from_time timestamptz DEFAULT pg_catalog.now(),
    until_time timestamptz DEFAULT pg_catalog.now() OPERATOR(pg_catalog.+) '7 days'::interval)
RETURNS TABLE (schedule text, profile text, user_id text, warm_from timestamptz,
               opens_at timestamptz, closes_at timestamptz)
AS 'MODULE_PATHNAME', 'container_schedule_windows'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_schedule_windows(timestamptz, timestamptz) IS
    'The schedules'' windows that are warm at some time between from_time and until_time: when the users are started (warm_from), when the window opens and closes.';

ALTER TABLE @extschema@.container_event
    DROP CONSTRAINT container_event_event_check,
    ADD CONSTRAINT container_event_event_check
        CHECK (event OPERATOR(pg_catalog.=) ANY (ARRAY['created', 'started', 'stopped', 'reaped',
                                        'restarted', 'recreated', 'unhealthy', 'recovered', 'removed',
                                        'profile', 'error', 'paused', 'unpaused',
                                        'queued', 'failed', 'held', 'released', 'rollout',
                                        'dormant', 'aged_out', 'kept_warm']::pg_catalog.text[]));

REVOKE ALL ON TABLE @extschema@.container_schedule FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_schedule_windows(timestamptz, timestamptz) FROM PUBLIC;
-- ===== END schedules =====
