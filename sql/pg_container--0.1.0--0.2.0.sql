-- pg_container 0.1.0 -> 0.2.0: per-user profiles, fresh-config restarts,
-- deprovisioning, orphans, the event log and the overview.
--
-- A fresh CREATE EXTENSION runs 0.1.0's script and then this one, so there
-- is one definition of everything.  Like 0.1.0's, every object is named
-- through @extschema@ and every function pins its search_path.

\echo Use "ALTER EXTENSION pg_container UPDATE TO '0.2.0'" to load this file. \quit

-- Profiles: what users on different plans get.  Unset columns fall back to
-- the pg_container.* settings.  Values are checked here, on insert and
-- update, not when a container is made from them.
CREATE TABLE @extschema@.container_profile (
    name             text        PRIMARY KEY
                                 CHECK (pg_catalog.length(name) OPERATOR(pg_catalog.>=) 1
                                        AND pg_catalog.length(name) OPERATOR(pg_catalog.<=) 63
                                        AND name OPERATOR(pg_catalog.~) '^[A-Za-z0-9][A-Za-z0-9_.-]*$'),
    image            text        CHECK (image OPERATOR(pg_catalog.~) '^[^[:space:][:cntrl:]]+$'),
    memory_limit_mb  integer     CHECK (memory_limit_mb OPERATOR(pg_catalog.>=) 0),
    cpus             real        CHECK (cpus OPERATOR(pg_catalog.>=) 0::pg_catalog.float4
                                        AND cpus OPERATOR(pg_catalog.<=) 1024::pg_catalog.float4),
    pids_limit       integer     CHECK (pids_limit OPERATOR(pg_catalog.>=) 0),
    idle_timeout_min integer     CHECK (idle_timeout_min OPERATOR(pg_catalog.>) 0),
    extra_env        text[],
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE @extschema@.container_profile IS
    'Per-plan container settings; NULL columns fall back to the pg_container.* settings.';
COMMENT ON COLUMN @extschema@.container_profile.extra_env IS
    'KEY=VALUE entries added to the container''s environment; {token}, {user_id} and {container_name} are filled in.';

-- extra_env gets a trigger rather than a CHECK so that a bad entry is named.
CREATE FUNCTION @extschema@.container_profile_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    entry text;
    position integer := 0;
    placeholder text;
BEGIN
    NEW.updated_at := pg_catalog.now();
    IF NEW.extra_env IS NULL THEN
        RETURN NEW;
    END IF;
    FOREACH entry IN ARRAY NEW.extra_env LOOP
        position := position OPERATOR(pg_catalog.+) 1;
        IF entry IS NULL THEN
            RAISE EXCEPTION 'extra_env entry % of container profile "%" is null', position, NEW.name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF entry OPERATOR(pg_catalog.!~) '^[A-Za-z_][A-Za-z0-9_]*=' THEN
            RAISE EXCEPTION 'extra_env entry % of container profile "%" is not KEY=VALUE', position, NEW.name
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'A key is a letter or underscore followed by letters, digits and underscores.';
        END IF;
        IF pg_catalog.split_part(entry, '=', 1) OPERATOR(pg_catalog.=) ANY (ARRAY['MOSAIC_API_URL', 'AGENT_TOKEN', 'AGENT_ID']) THEN
            RAISE EXCEPTION 'extra_env entry % of container profile "%" sets %, which pg_container sets itself',
                            position, NEW.name, pg_catalog.split_part(entry, '=', 1)
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF entry OPERATOR(pg_catalog.~) '[[:cntrl:]]' THEN
            RAISE EXCEPTION 'extra_env entry % of container profile "%" contains a control character', position, NEW.name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR placeholder IN SELECT m[1] FROM pg_catalog.regexp_matches(entry, '(\{[^}]*\})', 'g') AS m LOOP
            IF placeholder OPERATOR(pg_catalog.<>) ALL (ARRAY['{token}', '{user_id}', '{container_name}']) THEN
                RAISE EXCEPTION 'extra_env entry % of container profile "%" uses unknown placeholder %',
                                position, NEW.name, placeholder
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'The placeholders are {token}, {user_id} and {container_name}.';
            END IF;
        END LOOP;
    END LOOP;
    RETURN NEW;
END
$$;

CREATE TRIGGER container_profile_check
    BEFORE INSERT OR UPDATE ON @extschema@.container_profile
    FOR EACH ROW EXECUTE FUNCTION @extschema@.container_profile_check();

-- The same rule for user ids, cheaper to check: a bounded repetition
-- ({0,62}) compiles into a large automaton that ran on every UPDATE of a
-- row, touch included.
ALTER TABLE @extschema@.user_container
    DROP CONSTRAINT user_container_user_id_check,
    ADD CONSTRAINT user_container_user_id_check
        CHECK (pg_catalog.length(user_id) OPERATOR(pg_catalog.>=) 1
               AND pg_catalog.length(user_id) OPERATOR(pg_catalog.<=) 63
               AND user_id OPERATOR(pg_catalog.~) '^[A-Za-z0-9][A-Za-z0-9_.-]*$');

-- Each user's profile (NULL: the settings alone), and the hash of the spec
-- its container was made from, which says whether it is out of date.
ALTER TABLE @extschema@.user_container
    ADD COLUMN profile text REFERENCES @extschema@.container_profile (name)
                            ON UPDATE CASCADE ON DELETE RESTRICT,
    ADD COLUMN spec_hash text;

COMMENT ON COLUMN @extschema@.user_container.spec_hash IS
    'Hash of the settings and profile the container was made from; NULL if made before 0.2.0.';

-- State changes, kept for pg_container.event_retention; user_id is NULL
-- for events of the worker itself (a failed pass).
CREATE TABLE @extschema@.container_event (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    user_id text,
    event   text        NOT NULL
                        CHECK (event OPERATOR(pg_catalog.=) ANY (ARRAY['created', 'started', 'stopped', 'reaped',
                                         'restarted', 'recreated', 'unhealthy', 'recovered', 'removed',
                                         'profile', 'error']::pg_catalog.text[])),
    detail  jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX container_event_at_idx ON @extschema@.container_event (at);
CREATE INDEX container_event_user_idx ON @extschema@.container_event (user_id, at);

COMMENT ON TABLE @extschema@.container_event IS
    'Every state change of every user''s container; each is also sent as NOTIFY pg_container.';

-- Profiles are configuration and events history: pg_dump keeps both.
SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.format('%I.container_profile', pg_catalog.current_schema())::pg_catalog.regclass, '');
SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.format('%I.container_event', pg_catalog.current_schema())::pg_catalog.regclass, '');
SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.pg_get_serial_sequence(pg_catalog.format('%I.container_event', pg_catalog.current_schema()), 'id')::pg_catalog.regclass, '');

