-- container_reap_idle, container_health_check_all and
-- container_set_idle_timeout, called from SQL (the worker calls the same
-- code; test/scenarios/worker.t covers it).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(37);

-- These call the passes themselves, on containers changed behind
-- pg_container's back: the worker's event mirror must not correct the
-- rows first (test/scenarios/state_mirror.t covers it).
ALTER SYSTEM SET pg_container.event_stream = off;
SELECT test_helpers.reload() \g /dev/null
SELECT test_helpers.wait_for('NOT (SELECT in_sync FROM container_mirror)', '60 seconds') \g /dev/null

-- Idle timeouts.
SELECT throws_ok($$SELECT container_set_idle_timeout(NULL, 5)$$, '22004', NULL, 'set_idle_timeout: a NULL user id is 22004');
SELECT throws_ok($$SELECT container_set_idle_timeout('rh a', 5)$$, '22023', NULL, 'set_idle_timeout: a bad user id is 22023');
SELECT throws_ok($$SELECT container_set_idle_timeout('rh-x', 0)$$, '22023',
                 'idle timeout must be between 1 and 10080 minutes', 'set_idle_timeout: 0 minutes is 22023');
SELECT throws_ok($$SELECT container_set_idle_timeout('rh-x', 10081)$$, '22023',
                 'idle timeout must be between 1 and 10080 minutes',
                 'set_idle_timeout: more than a week is refused, so no role can keep a container up for good');
SELECT is((SELECT count(*) FROM user_container WHERE user_id = 'rh-x'), 0::bigint, '... and makes no row');
SELECT throws_ok($$SELECT container_set_idle_timeout('rh-x', NULL)$$, '22004', NULL, 'set_idle_timeout: NULL minutes is 22004');
SELECT container_set_idle_timeout('rh-signup', 240) \g /dev/null
SELECT is((SELECT status || ' ' || idle_timeout_min || ' ' || coalesce(container_id, 'none') FROM user_container WHERE user_id = 'rh-signup'),
          'stopped 240 none', 'setting the timeout of a new user makes its row, without a container');
SET pg_container.default_idle_timeout = '45min';
SELECT container_ensure_running('rh-default') \g /dev/null
SELECT is((SELECT idle_timeout_min FROM user_container WHERE user_id = 'rh-default'), 45,
          'new rows take pg_container.default_idle_timeout');
RESET pg_container.default_idle_timeout;

-- Reaping: idle past its own timeout goes, the rest stays.
SELECT container_ensure_running(u) FROM unnest(ARRAY['rh-idle', 'rh-fresh', 'rh-long', 'rh-gone']) u \g /dev/null
UPDATE user_container SET last_active_at = now() - interval '2 hours'
 WHERE user_id IN ('rh-idle', 'rh-long', 'rh-gone', 'rh-default');
SELECT container_set_idle_timeout('rh-long', 180) \g /dev/null
SELECT test_helpers.docker('rm -f mosaic-user-rh-gone') \g /dev/null
SELECT set_eq($$SELECT u FROM container_reap_idle() u WHERE u LIKE 'rh-%'$$,
              ARRAY['rh-idle', 'rh-gone', 'rh-default'],
              'reap returns the users idle past their timeout, including one whose container vanished');
SELECT is(test_helpers.state_of('mosaic-user-rh-idle'), 'exited', 'an idle container is stopped');
SELECT is(test_helpers.containers_of('rh-idle'), 'mosaic-user-rh-idle', '... not removed');
SELECT is((SELECT string_agg(user_id || '=' || status, ' ' ORDER BY user_id) FROM user_container
            WHERE user_id IN ('rh-idle', 'rh-fresh', 'rh-long', 'rh-gone')),
          'rh-fresh=running rh-gone=stopped rh-idle=stopped rh-long=running',
          'the table records exactly the stopped ones');
SELECT is(test_helpers.state_of('mosaic-user-rh-fresh') || ' ' || test_helpers.state_of('mosaic-user-rh-long'), 'running running',
          'an active container, and one within its longer timeout, keep running');
SELECT is_empty($$SELECT u FROM container_reap_idle() u WHERE u LIKE 'rh-%'$$, 'a second sweep finds nothing');

