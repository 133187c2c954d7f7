-- pg_container 0.3.0 -> 0.4.0
--
-- Each change below is its own commented block.

\echo Use "ALTER EXTENSION pg_container UPDATE TO '0.4.0'" to load this file. \quit

-- ===== BEGIN idle in two steps (pause, then stop) =====
--
-- An idle container is first paused (Docker's cgroup freezer: it keeps
-- its memory, frees the CPU, and comes back in milliseconds), then stopped
-- at idle_timeout_min as before.  'paused' is a state of its own in the
-- table, so status, the overview and the sweeps can tell it from running.
--
-- pause_after_min: minutes idle before the pause; NULL or 0 never pauses,
-- which is what every existing row and every profile gets here: nobody is
-- paused who did not opt in.  New rows take pg_container.pause_after
-- (default 0), as they take pg_container.default_idle_timeout.
-- paused_at: when the container was paused, so that the paused tier's
-- memory budget stops the longest-paused first.
--
-- NOTE for whoever concatenates this file with the event stream's block:
-- container_event_event_check is made again below with 'paused' and
-- 'unpaused' added; if the other block also remakes that constraint, keep
-- one ALTER with the union of both lists.

ALTER TABLE @extschema@.user_container
    DROP CONSTRAINT user_container_status_check,
    ADD CONSTRAINT user_container_status_check
        CHECK (status OPERATOR(pg_catalog.=) ANY (ARRAY['stopped', 'running', 'paused']::pg_catalog.text[])),
    ADD COLUMN pause_after_min integer
        CONSTRAINT user_container_pause_after_min_check
        CHECK (pause_after_min OPERATOR(pg_catalog.>=) 0 AND pause_after_min OPERATOR(pg_catalog.<=) 10080),
    ADD COLUMN paused_at timestamptz;

COMMENT ON COLUMN @extschema@.user_container.pause_after_min IS
    'Minutes idle before the container is paused; NULL or 0: never paused, only stopped at idle_timeout_min.';
COMMENT ON COLUMN @extschema@.user_container.paused_at IS
    'When the container was last paused; meaningful while status is ''paused''.';

ALTER TABLE @extschema@.container_profile
    ADD COLUMN pause_after_min integer
        CONSTRAINT container_profile_pause_after_min_check
        CHECK (pause_after_min OPERATOR(pg_catalog.>=) 0 AND pause_after_min OPERATOR(pg_catalog.<=) 10080);

COMMENT ON COLUMN @extschema@.container_profile.pause_after_min IS
    'pause_after_min given to the users of this profile when it is assigned; NULL: leave theirs as it is.';

ALTER TABLE @extschema@.container_event
    DROP CONSTRAINT container_event_event_check,
    ADD CONSTRAINT container_event_event_check
        CHECK (event OPERATOR(pg_catalog.=) ANY (ARRAY['created', 'started', 'stopped', 'reaped',
                                        'restarted', 'recreated', 'unhealthy', 'recovered', 'removed',
                                        'profile', 'error', 'paused', 'unpaused']::pg_catalog.text[]));

CREATE FUNCTION @extschema@.container_set_pause_after(user_id text, minutes integer)
RETURNS void
AS 'MODULE_PATHNAME', 'container_set_pause_after'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_set_pause_after(text, integer) IS
    'Sets the minutes idle before the user''s container is paused; NULL or 0: never.';

REVOKE ALL ON FUNCTION @extschema@.container_set_pause_after(text, integer) FROM PUBLIC;

-- ===== END idle in two steps =====

-- ===== BEGIN the node a swarm user is pinned to =====
--
-- Docker Swarm (pg_container.engine = 'swarm'): the node a user's service
-- was pinned to when its first task landed.  A `local` named volume exists
-- only there, so this is where the user's state is; NULL on the docker
-- engine, and until a swarm user first starts.  Swarm node ids are 25
-- lower-case letters and digits.
ALTER TABLE @extschema@.user_container
    ADD COLUMN node text
        CONSTRAINT user_container_node_check
        CHECK (node OPERATOR(pg_catalog.~) '^[a-z0-9]{25}$');
COMMENT ON COLUMN @extschema@.user_container.node IS
    'engine = swarm: the node the user''s service is pinned to, where their volume is';

-- ===== END the node a swarm user is pinned to =====

-- ===== BEGIN live state from Docker's event stream =====

-- Like container_ensure_running, but always asks Docker: for a caller that
-- just failed to reach a gateway the table said was up.
CREATE FUNCTION @extschema@.container_ensure_running_checked(user_id text, OUT url text, OUT token text)
RETURNS record
AS 'MODULE_PATHNAME', 'container_ensure_running_checked'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_ensure_running_checked(text) IS
    'container_ensure_running that always inspects the container, whatever the event mirror says.';

REVOKE ALL ON FUNCTION @extschema@.container_ensure_running_checked(text) FROM PUBLIC;

-- Whoever may ensure may also ensure checked.
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN
        SELECT a.grantee, a.is_grantable
          FROM pg_catalog.pg_proc p,
               LATERAL pg_catalog.aclexplode(p.proacl) a
         WHERE p.oid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure(
                   pg_catalog.format('%I.container_ensure_running(text)', pg_catalog.current_schema()))
           AND a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'
           AND a.grantee OPERATOR(pg_catalog.<>) 0::pg_catalog.oid
           AND a.grantee OPERATOR(pg_catalog.<>) p.proowner
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %I.container_ensure_running_checked(text) TO %s%s',
                                  pg_catalog.current_schema(),
                                  pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(item.grantee)),
                                  CASE WHEN item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
END
$$;

CREATE FUNCTION @extschema@.container_mirror_status(
    OUT enabled boolean, OUT in_sync boolean, OUT in_sync_since timestamptz,
    OUT events_read bigint, OUT resyncs bigint, OUT corrections bigint,
    OUT last_resync_at timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'container_mirror_status'
LANGUAGE C VOLATILE;

-- The worker's mirror of Docker's state, since the server started:
-- corrections counts rows the periodic full list had to fix while the
-- event stream was in sync (events it missed), and should stay 0.
CREATE VIEW @extschema@.container_mirror AS
SELECT * FROM @extschema@.container_mirror_status();

COMMENT ON VIEW @extschema@.container_mirror IS
    'Whether user_container is kept in sync from Docker''s event stream, since when, and how often the periodic list had to correct it.';

REVOKE ALL ON FUNCTION @extschema@.container_mirror_status() FROM PUBLIC;
REVOKE ALL ON @extschema@.container_mirror FROM PUBLIC;

-- ===== END live state from Docker's event stream =====
