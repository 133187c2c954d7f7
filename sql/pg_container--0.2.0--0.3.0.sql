-- pg_container 0.2.0 -> 0.3.0: the security review.
--
-- 0.2.0's scripts wrote unqualified operators in CHECK constraints.  Those
-- are bound when the script runs, and an exact match that a database owner
-- had put in the extension's schema (say public.>=(real, integer)) won over
-- the catalog's, so it ran as whoever later wrote the table.  Every CHECK
-- is made again here with OPERATOR(pg_catalog.x), which also repairs a
-- database where such an operator was captured.  Nothing is dropped, so
-- the grants that applications have on every object are kept.
--
-- New here: the installation's identity, which every container and volume
-- is labelled with so that two databases sharing one engine never adopt
-- each other's; a valid-name CHECK on container_name; idle timeouts
-- bounded to a week; profile images bounded in length.

\echo Use "ALTER EXTENSION pg_container UPDATE TO '0.3.0'" to load this file. \quit

-- Timeouts past the new bound are brought down to it first.
UPDATE @extschema@.user_container SET idle_timeout_min = 10080
 WHERE idle_timeout_min OPERATOR(pg_catalog.>) 10080;
UPDATE @extschema@.container_profile SET idle_timeout_min = 10080
 WHERE idle_timeout_min OPERATOR(pg_catalog.>) 10080;

-- user_container
ALTER TABLE @extschema@.user_container
    DROP CONSTRAINT user_container_user_id_check,
    DROP CONSTRAINT user_container_gateway_port_check,
    DROP CONSTRAINT user_container_status_check,
    DROP CONSTRAINT user_container_idle_timeout_min_check,
    ADD CONSTRAINT user_container_user_id_check
        CHECK (pg_catalog.length(user_id) OPERATOR(pg_catalog.>=) 1
               AND pg_catalog.length(user_id) OPERATOR(pg_catalog.<=) 63
               AND user_id OPERATOR(pg_catalog.~) '^[A-Za-z0-9][A-Za-z0-9_.-]*$'),
    ADD CONSTRAINT user_container_gateway_port_check
        CHECK (gateway_port OPERATOR(pg_catalog.>=) 1 AND gateway_port OPERATOR(pg_catalog.<=) 65535),
    ADD CONSTRAINT user_container_status_check
        CHECK (status OPERATOR(pg_catalog.=) ANY (ARRAY['stopped', 'running']::pg_catalog.text[])),
    -- A week at most: an application role must not be able to keep a
    -- container up for good by setting a huge timeout.
    ADD CONSTRAINT user_container_idle_timeout_min_check
        CHECK (idle_timeout_min OPERATOR(pg_catalog.>=) 1 AND idle_timeout_min OPERATOR(pg_catalog.<=) 10080),
    -- A Docker container name, and so a named volume "<name>-state": never
    -- a path such as "/etc", which Docker would take for a bind mount.
    ADD CONSTRAINT user_container_container_name_check
        CHECK (pg_catalog.length(container_name) OPERATOR(pg_catalog.<=) 128
               AND container_name OPERATOR(pg_catalog.~) '^[A-Za-z0-9][A-Za-z0-9_.-]*$');

-- container_profile
ALTER TABLE @extschema@.container_profile
    DROP CONSTRAINT container_profile_name_check,
    DROP CONSTRAINT container_profile_image_check,
    DROP CONSTRAINT container_profile_memory_limit_mb_check,
    DROP CONSTRAINT container_profile_cpus_check,
    DROP CONSTRAINT container_profile_pids_limit_check,
    DROP CONSTRAINT container_profile_idle_timeout_min_check,
    ADD CONSTRAINT container_profile_name_check
        CHECK (pg_catalog.length(name) OPERATOR(pg_catalog.>=) 1
               AND pg_catalog.length(name) OPERATOR(pg_catalog.<=) 63
               AND name OPERATOR(pg_catalog.~) '^[A-Za-z0-9][A-Za-z0-9_.-]*$'),
    -- Docker's own limit on a reference is 255 for the name plus the tag
    -- or digest; 512 bytes is room for both.
    ADD CONSTRAINT container_profile_image_check
        CHECK (pg_catalog.octet_length(image) OPERATOR(pg_catalog.<=) 512
               AND image OPERATOR(pg_catalog.~) '^[^[:space:][:cntrl:]]+$'),
    ADD CONSTRAINT container_profile_memory_limit_mb_check
        CHECK (memory_limit_mb OPERATOR(pg_catalog.>=) 0),
    ADD CONSTRAINT container_profile_cpus_check
        CHECK (cpus OPERATOR(pg_catalog.>=) 0::pg_catalog.float4
               AND cpus OPERATOR(pg_catalog.<=) 1024::pg_catalog.float4),
    ADD CONSTRAINT container_profile_pids_limit_check
        CHECK (pids_limit OPERATOR(pg_catalog.>=) 0),
    ADD CONSTRAINT container_profile_idle_timeout_min_check
        CHECK (idle_timeout_min OPERATOR(pg_catalog.>=) 1 AND idle_timeout_min OPERATOR(pg_catalog.<=) 10080);

-- What the real gateway needs, per profile: its command (NULL: the
-- setting; an empty array: the image's own), an init process and
-- dropped capabilities (NULL: the settings).
ALTER TABLE @extschema@.container_profile
    ADD COLUMN command text[],
    ADD COLUMN init boolean,
    ADD COLUMN drop_capabilities boolean;

COMMENT ON COLUMN @extschema@.container_profile.command IS
    'Command of the container, as words; NULL: pg_container.command; an empty array: the image''s own.';

-- The container's output, for the DBA: the token is redacted.
CREATE FUNCTION @extschema@.container_logs(user_id text, tail integer DEFAULT 100, since interval DEFAULT NULL)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'container_logs'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_logs(text, integer, interval) IS
    'The last lines of the user''s container''s output (at most tail, from since ago), with the token replaced by <redacted>.';

REVOKE ALL ON FUNCTION @extschema@.container_logs(text, integer, interval) FROM PUBLIC;

-- container_event
ALTER TABLE @extschema@.container_event
    DROP CONSTRAINT container_event_event_check,
    ADD CONSTRAINT container_event_event_check
        CHECK (event OPERATOR(pg_catalog.=) ANY (ARRAY['created', 'started', 'stopped', 'reaped',
                                        'restarted', 'recreated', 'unhealthy', 'recovered', 'removed',
                                        'profile', 'error']::pg_catalog.text[]));

-- The trigger function, as 0.2.0 had it with every operator qualified.
-- Its body ran under a pinned search_path already; this is for the
-- reader, and for the check that scans every script.
CREATE OR REPLACE FUNCTION @extschema@.container_profile_check()
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

-- The identity of this installation, made here.  pg_dump keeps it: a
-- pg_restore runs CREATE EXTENSION, which makes a new row, and then brings
-- back the original one, which is older and so is the one in force.  A
-- restored database adopts the containers the original made; no other
-- database does.
CREATE TABLE @extschema@.container_installation (
    id         text        PRIMARY KEY CHECK (id OPERATOR(pg_catalog.~) '^[0-9a-f]{32}$'),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE @extschema@.container_installation IS
    'This installation''s identity (the oldest row), the pg_container.installation label of every container and volume it makes.';

INSERT INTO @extschema@.container_installation (id)
VALUES (pg_catalog.replace(pg_catalog.gen_random_uuid()::pg_catalog.text, '-', ''));

SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.format('%I.container_installation', pg_catalog.current_schema())::pg_catalog.regclass, '');

REVOKE ALL ON TABLE @extschema@.container_installation FROM PUBLIC;
