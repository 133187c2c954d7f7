-- Errors as PostgreSQL expects them: bounded retries, messages that say
-- what was met, and the recreate path of container_restart keeping the
-- original error (SQLSTATE, detail, hint), a cancel staying a cancel, and
-- nothing named <name>-previous left behind.  The fault engine makes Docker
-- misbehave on demand.
\set ON_ERROR_STOP 1
SET client_min_messages = error;
SELECT plan(15);

-- SQLSTATE, message, detail and hint of a statement's error, " | " between.
CREATE FUNCTION pg_temp.full_error_of(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
    detail text;
    hint text;
    context text;
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS OR query_canceled THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT,
                            context = PG_EXCEPTION_CONTEXT;
    RETURN state || ': ' || message || ' | ' || coalesce(detail, '') || ' | ' || coalesce(hint, '')
           || ' | ' || coalesce(context, '');
END
$$;

-- An engine that answers every network create with 409 and never shows the
-- network: the create is tried a bounded number of times, then an error.
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules('[{"method": "POST", "path": "/networks/create", "action": "respond", "status": 409, "message": "network with name mosaic-user-ep-409-net already exists"}]');
SET statement_timeout = '20s';
SELECT matches(pg_temp.full_error_of($$SELECT container_ensure_running('ep-409')$$),
               '^58000: could not create network "mosaic-user-ep-409-net": the engine answered HTTP 409 to each of 3 attempts \| The engine said "network with name mosaic-user-ep-409-net already exists", yet showed no network of that name\.',
               'a network create that meets 409 for ever ends in an error');
SELECT is(test_helpers.fault_count('^POST .*/networks/create'), 3, '... after 3 creates');
RESET statement_timeout;

-- Every subnet taken: the error says subnets, not host ports.
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules('[{"method": "POST", "path": "/networks/create", "action": "respond", "status": 403, "message": "Pool overlaps with other one on this address space"}]');
SELECT matches(pg_temp.full_error_of($$SELECT container_ensure_running('ep-subnet')$$),
               '^58000: could not start container "mosaic-user-ep-subnet" after 16 attempts \| Of 16 attempts, 16 met a subnet of pg_container.network_pool held by another network, 0 a host port taken outside pg_container, 0 a container that vanished\. \| Check which networks hold subnets',
               'an ensure whose every subnet is taken says so, not "a taken host port"');
SELECT is(test_helpers.fault_count('^POST .*/containers/create'), 0, '... and created no container');
SELECT test_helpers.use_dockerd() \g /dev/null

-- The recreate path of container_restart: an outdated container is set
-- aside as <name>-previous while its replacement is tried.
SELECT container_ensure_running('ep-roll') \g /dev/null
SELECT container_id AS roll_id FROM user_container WHERE user_id = 'ep-roll' \gset
INSERT INTO container_profile (name, image) VALUES ('ep-broken', 'pgc-crashloop:test');
SELECT container_set_profile('ep-roll', 'ep-broken') \g /dev/null

-- A replacement that never gets ready: its own error, detail and all.
SET pg_container.ready_timeout = '3s';
SELECT matches(pg_temp.full_error_of($$SELECT container_restart('ep-roll')$$),
               '^55000: container "mosaic-user-ep-roll" did not become ready within 3000 ms \| The last GET \S+ (answered|failed).* \| pg_container.ready_path and pg_container.ready_timeout set the check.* \| restarting the container of user "ep-roll" from image "pgc-crashloop:test": the new container failed, so the previous container is back',
               'a failed replacement raises its own error: SQLSTATE, message and detail, with a context line');
SELECT is(test_helpers.inspect('mosaic-user-ep-roll', '{{.Id}} {{.State.Status}}'), :'roll_id' || ' running',
          '... and the previous container is back, running');

-- A cancel (here statement_timeout) during the readiness wait stays a
-- cancel, and brings the previous container back by name only: no start,
-- no second readiness wait.
SET pg_container.ready_timeout = '20s';
SET statement_timeout = '2s';
SELECT clock_timestamp() AS cancel_start \gset
-- (the first CONTEXT line is ours; the callers' follow it)
SELECT is(split_part(pg_temp.full_error_of($$SELECT container_restart('ep-roll')$$), E'\n', 1),
          '57014: canceling statement due to statement timeout |  |  | ' ||
          'restarting the container of user "ep-roll" from image "pgc-crashloop:test": cancelled; the new container was removed and the previous container has its name back, stopped',
          'a cancel during a recreation stays a cancel');
RESET statement_timeout;
SELECT cmp_ok(extract(epoch FROM clock_timestamp() - :'cancel_start'::timestamptz)::numeric, '<', 4.0,
              '... and returns at once, with no readiness wait after it');
SELECT is(test_helpers.inspect('mosaic-user-ep-roll', '{{.Id}}') || ' ' || test_helpers.containers_of('ep-roll'),
          :'roll_id' || ' mosaic-user-ep-roll',
          '... the previous container has its name back, and the new one is gone');
SELECT is((SELECT url IS NOT NULL FROM container_ensure_running('ep-roll')), true,
          '... and the next ensure starts it');

-- Bringing the previous container back fails (the engine refuses the
-- rename back): the error says so, and the next restart settles what was
-- left aside.
SET pg_container.ready_timeout = '3s';
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules('[{"method": "POST", "path": "/rename", "action": "pass", "times": 1},
                                  {"method": "POST", "path": "/rename", "action": "respond", "status": 500, "message": "injected rename failure"}]');
SELECT matches(pg_temp.full_error_of($$SELECT container_restart('ep-roll')$$),
               '^55000: container "mosaic-user-ep-roll" did not become ready.*bringing the previous container back failed too: Docker engine returned HTTP 500: injected rename failure',
               'a restore that fails keeps the replacement''s error, and adds what failed');
SELECT is(test_helpers.containers_of('ep-roll'), 'mosaic-user-ep-roll-previous', '... leaving the previous container aside');
SELECT test_helpers.use_dockerd() \g /dev/null
UPDATE container_profile SET image = NULL, memory_limit_mb = 64 WHERE name = 'ep-broken';
SELECT lives_ok($$SELECT container_restart('ep-roll')$$, 'the next restart works');
SELECT is(test_helpers.containers_of('ep-roll'), 'mosaic-user-ep-roll', '... and leaves nothing set aside');
SELECT is(test_helpers.inspect('mosaic-user-ep-roll', '{{.HostConfig.Memory}} {{.State.Status}}'), '67108864 running',
          '... with the new spec');
RESET pg_container.ready_timeout;
SELECT container_remove('ep-roll') \g /dev/null
SELECT test_helpers.wait_removed('ep-roll') \g /dev/null
DELETE FROM container_profile WHERE name = 'ep-broken';

SELECT * FROM finish();
