-- The security review (issue 10), each finding as the attack that
-- reproduced it on 0.2.0.  (Operator capture and two databases on one
-- engine need roles and databases of their own: test/scenarios/
-- operator_capture.t and two_databases.t.)
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(20);

-- A row pointed at another service's container (by a role that can write
-- the table): on 0.2.0 the next ensure force-removed that container.
SELECT test_helpers.docker('run -d --name sec-victim pgc-gateway:test') \g /dev/null
SELECT test_helpers.inspect('sec-victim', '{{.Id}}') AS victim_id \gset
SELECT container_ensure_running('sec-user') \g /dev/null
UPDATE user_container SET container_id = :'victim_id' WHERE user_id = 'sec-user';
SET client_min_messages = error;
-- (A row edited by hand is nothing Docker's events tell of: the event
-- mirror's hot path would trust it until the next list, so the inspecting
-- ensure is the one that repairs it.)
SELECT lives_ok($$SELECT container_ensure_running_checked('sec-user')$$, 'ensure with a row pointed at a foreign container works');
SELECT is(test_helpers.state_of('sec-victim'), 'running', '... and leaves that container running');
SELECT isnt((SELECT container_id FROM user_container WHERE user_id = 'sec-user'), :'victim_id'::text,
            '... recording the user''s own container instead');
UPDATE user_container SET container_id = :'victim_id' WHERE user_id = 'sec-user';
SELECT container_stop('sec-user') \g /dev/null
SELECT is(test_helpers.state_of('sec-victim'), 'running', 'stop leaves a foreign recorded container running');
UPDATE user_container SET container_id = :'victim_id', status = 'running' WHERE user_id = 'sec-user';
SELECT container_restart('sec-user') \g /dev/null
SELECT is(test_helpers.state_of('sec-victim'), 'running', 'restart leaves it alone');
UPDATE user_container SET container_id = :'victim_id', status = 'running',
                          last_active_at = now() - interval '2 hours' WHERE user_id = 'sec-user';
SELECT count(*) FROM container_reap_idle() \g /dev/null
SELECT is(test_helpers.state_of('sec-victim'), 'running', 'the reaper leaves it alone');
UPDATE user_container SET container_id = :'victim_id' WHERE user_id = 'sec-user';
SELECT container_remove('sec-user', false) \g /dev/null
SELECT test_helpers.wait_removed('sec-user') \g /dev/null
SELECT is(test_helpers.state_of('sec-victim'), 'running', 'remove leaves it alone');
SET client_min_messages = warning;
SELECT test_helpers.docker('rm -f sec-victim') \g /dev/null

-- container_name must be a Docker name: "/etc" would be the bind mount
-- "/etc-state" on the host.
SELECT container_ensure_running('sec-name') \g /dev/null
SELECT throws_ok($$UPDATE user_container SET container_name = '/etc' WHERE user_id = 'sec-name'$$, '23514', NULL,
                 'a container name that is a path is refused by the table');
UPDATE user_container SET container_name = 'other-service' WHERE user_id = 'sec-name';
SELECT throws_ok($$SELECT container_ensure_running('sec-name')$$, '22023',
                 'container name "other-service" of user "sec-name" does not start with pg_container.name_prefix "mosaic-user-"',
                 'a container name outside the prefix is refused before Docker is asked');
UPDATE user_container SET container_name = 'mosaic-user-sec-name' WHERE user_id = 'sec-name';

-- A rolled-back ensure leaves a running container no row knows; the
-- reaper stops it once it is older than orphan_grace, and keeps its volume.
BEGIN;
SELECT container_ensure_running('sec-orphan') \g /dev/null
ROLLBACK;
SELECT is(test_helpers.state_of('mosaic-user-sec-orphan'), 'running', 'a rolled-back ensure leaves a running container');
SELECT count(*) FROM container_reap_idle() \g /dev/null
SELECT is(test_helpers.state_of('mosaic-user-sec-orphan'), 'running', '... which the reaper spares within orphan_grace');
SET pg_container.orphan_grace = 0;
SELECT is(ARRAY(SELECT container_reap_idle()), '{}'::text[], 'past orphan_grace the reaper returns no user for it (there is no row)');
SELECT is(test_helpers.state_of('mosaic-user-sec-orphan'), 'exited', '... but stops the orphan');
SELECT is(test_helpers.docker('volume ls -q --filter name=mosaic-user-sec-orphan-state'), 'mosaic-user-sec-orphan-state',
          '... and keeps its volume');
SELECT is((SELECT detail ->> 'orphan' FROM container_event WHERE user_id = 'sec-orphan' AND event = 'reaped' ORDER BY id DESC LIMIT 1), 'true',
          '... recording a reaped event marked orphan');
RESET pg_container.orphan_grace;
SELECT test_helpers.docker('rm -f mosaic-user-sec-orphan') \g /dev/null

-- Profile images are bounded (a NOTIFY payload once carried them whole).
SELECT throws_ok(format($$INSERT INTO container_profile (name, image) VALUES ('sec-long', %L)$$, repeat('a', 513)),
                 '23514', NULL, 'a profile image longer than 512 bytes is refused');

-- The engine is trusted no further than it must be: an id that is not 64
-- hex digits is refused before it is stored or used in a path.
SELECT container_id AS sec_name_id FROM user_container WHERE user_id = 'sec-name' \gset
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules(jsonb_build_array(jsonb_build_object(
    'method', 'GET', 'path', '^/v[0-9.]+/containers/[^/]+/json$', 'status', 200,
    'body', '{"Id": "../../../volumes/x", "Name": "/mosaic-user-sec-name", "State": {"Status": "running", "Running": true},'
            ' "Config": {"Labels": {"pg_container.user_id": "sec-name"}}}'))) \g /dev/null
SELECT throws_ok($$SELECT container_ensure_running('sec-name')$$, '58000', NULL,
                 'an inspect whose Id is not 64 hex digits is refused as an unexpected response');
SELECT test_helpers.use_dockerd() \g /dev/null
SELECT is((SELECT container_id FROM user_container WHERE user_id = 'sec-name'), :'sec_name_id'::text, '... and nothing of it is stored');

-- The overview's idle minutes cannot overflow, however old the activity.
UPDATE user_container SET last_active_at = '4000-01-01 00:00:00+00 BC' WHERE user_id = 'sec-name';
SELECT is((SELECT idle_minutes_left FROM container_overview WHERE user_id = 'sec-name'), 0,
          'a last activity six thousand years ago leaves 0 idle minutes, not an integer overflow');
UPDATE user_container SET last_active_at = now() WHERE user_id = 'sec-name';

-- Labels carry this installation's identity.
SELECT is(test_helpers.inspect('mosaic-user-sec-name', '{{index .Config.Labels "pg_container.installation"}}'),
          (SELECT id FROM container_installation), 'containers are labelled with the installation''s identity');

SELECT * FROM finish();
