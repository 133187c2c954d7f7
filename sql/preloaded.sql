--
-- With the library preloaded (test/preloaded.conf): the background
-- worker runs, in pg_container.database (postgres, the default), and
-- CREATE EXTENSION in any other database says so, as a WARNING.
--
SHOW shared_preload_libraries;
SHOW pg_container.database;
-- The postmaster starts the worker soon after it starts; wait for it with
-- a generous bound rather than a fixed sleep.
DO $$
BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'pg_container worker');
        PERFORM pg_sleep(0.1);
        PERFORM pg_stat_clear_snapshot();
    END LOOP;
END
$$;
SELECT datname FROM pg_stat_activity WHERE backend_type = 'pg_container worker';
CREATE EXTENSION pg_container;
DROP EXTENSION pg_container;
