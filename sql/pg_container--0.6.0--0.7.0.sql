-- pg_container 0.6.0 -> 0.7.0
--
-- Cold starts in the background, the house rebuilt, fleet operations.
-- Each change below is its own commented block, saying what changed and
-- why.

\echo Use "ALTER EXTENSION pg_container UPDATE TO '0.7.0'" to load this file. \quit

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