-- A container that fails to stop gets a WARNING; the sweep goes on.
SELECT container_ensure_running(u) FROM unnest(ARRAY['rh-fail', 'rh-ok1', 'rh-ok2']) u \g /dev/null
UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id IN ('rh-fail', 'rh-ok1', 'rh-ok2');
SELECT container_id AS fail_id FROM user_container WHERE user_id = 'rh-fail' \gset
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules(format('[{"method": "POST", "path": "/containers/%s/stop", "action": "respond", "status": 500, "message": "driver refused to stop"}]', :'fail_id')::jsonb) \g /dev/null
SELECT test_helpers.sh(format('psql -X -qAt -h %s -p %s -d pgc_test -c %s', (SELECT work_dir FROM test_helpers.config), current_setting('port'),
       test_helpers.shell_quote(format('SET pg_container.docker_host = %L; SELECT u FROM container_reap_idle() u WHERE u LIKE ''rh-%%'' ORDER BY 1',
                                   current_setting('pg_container.docker_host'))))) AS sweep_output \gset
SELECT matches(:'sweep_output'::text, 'WARNING:  could not stop the idle container of user "rh-fail"',
               'a container that fails to stop gets a WARNING naming the user');
SELECT matches(:'sweep_output'::text, 'DETAIL:  Docker engine returned HTTP 500: driver refused to stop',
               '... and the error');
SELECT matches(:'sweep_output'::text, E'rh-ok1\nrh-ok2', '... while the others are stopped and returned');
SELECT is((SELECT string_agg(user_id || '=' || status, ' ' ORDER BY user_id) FROM user_container
            WHERE user_id IN ('rh-fail', 'rh-ok1', 'rh-ok2')),
          'rh-fail=running rh-ok1=stopped rh-ok2=stopped', '... and recorded, the failed one left running');
SELECT test_helpers.use_dockerd() \g /dev/null

-- Stops run in parallel, at most max_parallel_requests at once.  PID 1 of
-- pgc-sleeper:test ignores SIGTERM, so every stop lasts stop_timeout.
SET pg_container.image = 'pgc-sleeper:test';
SET pg_container.ready_path = '';
SELECT container_ensure_running('rh-par' || i) FROM generate_series(1, 6) i \g /dev/null
RESET pg_container.image;
RESET pg_container.ready_path;
UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id LIKE 'rh-par%' AND user_id <= 'rh-par3';
SET pg_container.stop_timeout = '1s';
SET pg_container.max_parallel_requests = 2;
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT is((SELECT count(*)::int FROM container_reap_idle() u WHERE u LIKE 'rh-par%'), 3, 'three idle sleepers are reaped');
SELECT is(test_helpers.fault_max_in_flight(), 2, '... never more than max_parallel_requests (2) stops at once');
UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id LIKE 'rh-par%';
RESET pg_container.max_parallel_requests;
SELECT test_helpers.use_dockerd() \g /dev/null
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT is((SELECT count(*)::int FROM container_reap_idle() u WHERE u LIKE 'rh-par%'), 3, 'the other three are reaped');
SELECT is(test_helpers.fault_max_in_flight(), 3, '... all three stops at once with the default of 16');
SELECT test_helpers.use_dockerd() \g /dev/null
RESET pg_container.stop_timeout;

-- Health: one request for everyone, one row per running user.
SELECT container_ensure_running(u) FROM unnest(ARRAY['rh-ok', 'rh-behind', 'rh-removed']) u \g /dev/null
SET pg_container.image = 'pgc-unhealthy:test';
SELECT container_ensure_running('rh-sick') \g /dev/null
RESET pg_container.image;
SELECT ok(test_helpers.wait_for($$test_helpers.inspect('mosaic-user-rh-sick', '{{.State.Health.Status}}') = 'unhealthy'$$, '20 seconds'),
          'Docker marks the container with the failing HEALTHCHECK unhealthy');
SELECT test_helpers.docker('stop -t 1 mosaic-user-rh-behind') \g /dev/null
SELECT test_helpers.docker('rm -f mosaic-user-rh-removed') \g /dev/null
SELECT test_helpers.use_fault_engine() \g /dev/null
CREATE TEMP TABLE rh_running AS SELECT user_id FROM user_container WHERE status = 'running';
CREATE TEMP TABLE rh_health AS SELECT * FROM container_health_check_all();
SELECT is(test_helpers.fault_count('^[A-Z]+ /v'), 1, 'the health check makes one Docker request for all users');
SELECT is(test_helpers.fault_count('^GET /v[0-9.]+/containers/json\?all=1&filters='), 1, '... listing the containers by our label');
SELECT test_helpers.use_dockerd() \g /dev/null
SELECT results_eq($$SELECT user_id, healthy, error FROM rh_health WHERE user_id IN ('rh-ok', 'rh-behind', 'rh-removed', 'rh-sick') ORDER BY 1$$,
                  $$VALUES ('rh-behind', false, 'container not running'),
                           ('rh-ok', true, NULL),
                           ('rh-removed', false, 'container not found'),
                           ('rh-sick', false, 'container healthcheck failed')$$,
                  'each running user is reported: healthy, not running, not found, or healthcheck failed');
