-- Requests to the swarm's manager per call, counted by the fault engine in
-- front of it (test/lib/swarm.sh), and a stale Version.Index: an update
-- answered "update out of sequence" is read again and retried, a bounded
-- number of times.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(21);

-- Removals earlier files committed are carried out by the sweeps (this
-- database has no worker): here, before anything is counted.
SELECT container_process_removals() \g /dev/null
SELECT container_ensure_running('rc-sw') \g /dev/null
SELECT container_id AS sid FROM user_container WHERE user_id = 'rc-sw' \gset
SELECT test_helpers.use_fault_engine() \g /dev/null
-- (the session's first request negotiates the API version)
SELECT container_ensure_running('rc-sw') \g /dev/null
SELECT test_helpers.fault_reset() \g /dev/null

-- The hot path: ensure on a running user reads the service, once.
SELECT container_ensure_running('rc-sw') \g /dev/null
SELECT is(test_helpers.fault_count('.'), 1, 'ensure on a running user makes one request');
SELECT is(test_helpers.fault_count('^GET /v[0-9.]+/services/' || :'sid' || '$'), 1, '... an inspect of the recorded service');

-- Health: two lists, whatever the number of users.
SELECT container_ensure_running('rc-sw' || i) FROM generate_series(1, 3) i \g /dev/null
SELECT test_helpers.fault_reset() \g /dev/null
SELECT count(*) FROM container_health_check_all() \g /dev/null
SELECT is(test_helpers.fault_count('.'), 2, 'the health check of four running users makes two requests');
SELECT is(test_helpers.fault_count('^GET /v[0-9.]+/services\?status=true&filters=') || ' ' ||
          test_helpers.fault_count('^GET /v[0-9.]+/tasks\?filters=.*desired-state.*running'),
          '1 1', '... the services with their task counts, and the tasks meant to run');

-- Stop: one update, carrying the version it read.
SELECT test_helpers.fault_reset() \g /dev/null
SELECT container_stop('rc-sw') \g /dev/null
SELECT is(test_helpers.fault_count('^POST /v[0-9.]+/services/' || :'sid' || '/update\?version=[0-9]+$'), 1,
          'stop makes one update, with the version');
SELECT is(test_helpers.fault_count('^(POST|DELETE) /v[0-9.]+/services/' || :'sid' || '$'), 0, '... and removes nothing');

-- Warm ensure: the pinned node is checked, then one update.
SELECT test_helpers.fault_reset() \g /dev/null
SELECT container_ensure_running('rc-sw') \g /dev/null
SELECT is(test_helpers.fault_count('^POST /v[0-9.]+/services/create'), 0, 'ensure on a stopped user creates nothing');
SELECT is(test_helpers.fault_count('^GET /v[0-9.]+/nodes/[a-z0-9]+$') || ' ' ||
          test_helpers.fault_count('^POST /v[0-9.]+/services/' || :'sid' || '/update'),
          '1 1', '... it checks the pinned node and scales to 1 with one update');

-- A stale version: the manager answers the first update "out of sequence".
SELECT test_helpers.fault_reset() \g /dev/null
SELECT test_helpers.fault_rules(jsonb_build_array(jsonb_build_object(
    'method', 'POST', 'path', '^/v[0-9.]+/services/[a-z0-9]+/update', 'action', 'respond',
    'status', 500, 'message', 'rpc error: code = Unknown desc = update out of sequence', 'times', 1))) \g /dev/null
SELECT lives_ok($$SELECT container_stop('rc-sw')$$, 'a stop whose update meets a stale version succeeds');
SELECT is(test_helpers.fault_count('^POST /v[0-9.]+/services/' || :'sid' || '/update'), 2, '... by reading the service again and updating once more');
SELECT is(test_helpers.docker('service inspect -f {{.Spec.Mode.Replicated.Replicas}} mosaic-user-rc-sw'), '0', '... and the service is scaled to 0');

-- One that stays stale is given up on, with a serialization failure.
SELECT test_helpers.fault_reset() \g /dev/null
SELECT test_helpers.fault_rules(jsonb_build_array(jsonb_build_object(
    'method', 'POST', 'path', '^/v[0-9.]+/services/[a-z0-9]+/update', 'action', 'respond',
    'status', 500, 'message', 'rpc error: code = Unknown desc = update out of sequence'))) \g /dev/null
SELECT is(test_helpers.error_of($$SELECT container_ensure_running('rc-sw')$$),
          '40001: could not update service "mosaic-user-rc-sw": it changed under every one of 5 attempts',
          'an update that is out of sequence five times fails with 40001');
SELECT is(test_helpers.fault_count('^POST /v[0-9.]+/services/' || :'sid' || '/update'), 5, '... after five updates');
SELECT test_helpers.use_dockerd() \g /dev/null

-- Reap: the scale-downs run in parallel, as a plain engine's stops do, at
-- most max_parallel_requests at once.  Each update is held up a little, so
-- that those sent together are seen together.
UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id LIKE 'rc-sw_';
SET pg_container.max_parallel_requests = 2;
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_reset() \g /dev/null
SELECT test_helpers.fault_rules(jsonb_build_array(jsonb_build_object(
    'method', 'POST', 'path', '^/v[0-9.]+/services/[a-z0-9]+/update', 'action', 'pass', 'delay_ms', 300))) \g /dev/null
SELECT is(array(SELECT * FROM container_reap_idle() ORDER BY 1), ARRAY['rc-sw1', 'rc-sw2', 'rc-sw3'], 'reaping stops the three idle users');
SELECT is(test_helpers.fault_max_in_flight(), 2, '... never more than max_parallel_requests (2) requests at once');
SELECT is(test_helpers.fault_count('^POST /v[0-9.]+/services/[a-z0-9]+/update\?version=[0-9]+$'), 3, '... one update each');
SELECT is(test_helpers.docker('service ls --filter label=pg_container.user_id --format ''{{.Name}} {{.Replicas}}'' | grep rc-sw[0-9] | sort'),
          E'mosaic-user-rc-sw1 0/0\nmosaic-user-rc-sw2 0/0\nmosaic-user-rc-sw3 0/0', '... all scaled to 0');
RESET pg_container.max_parallel_requests;
SELECT test_helpers.use_dockerd() \g /dev/null
SELECT container_ensure_running('rc-sw' || i) FROM generate_series(1, 3) i \g /dev/null
-- With the default of 16, all three at once; a stale version on one is
-- read again and retried.
UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id LIKE 'rc-sw_';
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_reset() \g /dev/null
SELECT test_helpers.fault_rules(jsonb_build_array(
    jsonb_build_object('method', 'POST', 'path', '^/v[0-9.]+/services/[a-z0-9]+/update', 'action', 'respond',
                       'status', 500, 'message', 'rpc error: code = Unknown desc = update out of sequence', 'times', 1,
                       'delay_ms', 300),
    jsonb_build_object('method', 'POST', 'path', '^/v[0-9.]+/services/[a-z0-9]+/update', 'action', 'pass', 'delay_ms', 300))) \g /dev/null
SELECT is(array(SELECT * FROM container_reap_idle() ORDER BY 1), ARRAY['rc-sw1', 'rc-sw2', 'rc-sw3'], 'with a stale version on one, the reap still stops all three');
SELECT is(test_helpers.fault_max_in_flight(), 3, '... all three at once with the default of 16');
SELECT is(test_helpers.fault_count('^POST /v[0-9.]+/services/[a-z0-9]+/update\?version=[0-9]+$'), 4, '... the stale one updated once more');
SELECT is(test_helpers.docker('service ls --filter label=pg_container.user_id --format ''{{.Name}} {{.Replicas}}'' | grep rc-sw[0-9] | sort'),
          E'mosaic-user-rc-sw1 0/0\nmosaic-user-rc-sw2 0/0\nmosaic-user-rc-sw3 0/0', '... all scaled to 0');
SELECT test_helpers.use_dockerd() \g /dev/null

SELECT container_remove('rc-sw' || i, keep_volume => false) FROM generate_series(1, 3) i \g /dev/null
SELECT container_remove('rc-sw', keep_volume => false) \g /dev/null
SELECT * FROM finish();
