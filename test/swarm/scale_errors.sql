-- A reap on a swarm scales the idle users' services together
-- (swarm_scale_many), reading each one's inspect in a subtransaction of its
-- own (swarm_api.c's scale_request): an answer that cannot be read is that
-- user's error, recorded, while the other user is still stopped; and a
-- cancel during the reap stays a cancel, not a recorded error.
\set ON_ERROR_STOP 1
SET client_min_messages = error;
SELECT plan(6);

CREATE FUNCTION pg_temp.replicas(user_id text) RETURNS text LANGUAGE sql AS $$
    SELECT test_helpers.docker(format('service inspect -f {{.Spec.Mode.Replicated.Replicas}} mosaic-user-%s', user_id)) $$;
CREATE FUNCTION pg_temp.reaped() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT string_agg(u, ' ' ORDER BY u) FROM container_reap_idle() u);
EXCEPTION WHEN OTHERS OR query_canceled THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT container_ensure_running('se-sw' || i) FROM generate_series(1, 2) i \g /dev/null
SELECT container_id AS sid1 FROM user_container WHERE user_id = 'se-sw1' \gset
SELECT container_id AS sid2 FROM user_container WHERE user_id = 'se-sw2' \gset

-- An inspect answered with JSON cut short, for one of the two.
UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id LIKE 'se-sw_';
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules(jsonb_build_array(jsonb_build_object(
    'method', 'GET', 'path', '^/v[0-9.]+/services/' || :'sid1' || '$', 'action', 'garbage', 'times', 1))) \g /dev/null
SELECT is(pg_temp.reaped(), 'se-sw2',
          'a service whose inspect cannot be read does not fail the reap: the other user is stopped');
SELECT is(pg_temp.replicas('se-sw1') || ' ' || pg_temp.replicas('se-sw2'), '1 0', '... and only that one');
SELECT is((SELECT detail->>'operation' FROM container_event WHERE user_id = 'se-sw1' AND event = 'error'
            ORDER BY id DESC LIMIT 1), 'reap', '... the unreadable one is recorded as a failed reap');
SELECT is((SELECT status FROM user_container WHERE user_id = 'se-sw1'), 'running', '... and stays running');

-- A cancel (statement_timeout) while the inspects wait: the reap is
-- cancelled, nothing is recorded as a failed stop.
SELECT test_helpers.fault_reset() \g /dev/null
SELECT test_helpers.fault_rules(jsonb_build_array(jsonb_build_object(
    'method', 'GET', 'path', '^/v[0-9.]+/services/' || :'sid1' || '$', 'action', 'hang', 'times', 1))) \g /dev/null
SELECT count(*) AS errors_before FROM container_event WHERE user_id = 'se-sw1' AND event = 'error' \gset
SET statement_timeout = '2s';
SELECT is(pg_temp.reaped(), '57014: canceling statement due to statement timeout', 'a cancel during the reap stays a cancel');
RESET statement_timeout;
SELECT is((SELECT count(*) FROM container_event WHERE user_id = 'se-sw1' AND event = 'error'), :'errors_before'::bigint,
          '... and records no failed stop');
SELECT test_helpers.use_dockerd() \g /dev/null

SELECT container_remove('se-sw' || i, keep_volume => false) FROM generate_series(1, 2) i \g /dev/null
SELECT test_helpers.wait_removed('se-sw' || i) FROM generate_series(1, 2) i \g /dev/null
SELECT * FROM finish();
