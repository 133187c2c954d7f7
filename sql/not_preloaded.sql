--
-- Without shared_preload_libraries (test/not_preloaded.conf):
-- CREATE EXTENSION works and says, as a WARNING, that no background worker
-- reaps idle containers or checks health; the SQL functions still work.
--
SHOW shared_preload_libraries;
CREATE EXTENSION pg_container;
SELECT extversion FROM pg_extension WHERE extname = 'pg_container';
SELECT count(*) AS workers FROM pg_stat_activity WHERE backend_type = 'pg_container worker';
-- A function loads the library; an unknown user asks nothing of Docker.
SELECT * FROM container_status('nobody');
-- pg_container.database is defined only while preloading: there is no
-- worker for it to steer.
SELECT count(*) FROM pg_settings WHERE name = 'pg_container.database';
-- The statistics live in shared memory, which only preloading sets up:
-- the view and the reset say so, with SQLSTATE 55000.
SELECT * FROM container_stat_operations;
SELECT container_stat_reset();
DO $$
BEGIN
    PERFORM * FROM container_stat_operations;
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    RAISE NOTICE 'container_stat_operations: SQLSTATE %', SQLSTATE;
END $$;
-- The measured functions still work, unmeasured.
SELECT container_touch('nobody');
-- Without the worker (pg_cron-only installations) nobody would drain the
-- start queue: container_start and container_wait say so rather than queue.
SELECT * FROM container_start('nobody');
SELECT * FROM container_wait('nobody');
-- ... with SQLSTATE 55000, object not in prerequisite state.
DO $$
BEGIN
    PERFORM container_start('nobody');
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    RAISE NOTICE 'container_start: SQLSTATE %', SQLSTATE;
END
$$;
DROP EXTENSION pg_container;
