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
