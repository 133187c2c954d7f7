-- pg_container 0.5.0 -> 0.6.0
--
-- The fixes of a security and robustness review.  Each change below is its
-- own commented block, saying what changed and why.

\echo Use "ALTER EXTENSION pg_container UPDATE TO '0.6.0'" to load this file. \quit

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
