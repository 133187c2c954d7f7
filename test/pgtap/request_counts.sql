-- The fewest round trips: how many Docker requests and table writes each
-- call makes, counted from outside by the fault engine (which passes every
-- request through to dockerd) and by PostgreSQL's own statistics.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(25);

SELECT container_ensure_running('rc-user') \g /dev/null
SELECT container_id AS rc_id FROM user_container WHERE user_id = 'rc-user' \gset
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT container_ensure_running('rc-user') \g /dev/null
SELECT test_helpers.fault_reset() \g /dev/null

-- The table writes a call makes: the change in this backend's pending
-- counters (which PostgreSQL 15 keeps across transactions until it flushes).
CREATE TEMP TABLE rc_counts AS
SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_ins AS ins
  FROM pg_stat_xact_user_tables WHERE relid = 'user_container'::regclass;
CREATE FUNCTION pg_temp.writes_since() RETURNS text LANGUAGE sql AS $$
    SELECT (s.n_tup_upd - c.upd) || ' updates, ' || (s.n_tup_hot_upd - c.hot) || ' HOT, ' || (s.n_tup_ins - c.ins) || ' inserts'
      FROM pg_stat_xact_user_tables s, rc_counts c WHERE s.relid = 'user_container'::regclass $$;
CREATE FUNCTION pg_temp.mark_writes() RETURNS void LANGUAGE sql AS $$
    UPDATE rc_counts SET upd = s.n_tup_upd, hot = s.n_tup_hot_upd, ins = s.n_tup_ins
      FROM pg_stat_xact_user_tables s WHERE s.relid = 'user_container'::regclass $$;

-- ensure on a running container, with no event mirror in sync for this
-- session (the worker watches dockerd, this session the fault engine):
-- one inspect by id and one UPDATE (HOT).
BEGIN;
SELECT pg_temp.mark_writes() \g /dev/null
SELECT container_ensure_running('rc-user') \g /dev/null
SELECT is(pg_temp.writes_since(), '1 updates, 1 HOT, 0 inserts', 'ensure on a running container writes one row, with a HOT UPDATE');
COMMIT;
SELECT is(test_helpers.fault_count('.'), 1, '... and makes one Docker request');
SELECT is(test_helpers.fault_count('^GET /v[0-9.]+/containers/' || :'rc_id' || '/json$'), 1, '... an inspect by id');

-- touch and status: no Docker request; touch is one HOT UPDATE.
SELECT test_helpers.fault_reset() \g /dev/null
BEGIN;
SELECT pg_temp.mark_writes() \g /dev/null
SELECT container_touch('rc-user') \g /dev/null
SELECT * FROM container_status('rc-user') \g /dev/null
SELECT is(pg_temp.writes_since(), '1 updates, 1 HOT, 0 inserts', 'touch is one HOT UPDATE');
COMMIT;
SELECT is(test_helpers.fault_count('.'), 0, 'touch and status make no Docker request');

-- stop: an inspect, whose labels must name the user, and the stop;
-- ensure on the stopped container: inspect and start.
SELECT test_helpers.fault_reset() \g /dev/null
SELECT container_stop('rc-user') \g /dev/null
SELECT is(test_helpers.fault_count('.') || ' ' || test_helpers.fault_count('^GET /v[0-9.]+/containers/' || :'rc_id' || '/json') || ' ' ||
          test_helpers.fault_count('^POST /v[0-9.]+/containers/' || :'rc_id' || '/stop'), '2 1 1',
          'stop makes two Docker requests: an inspect of the recorded id and the stop');
SELECT test_helpers.fault_reset() \g /dev/null
SELECT container_ensure_running('rc-user') \g /dev/null
-- (and, with a network per user, attaches the API container to it again:
-- a recreated API container has lost its attachments)
SELECT is(test_helpers.fault_count('.'), 3, 'ensure on a stopped container makes three Docker requests');
SELECT is(test_helpers.fault_count('^POST /v[0-9.]+/networks/mosaic-user-rc-user-net/connect$'), 1, '... the third attaching the API container');
SELECT is(test_helpers.fault_count('^POST /v[0-9.]+/containers/' || :'rc_id' || '/start$'), 1, '... an inspect and a start');

-- Only a missing container pays for the lookup by name, the labelled
-- volume and the create.
SELECT test_helpers.docker('rm -f mosaic-user-rc-user') \g /dev/null
SELECT test_helpers.fault_reset() \g /dev/null
SELECT container_ensure_running('rc-user') \g /dev/null
SELECT is(test_helpers.fault_count('.'), 7, 'ensure on a missing container makes seven Docker requests');
SELECT is(test_helpers.fault_count('^GET /v[0-9.]+/networks/mosaic-user-rc-user-net$') || ' ' ||
          test_helpers.fault_count('^POST /v[0-9.]+/networks/mosaic-user-rc-user-net/connect$'),
          '1 1', '... the user''s network, found, and the API container attached to it');
