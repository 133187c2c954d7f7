-- Operations: fresh-config restarts, per-user profiles, deprovisioning,
-- orphans, the event log and the overview.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(44);

-- Restart applies fresh configuration; ensure never recreates on its own.
SELECT container_ensure_running('op-user') \g /dev/null
SELECT container_id AS op_cid, spec_hash AS op_hash, gateway_port AS op_port FROM user_container WHERE user_id = 'op-user' \gset
SELECT token AS op_token FROM container_ensure_running('op-user') \gset
SELECT is(test_helpers.inspect('mosaic-user-op-user', '{{index .Config.Labels "pg_container.spec_hash"}}'), :'op_hash'::text,
          'the spec hash is recorded as a label and in the row');
SELECT is((SELECT outdated FROM container_status('op-user')), false, 'a fresh container is not outdated');
SELECT test_helpers.docker('exec mosaic-user-op-user /bin/busybox sh -c "echo kept > /home/node/.openclaw/note"') \g /dev/null

SET pg_container.memory_limit = '128MB';
SELECT is((SELECT outdated FROM container_status('op-user')), true, 'after a settings change, status says outdated');
SELECT ok('op-user' IN (SELECT container_outdated()), '... and container_outdated lists the user');
SELECT container_ensure_running('op-user') \g /dev/null
SELECT is((SELECT container_id FROM user_container WHERE user_id = 'op-user'), :'op_cid'::text, 'ensure does not recreate on its own');
SELECT is((SELECT token FROM container_restart('op-user')), :'op_token'::text, 'restart keeps the token');
SELECT isnt((SELECT container_id FROM user_container WHERE user_id = 'op-user'), :'op_cid'::text, '... but recreates the outdated container');
SELECT is(test_helpers.inspect('mosaic-user-op-user', '{{.HostConfig.Memory}}'), '134217728', '... with the new settings');
SELECT is((SELECT gateway_port FROM user_container WHERE user_id = 'op-user'), :op_port, '... on the same port');
SELECT is(test_helpers.docker('exec mosaic-user-op-user /bin/busybox cat /home/node/.openclaw/note'), 'kept', '... keeping the volume');
SELECT is((SELECT outdated FROM container_status('op-user')), false, '... and it is current again');
SELECT container_id AS op_cid2 FROM user_container WHERE user_id = 'op-user' \gset
SELECT test_helpers.inspect('mosaic-user-op-user', '{{.State.StartedAt}}') AS op_started \gset
SELECT container_restart('op-user') \g /dev/null
SELECT is((SELECT container_id FROM user_container WHERE user_id = 'op-user'), :'op_cid2'::text,
          'restart of a current container only stops and starts it');
SELECT isnt(test_helpers.inspect('mosaic-user-op-user', '{{.State.StartedAt}}'), :'op_started'::text, '... which it did');
RESET pg_container.memory_limit;
SELECT lives_ok($$SELECT container_restart(u) FROM container_outdated() u$$, 'SELECT container_restart(u) FROM container_outdated() u rolls the fleet');
SELECT is_empty($$SELECT container_outdated()$$, '... leaving nobody outdated');

-- Profiles: checked when written, applied at the next create or restart.
INSERT INTO container_profile (name, image, memory_limit_mb, cpus, pids_limit, idle_timeout_min, extra_env)
VALUES ('pro', 'pgc-gateway:test', 256, 0.5, 64, 120,
        ARRAY['GATEWAY_TOKEN={token}', 'OWNER={user_id}', 'SELF={container_name}', 'PLAN=pro']);
SELECT throws_ok($$INSERT INTO container_profile (name, extra_env) VALUES ('bad1', ARRAY['NOEQUALS'])$$, '22023',
                 'extra_env entry 1 of container profile "bad1" is not KEY=VALUE', 'an env entry without KEY= is refused');
SELECT throws_ok($$INSERT INTO container_profile (name, extra_env) VALUES ('bad2', ARRAY['A=1', 'B={password}'])$$, '22023',
                 'extra_env entry 2 of container profile "bad2" uses unknown placeholder {password}', 'an unknown placeholder is refused');
SELECT throws_ok($$INSERT INTO container_profile (name, extra_env) VALUES ('bad3', ARRAY['AGENT_TOKEN=x'])$$, '22023', NULL,
                 'an entry that would override AGENT_TOKEN is refused');
SELECT throws_ok($$INSERT INTO container_profile (name, memory_limit_mb) VALUES ('bad4', -1)$$, '23514', NULL, 'a negative memory limit is refused');
SELECT throws_ok($$INSERT INTO container_profile (name, image) VALUES ('bad5', 'two words')$$, '23514', NULL, 'an image name with white space is refused');
SELECT throws_ok($$INSERT INTO container_profile (name) VALUES ('../x')$$, '23514', NULL, 'a profile name off the user id rule is refused');
SELECT is((SELECT count(*)::int FROM container_profile WHERE name LIKE 'bad%'), 0, '... and none of them was stored');

SELECT container_set_profile('op-pro', 'pro') \g /dev/null
SELECT is((SELECT profile || ' ' || idle_timeout_min FROM user_container WHERE user_id = 'op-pro'), 'pro 120',
          'set_profile assigns the profile, and its idle timeout at once');
SELECT token AS pro_token FROM container_ensure_running('op-pro') \gset
SELECT ok(test_helpers.inspect('mosaic-user-op-pro', '{{json .Config.Env}}')::jsonb
          @> jsonb_build_array('GATEWAY_TOKEN=' || :'pro_token', 'OWNER=op-pro', 'SELF=mosaic-user-op-pro', 'PLAN=pro'),
          'the profile''s extra environment reaches the container, placeholders filled in');
