-- pg_container 0.5.0 -> 0.6.0
--
-- The fixes of a security and robustness review.  Each change below is its
-- own commented block, saying what changed and why.

\echo Use "ALTER EXTENSION pg_container UPDATE TO '0.6.0'" to load this file. \quit

-- container_remove takes effect when its transaction commits.  It used to
-- remove the container, the network and the volume at once, so a rollback
-- kept the row but lost the user's data.  Now it only marks the row
-- 'removing' (remove_volume: whether the named volume goes too); the
-- worker, container_reap_idle, container_health_check_all,
-- container_process_removals and the user's next lifecycle call carry out
-- committed removals, and only then is the row deleted.
ALTER TABLE @extschema@.user_container
    DROP CONSTRAINT user_container_status_check,
    ADD CONSTRAINT user_container_status_check
        CHECK (status OPERATOR(pg_catalog.=) ANY (ARRAY['stopped', 'running', 'paused', 'removing']::pg_catalog.text[])),
    ADD COLUMN remove_volume boolean;

COMMENT ON COLUMN @extschema@.user_container.remove_volume IS
    'While status is ''removing'': whether the user''s named volume is removed with the container.';

CREATE FUNCTION @extschema@.container_process_removals()
RETURNS integer
AS 'MODULE_PATHNAME', 'container_process_removals'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_process_removals() IS
    'Carry out the committed container_remove calls now (the worker does it soon after commit); returns how many users were removed.';

REVOKE ALL ON FUNCTION @extschema@.container_process_removals() FROM PUBLIC;