SELECT bag_eq($$SELECT user_id FROM rh_health$$, $$SELECT user_id FROM rh_running$$,
              'there is one row per user that was running, and none for the others');
SELECT is((SELECT string_agg(user_id || '=' || status || '/' || healthy || '/' || coalesce(health_error, '-'), ' ' ORDER BY user_id)
             FROM user_container WHERE user_id IN ('rh-ok', 'rh-behind', 'rh-removed', 'rh-sick')),
          'rh-behind=stopped/false/container not running rh-ok=running/true/- rh-removed=stopped/false/container not found rh-sick=running/false/container healthcheck failed',
          'the outcome is recorded in the rows, and rows whose container is down become stopped');
SELECT ok((SELECT bool_and(health_checked_at > now() - interval '1 minute') FROM user_container
            WHERE user_id IN ('rh-ok', 'rh-behind', 'rh-removed', 'rh-sick')), '... with the time of the check');
SELECT is_empty($$SELECT * FROM container_health_check_all() WHERE user_id IN ('rh-behind', 'rh-removed')$$,
                'stopped rows are no longer checked');

-- One judgement (reconcile.c) whichever path sees the container: the
-- health pass words a stop as the mirror does, and a restarting container
-- (here one the list reports so) is up and unhealthy, not down.
SELECT is((SELECT event || ' ' || detail::text FROM container_event WHERE user_id = 'rh-behind' AND event = 'stopped' ORDER BY id DESC LIMIT 1),
          'stopped {"reason": "container not running", "source": "list"}', 'the health pass records a stop in the one event-detail schema');
SELECT container_ensure_running('rh-restart') \g /dev/null
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules(jsonb_build_array(jsonb_build_object(
           'method', 'GET', 'path', '^/v[0-9.]+/containers/json', 'action', 'respond', 'times', 1,
           'body', (SELECT jsonb_agg(CASE WHEN c -> 'Names' ? '/mosaic-user-rh-restart'
                                          THEN c || '{"State": "restarting", "Status": "Restarting (1) 1 second ago"}' ELSE c END)::text
                      FROM jsonb_array_elements(test_helpers.sh(format('curl -s --unix-socket %s http://docker/containers/json?all=1',
                                                                       test_helpers.docker_socket()))::jsonb) c)))) \g /dev/null
SELECT is((SELECT healthy::text || '/' || error FROM container_health_check_all() WHERE user_id = 'rh-restart'),
          'false/container restarting', 'a restarting container is reported up and unhealthy');
SELECT test_helpers.use_dockerd() \g /dev/null
SELECT is((SELECT status || '/' || healthy FROM user_container WHERE user_id = 'rh-restart'), 'running/false', '... its row stays running, unhealthy');
SELECT is((SELECT event || ' ' || detail::text FROM container_event WHERE user_id = 'rh-restart' ORDER BY id DESC LIMIT 1),
          'unhealthy {"error": "container restarting", "source": "list"}', '... with an unhealthy event');
SELECT container_remove('rh-restart', keep_volume => false) \g /dev/null

-- Recovery after the health pass: ensure brings the users back.
SELECT lives_ok($$SELECT container_ensure_running('rh-behind'), container_ensure_running('rh-removed')$$,
                'ensure brings back a container stopped or removed behind our back');
SELECT is(test_helpers.state_of('mosaic-user-rh-behind') || ' ' || test_helpers.state_of('mosaic-user-rh-removed'), 'running running',
          '... both run');

-- The functions are not for PUBLIC.
SELECT ok(NOT has_function_privilege('public', 'container_reap_idle()', 'EXECUTE')
          AND NOT has_function_privilege('public', 'container_health_check_all()', 'EXECUTE')
          AND NOT has_function_privilege('public', 'container_set_idle_timeout(text, integer)', 'EXECUTE'),
          'reap, health check and set_idle_timeout are not executable by PUBLIC');
SELECT container_stop('rh-sick') \g /dev/null

ALTER SYSTEM RESET pg_container.event_stream;
SELECT test_helpers.reload() \g /dev/null
SELECT test_helpers.wait_for('(SELECT in_sync FROM container_mirror)', '60 seconds') \g /dev/null

SELECT * FROM finish();
