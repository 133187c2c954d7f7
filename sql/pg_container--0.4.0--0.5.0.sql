-- pg_container 0.4.0 -> 0.5.0
--
-- Each change below is its own commented block.

\echo Use "ALTER EXTENSION pg_container UPDATE TO '0.5.0'" to load this file. \quit

-- ===== BEGIN issue 15: container_move (Docker Swarm) =====
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

-- ===== END issue 15 =====
