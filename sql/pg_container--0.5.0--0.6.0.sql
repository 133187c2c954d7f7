-- pg_container 0.5.0 -> 0.6.0
--
-- The fixes of a security and robustness review.  Each change below is its
-- own commented block, saying what changed and why.

\echo Use "ALTER EXTENSION pg_container UPDATE TO '0.6.0'" to load this file. \quit

-- ===== BEGIN user ids that differ only in case =====
--
-- Docker's container and network names are case-sensitive, but its
-- embedded DNS keys names in lower case: from a container attached to the
-- networks of users "casevictim" and "CaseVictim", the victim's internal
-- URL resolved to the other user's gateway, which then received the
-- victim's token and messages.  Two user ids (or container names) that
-- differ only in ASCII case are now one too many: the second is refused
-- with an error naming the first.  Ids are not folded, because folding
-- would rename the containers, networks and volumes of existing users
-- whose ids hold capitals.
--
-- The unique indexes make the refusal hold for concurrent first starts
-- too.  COLLATE "C" folds ASCII letters only, whatever the database's
-- collation (a Turkish one would fold "I" to a dotless i); user ids and
-- names are ASCII by their CHECK constraints.  An installation that
-- already holds such a pair cannot be updated until one of them is
-- removed: the pair is an open hijack, and only its owner can tell which
-- user is the real one.

DO $$
DECLARE
    pair record;
BEGIN
    EXECUTE pg_catalog.format(
        'SELECT a.user_id AS first_user, b.user_id AS second_user'
        '  FROM %1$I.user_container a'
        '  JOIN %1$I.user_container b'
        '    ON pg_catalog.lower(a.user_id COLLATE "C") OPERATOR(pg_catalog.=) pg_catalog.lower(b.user_id COLLATE "C")'
        '       OR pg_catalog.lower(a.container_name COLLATE "C") OPERATOR(pg_catalog.=) pg_catalog.lower(b.container_name COLLATE "C")'
        ' WHERE a.user_id OPERATOR(pg_catalog.<) b.user_id'
        ' ORDER BY a.user_id, b.user_id'
        ' LIMIT 1', pg_catalog.current_schema())
      INTO pair;
    IF pair.first_user IS NOT NULL THEN
        RAISE EXCEPTION 'users "%" and "%" differ only in case', pair.first_user, pair.second_user
            USING ERRCODE = 'unique_violation',
                  DETAIL = 'Docker''s embedded DNS does not tell names apart by case, so each user''s gateway can answer for the other.',
                  HINT = 'Remove the user who should not exist with container_remove, then update again.';
    END IF;
END
$$;

CREATE UNIQUE INDEX user_container_user_id_folded
    ON @extschema@.user_container (pg_catalog.lower(user_id COLLATE "C"));
CREATE UNIQUE INDEX user_container_container_name_folded
    ON @extschema@.user_container (pg_catalog.lower(container_name COLLATE "C"));

-- ===== END user ids that differ only in case =====

-- ===== BEGIN bounded container logs (security) =====
--
-- Containers logged without a limit: a tenant's output filled the engine's
-- disk (20 MB of output made a 127 MB json log).  They now log through
-- json-file with max-size pg_container.log_max_size and max-file
-- pg_container.log_max_files; these columns override the two per profile
-- (NULL: the settings; a size of 0: the engine's own logging).  The limits
-- are part of the spec hash, so containers made before show as outdated.
ALTER TABLE @extschema@.container_profile
    ADD COLUMN log_max_size_mb integer
        CONSTRAINT container_profile_log_max_size_mb_check
        CHECK (log_max_size_mb OPERATOR(pg_catalog.>=) 0 AND log_max_size_mb OPERATOR(pg_catalog.<=) 1048576),
    ADD COLUMN log_max_files integer
        CONSTRAINT container_profile_log_max_files_check
        CHECK (log_max_files OPERATOR(pg_catalog.>=) 1 AND log_max_files OPERATOR(pg_catalog.<=) 100);

COMMENT ON COLUMN @extschema@.container_profile.log_max_size_mb IS
    'Size in MB at which the container''s json-file log is rotated; NULL: pg_container.log_max_size; 0: the engine''s own logging.';
COMMENT ON COLUMN @extschema@.container_profile.log_max_files IS
    'Log files the container keeps; NULL: pg_container.log_max_files.';

-- ===== END bounded container logs =====

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
