-- pg_container 0.4.0 -> 0.5.0
--
-- Each change below is its own commented block.

\echo Use "ALTER EXTENSION pg_container UPDATE TO '0.5.0'" to load this file. \quit

-- ===== BEGIN container_move (Docker Swarm) =====
--
-- On pg_container.engine = 'swarm', a stopped user's `local` volume is
-- copied to another node by two one-shot tasks, and the user's service
-- and row are pinned there (src/swarm_move.c).  The source volume stays.
-- An administrator's function, like container_remove: SECURITY DEFINER
-- with a pinned search_path, and no grant to PUBLIC.

CREATE FUNCTION @extschema@.container_move(user_id text, node text, helper_image text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'container_move'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_move(text, text, text) IS
    'Swarm only: copies a stopped user''s volume to another node and pins the user there; the source volume is kept.';

REVOKE ALL ON FUNCTION @extschema@.container_move(text, text, text) FROM PUBLIC;

-- ===== END container_move =====

-- ===== BEGIN reserved environment names in profiles (security) =====
--
-- Every variable pg_container sets is refused in a profile's extra_env.
-- The check refused only the original service's three names; a profile
-- could set OPENCLAW_GATEWAY_TOKEN (every user's gateway then checked the
-- profile's value, not the user's token) or HOME and the other state
-- paths (the gateway's state then left the user's volume).  Since this
-- version pg_container's own entries come after the profile's and win in
-- any case; the check now says so at the time the profile is written.
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
        IF pg_catalog.split_part(entry, '=', 1) OPERATOR(pg_catalog.=) ANY (ARRAY['MOSAIC_API_URL', 'AGENT_TOKEN', 'AGENT_ID',
                'OPENCLAW_GATEWAY_TOKEN', 'HOME', 'OPENCLAW_HOME', 'OPENCLAW_STATE_DIR',
                'OPENCLAW_CONFIG_PATH', 'OPENCLAW_WORKSPACE_DIR', 'XDG_CACHE_HOME']) THEN
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

-- Profiles stored before this check: they are kept (refusing the update
-- would help nobody), and named, since their entries have no effect now.
DO $$
DECLARE
    p record;
BEGIN
    -- The schema by format('%I'): the script's schema placeholder would be
    -- substituted into this body as text, where a crafted name becomes code.
    FOR p IN EXECUTE pg_catalog.format(
        'SELECT c.name, pg_catalog.string_agg(DISTINCT pg_catalog.split_part(e, ''='', 1), '', '') AS names
           FROM %I.container_profile AS c, pg_catalog.unnest(c.extra_env) AS e
          WHERE pg_catalog.split_part(e, ''='', 1) OPERATOR(pg_catalog.=) ANY (ARRAY[''OPENCLAW_GATEWAY_TOKEN'', ''HOME'',
                    ''OPENCLAW_HOME'', ''OPENCLAW_STATE_DIR'', ''OPENCLAW_CONFIG_PATH'', ''OPENCLAW_WORKSPACE_DIR'',
                    ''XDG_CACHE_HOME''])
          GROUP BY c.name', pg_catalog.current_schema())
    LOOP
        RAISE WARNING 'container profile "%" sets %, which pg_container sets itself', p.name, p.names
            USING DETAIL = 'pg_container''s own values are used; the profile''s entries have no effect.',
                  HINT = 'Remove those entries from the profile''s extra_env.';
    END LOOP;
END
$$;

-- ===== END reserved environment names =====
