-- container_stat_operations counts every call of a scripted workload
-- exactly: calls per operation (an ensure by what it had to do), errors by
-- SQLSTATE, engine requests where they are fixed, and the reset.  Against
-- the real dockerd; the worker's sweeps are off (test/lib/env.sh), so only
-- this session's calls are counted.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(18);

-- What an earlier, interrupted run may have left.
SELECT container_remove(user_id) FROM user_container WHERE user_id LIKE 'st-%' \g /dev/null
SELECT container_process_removals() \g /dev/null

CREATE FUNCTION pg_temp.calls() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(operation || '=' || calls, ' ' ORDER BY operation) FROM container_stat_operations WHERE calls > 0 $$;
CREATE FUNCTION pg_temp.errors() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(operation || '=' || errors::text, ' ' ORDER BY operation) FROM container_stat_operations WHERE errors <> '{}' $$;
CREATE FUNCTION pg_temp.op(name text) RETURNS container_stat_operations LANGUAGE sql AS $$
    SELECT * FROM container_stat_operations WHERE operation = name $$;

SELECT container_stat_reset() \g /dev/null
SELECT is((SELECT count(*) FROM container_stat_operations WHERE calls > 0 OR total_ms > 0 OR engine_requests > 0 OR errors <> '{}'),
          0::bigint, 'after container_stat_reset() every counter is zero');
SELECT is((SELECT string_agg(operation, ', ') FROM container_stat_operations),
          'hot ensure, cold start, resume, stop, restart, reap, health, touch, backup', 'one row per operation, in order');

-- The workload.
-- cold start (created)
SELECT container_ensure_running('st-a') \g /dev/null
-- hot ensure
SELECT container_ensure_running('st-a') \g /dev/null
-- hot ensure, asking Docker
SELECT container_ensure_running_checked('st-a') \g /dev/null
-- hot ensure, 22004
SELECT test_helpers.error_of($$SELECT container_ensure_running(NULL)$$) \g /dev/null
SELECT container_touch('st-a') \g /dev/null
SELECT container_touch('st-a') \g /dev/null
SELECT container_touch('st-a') \g /dev/null
-- touch, 22023
SELECT test_helpers.error_of($$SELECT container_touch('no such user!')$$) \g /dev/null
SELECT container_stop('st-a') \g /dev/null
-- cold start (started)
SELECT container_ensure_running('st-a') \g /dev/null
-- The reaper pauses it (a reap), the next ensure resumes it.
SELECT container_set_pause_after('st-a', 1) \g /dev/null
UPDATE user_container SET last_active_at = now() - interval '5 minutes' WHERE user_id = 'st-a';
SELECT container_reap_idle() \g /dev/null
SELECT is((SELECT status FROM user_container WHERE user_id = 'st-a'), 'paused', 'the workload''s reap paused st-a');
-- resume
SELECT container_ensure_running('st-a') \g /dev/null
SELECT container_restart('st-a') \g /dev/null
SELECT count(*) FROM container_health_check_all() \g /dev/null
-- stop, 22023
SELECT test_helpers.error_of($$SELECT container_stop('')$$) \g /dev/null

SELECT is(pg_temp.calls(), 'cold start=2 health=1 hot ensure=3 reap=1 restart=1 resume=1 stop=2 touch=4',
          'every call is counted once, under what it did');
SELECT is(pg_temp.errors(), 'hot ensure={"22004": 1} stop={"22023": 1} touch={"22023": 1}',
          'errors are counted by SQLSTATE, under their operation');
SELECT is((pg_temp.op('touch')).engine_requests, 0::bigint, 'touch makes no engine request');
SELECT is((pg_temp.op('stop')).engine_requests, 2::bigint, 'the stop made two (an inspect and the stop), the refused one none');
SELECT ok((pg_temp.op('cold start')).engine_requests >= 2 * 2, 'a cold start counts its inspect and start at least');
SELECT ok((pg_temp.op('hot ensure')).engine_requests <= 2, 'a hot ensure makes at most one request each (none when the mirror vouches)');
SELECT ok((pg_temp.op('resume')).engine_requests >= 1, 'a resume counts its unpause');
SELECT is((SELECT count(*) FROM container_stat_operations
            WHERE calls > 0 AND NOT (total_ms > 0 AND max_ms > 0 AND max_ms <= total_ms
                                     AND abs(mean_ms - total_ms / calls) < 1e-6)),
          0::bigint, 'total, mean and max agree for every operation called');
SELECT is((pg_temp.op('backup')).mean_ms, NULL, 'an operation never called has no mean');

-- One more of each kind counts one more.
SELECT container_touch('st-a') \g /dev/null
SELECT is((pg_temp.op('touch')).calls, 5::bigint, 'a further call adds one');

-- The reset.
SELECT container_stat_reset() \g /dev/null
SELECT is(pg_temp.calls(), NULL, 'container_stat_reset() clears the calls');
SELECT is(pg_temp.errors(), NULL, '... and the errors');

-- Like the overview: nothing for PUBLIC.
SELECT is(has_table_privilege('public', 'container_stat_operations', 'SELECT'), false, 'PUBLIC cannot read the statistics');
SELECT is(has_function_privilege('public', 'container_stat_reset()', 'EXECUTE'), false, '... nor reset them');
SELECT is(has_function_privilege('public', 'container_stat_operations_rows()', 'EXECUTE'), false, '... nor call the function behind the view');

SELECT container_remove(user_id) FROM user_container WHERE user_id LIKE 'st-%' \g /dev/null
SELECT container_process_removals() \g /dev/null
SELECT * FROM finish();