SELECT is(test_helpers.inspect('mosaic-user-op-pro', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}'),
          '268435456 500000000 64', '... and its limits');
SELECT throws_ok($$SELECT container_set_profile('op-pro', 'nope')$$, '22023', 'container profile "nope" does not exist',
                 'an unknown profile is refused');
SELECT throws_ok($$DELETE FROM container_profile WHERE name = 'pro'$$, '23503', NULL, 'a profile in use cannot be deleted');
SELECT container_set_profile('op-user', 'pro') \g /dev/null
SELECT is((SELECT outdated FROM container_status('op-user')), true, 'a new profile makes an existing container outdated');
SELECT container_restart('op-user') \g /dev/null
SELECT is(test_helpers.inspect('mosaic-user-op-user', '{{.HostConfig.Memory}}'), '268435456', '... until a restart applies it');
SELECT container_set_profile('op-user', NULL) \g /dev/null
SELECT is((SELECT coalesce(profile, 'settings') FROM user_container WHERE user_id = 'op-user'), 'settings',
          'set_profile NULL goes back to the settings alone');

-- Deprovisioning: the only path that deletes user data is keep_volume => false.
SELECT container_ensure_running('op-rm1'), container_ensure_running('op-rm2') \g /dev/null
SELECT container_remove('op-rm1') \g /dev/null
SELECT test_helpers.wait_removed('op-rm1') \g /dev/null
SELECT is(test_helpers.containers_of('op-rm1') || '|' || (SELECT count(*) FROM user_container WHERE user_id = 'op-rm1'), '|0',
          'container_remove removes the container and the row');
SELECT is(test_helpers.docker('volume inspect -f {{.Name}} mosaic-user-op-rm1-state'), 'mosaic-user-op-rm1-state', '... keeping the volume by default');
SELECT container_remove('op-rm2', keep_volume => false) \g /dev/null
SELECT test_helpers.wait_removed('op-rm2') \g /dev/null
SELECT imatches(test_helpers.docker('volume inspect mosaic-user-op-rm2-state'), 'no such volume', 'keep_volume => false removes the volume too');
SELECT lives_ok($$SELECT container_remove('op-nobody')$$, 'removing an unknown user is not an error');

-- Orphans: labelled containers no row owns, listed and left alone.
BEGIN;
SELECT container_ensure_running('op-orphan') \g /dev/null
ROLLBACK;
SELECT test_helpers.docker('run -d --name op-manual --network mosaic-internal --label pg_container.managed=true --label pg_container.user_id=op-ghost pgc-gateway:test') \g /dev/null
SELECT set_eq($$SELECT name || ' ' || user_id FROM container_orphans() WHERE name IN ('mosaic-user-op-orphan', 'op-manual')$$,
              ARRAY['mosaic-user-op-orphan op-orphan', 'op-manual op-ghost'],
              'container_orphans lists a container left by a rolled-back call and one run by hand');
SELECT is_empty($$SELECT * FROM container_orphans() WHERE user_id IN ('op-user', 'op-pro')$$, '... but not containers a row owns');
SELECT is(test_helpers.state_of('op-manual') || ' ' || test_helpers.state_of('mosaic-user-op-orphan'), 'running running', '... and removes nothing');
-- (A deliberate orphan would hold a port the table does not know.)
SELECT test_helpers.docker('rm -f op-manual mosaic-user-op-orphan') \g /dev/null

-- Events: every state change, in order.
SELECT is((SELECT string_agg(event, ',' ORDER BY id) FROM container_event WHERE user_id = 'op-pro'),
          'profile,created,started', 'events record each state change of a user');
SELECT is((SELECT string_agg(event, ',' ORDER BY id)
             FROM (SELECT id, event FROM container_event WHERE user_id = 'op-user' ORDER BY id LIMIT 10) e),
          'created,started,stopped,recreated,created,started,restarted,stopped,started,restarted',
          'a fresh-config restart records stopped, recreated, created, started, restarted; a plain one stopped, started, restarted');
SELECT is((SELECT detail ->> 'old_spec_hash' FROM container_event WHERE user_id = 'op-user' AND event = 'recreated' ORDER BY id LIMIT 1)
          || ' ' || (SELECT detail ->> 'container' FROM container_event WHERE user_id = 'op-user' AND event = 'created' ORDER BY id OFFSET 1 LIMIT 1),
          :'op_hash' || ' ' || :'op_cid2',
          '... naming the old spec and the new container');
SELECT is((SELECT detail ->> 'volume_kept' FROM container_event WHERE user_id = 'op-rm2' AND event = 'removed'), 'false',
          'removal records whether the volume was kept');

-- The overview.
UPDATE user_container SET last_active_at = now() - interval '10 minutes' WHERE user_id = 'op-pro';
SELECT is((SELECT status || ' ' || idle_minutes_left || ' ' || profile || ' ' || outdated FROM container_overview WHERE user_id = 'op-pro'),
          'running 110 pro false', 'container_overview shows status, idle minutes left, profile and whether outdated');
SELECT is((SELECT count(*) FROM container_overview), (SELECT count(*) FROM user_container), '... one row per user');
INSERT INTO container_event (user_id, event, detail) VALUES ('op-pro', 'error', '{"message": "something broke"}');
SELECT is((SELECT last_error FROM container_overview WHERE user_id = 'op-pro'), 'something broke', '... and the last error');

SELECT * FROM finish();