SELECT is(test_helpers.fault_count('^GET /v[0-9.]+/containers/mosaic-user-rc-user/json$') || ' ' ||
          test_helpers.fault_count('^POST /v[0-9.]+/volumes/create') || ' ' ||
          test_helpers.fault_count('^POST /v[0-9.]+/containers/create') || ' ' ||
          test_helpers.fault_count('/start$'),
          '1 1 1 1', '... the inspect by id, one by name, the volume, the create and the start');

-- Health: one request whatever the number of users.
SELECT test_helpers.fault_reset() \g /dev/null
SELECT count(*) AS running_users FROM user_container WHERE status = 'running' \gset
SELECT count(*) FROM container_health_check_all() \g /dev/null
SELECT is(test_helpers.fault_count('.'), 1, format('the health check makes one Docker request for %s running users', :running_users));

-- Reap: one list, whose labels say which containers are the users', and
-- the stops, all in flight at once.
SELECT container_ensure_running('rc-idle' || i) FROM generate_series(1, 3) i \g /dev/null
UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id LIKE 'rc-idle%';
SELECT test_helpers.fault_reset() \g /dev/null
SELECT count(*) FROM container_reap_idle() \g /dev/null
SELECT is(test_helpers.fault_count('.'), 4, 'a reap of three idle containers makes four Docker requests');
SELECT is(test_helpers.fault_count('^GET /v[0-9.]+/containers/json'), 1, '... one list');
SELECT is(test_helpers.fault_count('^POST /v[0-9.]+/containers/[0-9a-f]+/stop'), 3, '... the stops');
SELECT is(test_helpers.fault_max_in_flight(), 3, '... in parallel');

-- Keep-alive: a new session negotiates the version once and keeps one
-- connection to the engine for all its calls.
SELECT test_helpers.fault_reset() \g /dev/null
SELECT test_helpers.sh(format('psql -X -qAt -h %s -p %s -d pgc_test -c %s -c %s',
       (SELECT work_dir FROM test_helpers.config), current_setting('port'),
       test_helpers.shell_quote(format('SET pg_container.docker_host = %L', current_setting('pg_container.docker_host'))),
       test_helpers.shell_quote('DO $$ BEGIN FOR i IN 1..20 LOOP PERFORM container_ensure_running(''rc-user''); END LOOP;
                                     PERFORM container_touch(''rc-user'');
                                     FOR i IN 1..5 LOOP PERFORM count(*) FROM container_health_check_all(); END LOOP; END $$'))) \g /dev/null
SELECT is(test_helpers.fault_count('^GET /_ping'), 1, 'a new session negotiates the API version once');
SELECT is(test_helpers.fault_count('^[A-Z]+ /v'), 25, '... then makes 25 requests for 26 calls');
SELECT is(test_helpers.fault_connections(), 1, '... all over one kept-alive connection to the engine');

-- With the worker's event mirror in sync on the same engine as this
-- session, a hot ensure asks Docker nothing: one UPDATE.  (The worker's
-- own requests, its stream, pings and lists, are left out of the count.)
SELECT 'unix://' || test_helpers.fault_socket() AS fault_host \gset
ALTER SYSTEM SET pg_container.docker_host = :'fault_host';
SELECT test_helpers.reload() \g /dev/null
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT ok(test_helpers.wait_for('(SELECT in_sync FROM container_mirror)', '60 seconds'),
          'the worker''s event mirror gets in sync through the fault engine');
CREATE FUNCTION pg_temp.session_requests() RETURNS integer LANGUAGE sql AS $$
    SELECT count(*)::integer FROM jsonb_array_elements(test_helpers.fault_log()) r
     WHERE r ->> 'path' !~ '^(/v[0-9.]+)?/(events|_ping|containers/json)' $$;
SELECT test_helpers.fault_reset() \g /dev/null
BEGIN;
SELECT pg_temp.mark_writes() \g /dev/null
SELECT container_ensure_running('rc-user') \g /dev/null
SELECT is(pg_temp.writes_since(), '1 updates, 1 HOT, 0 inserts', 'in sync, ensure on a running container writes one row, with a HOT UPDATE');
COMMIT;
SELECT is(pg_temp.session_requests(), 0, '... and makes no Docker request');
SELECT test_helpers.fault_reset() \g /dev/null
SELECT container_ensure_running_checked('rc-user') \g /dev/null
SELECT is(pg_temp.session_requests(), 1, 'a checked ensure inspects even in sync');

-- Out of sync (the mirror turned off): the inspect again.
ALTER SYSTEM SET pg_container.event_stream = off;
SELECT test_helpers.reload() \g /dev/null
SELECT test_helpers.wait_for('NOT (SELECT in_sync FROM container_mirror)', '60 seconds') \g /dev/null
SELECT test_helpers.fault_reset() \g /dev/null
SELECT container_ensure_running('rc-user') \g /dev/null
SELECT is(pg_temp.session_requests(), 1, 'out of sync, ensure on a running container makes one Docker request');
ALTER SYSTEM RESET pg_container.event_stream;
ALTER SYSTEM RESET pg_container.docker_host;
SELECT test_helpers.reload() \g /dev/null
SELECT test_helpers.use_dockerd() \g /dev/null
SELECT test_helpers.wait_for('(SELECT in_sync FROM container_mirror)', '60 seconds') \g /dev/null

SELECT * FROM finish();