-- container_status gains "outdated": its result type changes, so it is
-- dropped and made again.  The grants applications had on it are kept
-- aside here and given back at the end of this script.
SELECT pg_catalog.set_config('pg_container_upgrade.status_acl', COALESCE(p.proacl::pg_catalog.text, ''), true)
  FROM pg_catalog.pg_proc p
 WHERE p.oid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure(
           pg_catalog.format('%I.container_status(text)', pg_catalog.current_schema()));
DROP FUNCTION @extschema@.container_status(text);
CREATE FUNCTION @extschema@.container_status(user_id text)
RETURNS TABLE (status text, port integer, last_active timestamptz, outdated boolean)
AS 'MODULE_PATHNAME', 'container_status'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_status(text) IS
    'The user''s recorded status, host port, last activity, and whether its container is out of date; no row for an unknown user.';

COMMENT ON FUNCTION @extschema@.container_restart(text) IS
    'Stop and start the user''s container, recreating it (volume, token and port kept) if its settings or profile changed.';

CREATE FUNCTION @extschema@.container_set_profile(user_id text, profile text)
RETURNS void
AS 'MODULE_PATHNAME', 'container_set_profile'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_set_profile(text, text) IS
    'Assign a container profile (NULL: the settings alone); applies at the next create or fresh-config restart.';

CREATE FUNCTION @extschema@.container_remove(user_id text, keep_volume boolean DEFAULT true)
RETURNS void
AS 'MODULE_PATHNAME', 'container_remove'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_remove(text, boolean) IS
    'Remove the user''s container and row; with keep_volume => false also the volume, the only way user data is ever deleted.';

CREATE FUNCTION @extschema@.container_outdated()
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'container_outdated'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_outdated() IS
    'Users whose container was made from other settings or another profile: roll them with container_restart.';

CREATE FUNCTION @extschema@.container_orphans()
RETURNS TABLE (container_id text, name text, user_id text, state text)
AS 'MODULE_PATHNAME', 'container_orphans'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_orphans() IS
    'Containers labelled as pg_container''s that no row owns; never removed automatically.';

CREATE FUNCTION @extschema@.container_overview_rows()
RETURNS TABLE (user_id text, status text, port integer, idle_minutes_left integer, healthy boolean,
               profile text, outdated boolean, last_error text, last_error_at timestamptz)
AS 'MODULE_PATHNAME', 'container_overview_rows'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

CREATE VIEW @extschema@.container_overview AS
    SELECT * FROM @extschema@.container_overview_rows();

COMMENT ON VIEW @extschema@.container_overview IS
    'One row per user: status, port, idle minutes left before reaping, health, profile, spec out of date, last error.';

-- Nothing for PUBLIC, as before.
REVOKE ALL ON TABLE @extschema@.container_profile FROM PUBLIC;
REVOKE ALL ON TABLE @extschema@.container_event FROM PUBLIC;
REVOKE ALL ON TABLE @extschema@.container_overview FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_profile_check() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_status(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_set_profile(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_remove(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_outdated() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_orphans() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_overview_rows() FROM PUBLIC;

-- The grants on the old container_status, on the new one.
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
