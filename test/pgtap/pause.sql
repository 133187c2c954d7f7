-- Idle in two steps (issue 17): the reaper pauses containers idle past
-- pause_after_min and stops those past idle_timeout_min, paused or not;
-- the paused tier has a memory budget; everything that works on a stopped
-- container works on a paused one.  Against the real dockerd.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(51);

-- These call the sweeps themselves, on containers paused behind
-- pg_container's back: the worker's event mirror must not record the
-- pauses first (test/scenarios/state_mirror.t covers that it does).
ALTER SYSTEM SET pg_container.event_stream = off;
SELECT test_helpers.reload() \g /dev/null
SELECT test_helpers.wait_for('NOT (SELECT in_sync FROM container_mirror)', '60 seconds') \g /dev/null

-- What an earlier, interrupted run may have left.
SELECT container_remove(user_id) FROM user_container WHERE user_id LIKE 'pz-%' \g /dev/null
SELECT container_process_removals() \g /dev/null
DELETE FROM container_profile WHERE name = 'pz-profile';
DELETE FROM container_event WHERE user_id LIKE 'pz-%';

-- Making someone idle: their last activity moves into the past.
CREATE FUNCTION pg_temp.idle(u text, minutes integer) RETURNS void
LANGUAGE sql AS $$
    UPDATE user_container SET last_active_at = now() - make_interval(mins => minutes) WHERE user_id = u
$$;
CREATE FUNCTION pg_temp.statuses(pattern text) RETURNS text
LANGUAGE sql AS $$
    SELECT string_agg(user_id || '=' || status, ' ' ORDER BY user_id) FROM user_container WHERE user_id LIKE pattern
$$;
CREATE FUNCTION pg_temp.states(pattern text) RETURNS text
LANGUAGE sql AS $$
    SELECT string_agg(user_id || '=' || test_helpers.state_of(container_name), ' ' ORDER BY user_id)
      FROM user_container WHERE user_id LIKE pattern
$$;
CREATE FUNCTION pg_temp.events(u text) RETURNS text
LANGUAGE sql AS $$
    SELECT string_agg(event, ' ' ORDER BY id) FROM container_event WHERE user_id = u
$$;

-- Setting it.
SELECT throws_ok($$SELECT container_set_pause_after(NULL, 5)$$, '22004', NULL, 'set_pause_after: a NULL user id is 22004');
SELECT throws_ok($$SELECT container_set_pause_after('pz-x', -1)$$, '22023',
                 'pause_after must be between 0 and 10080 minutes', 'set_pause_after: a negative value is 22023');
SELECT throws_ok($$SELECT container_set_pause_after('pz-x', 10081)$$, '22023',
                 'pause_after must be between 0 and 10080 minutes', 'set_pause_after: more than a week is 22023');
SELECT container_set_pause_after('pz-signup', 5) \g /dev/null
SELECT is((SELECT status || ' ' || pause_after_min FROM user_container WHERE user_id = 'pz-signup'), 'stopped 5',
          'setting it for a new user makes the row');
SELECT container_set_pause_after('pz-signup', NULL) \g /dev/null
SELECT is((SELECT pause_after_min FROM user_container WHERE user_id = 'pz-signup'), NULL::integer, 'NULL is stored: never pause');
SELECT container_ensure_running('pz-default') \g /dev/null
SELECT is((SELECT pause_after_min FROM user_container WHERE user_id = 'pz-default'), 0,
          'by default a new row never pauses (pg_container.pause_after is 0)');
SET pg_container.pause_after = '7min';
SELECT container_set_idle_timeout('pz-setting', 30) \g /dev/null
RESET pg_container.pause_after;
SELECT is((SELECT pause_after_min FROM user_container WHERE user_id = 'pz-setting'), 7, 'new rows take pg_container.pause_after');
INSERT INTO container_profile (name, pause_after_min) VALUES ('pz-profile', 3);
SELECT container_set_profile('pz-signup', 'pz-profile') \g /dev/null
SELECT is((SELECT pause_after_min FROM user_container WHERE user_id = 'pz-signup'), 3, 'a profile''s pause_after_min applies when it is assigned');

-- One sweep, both tiers.
SELECT container_ensure_running(u) FROM unnest(ARRAY['pz-idle', 'pz-fresh', 'pz-never', 'pz-old']) u \g /dev/null
SELECT container_set_pause_after(u, 5) FROM unnest(ARRAY['pz-idle', 'pz-fresh', 'pz-old']) u \g /dev/null
SELECT pg_temp.idle(u, 10) FROM unnest(ARRAY['pz-idle', 'pz-never']) u \g /dev/null
SELECT pg_temp.idle('pz-old', 120) \g /dev/null
SELECT set_eq($$SELECT u FROM container_reap_idle() u WHERE u LIKE 'pz-%'$$, ARRAY['pz-old'],
              'reap returns the users it stopped: past the idle timeout, never paused first');
SELECT is(pg_temp.statuses('pz-%e%'), 'pz-default=running pz-fresh=running pz-idle=paused pz-never=running pz-setting=stopped',
          'idle past pause_after is paused; active, not opted in, or never started are left alone');
SELECT is(pg_temp.states('pz-%'), 'pz-default=running pz-fresh=running pz-idle=paused pz-never=running pz-old=exited pz-setting= pz-signup=',
          '... and Docker agrees');
SELECT is((SELECT status FROM container_status('pz-idle')), 'paused', 'container_status says paused');
SELECT is((SELECT status || ' ' || idle_minutes_left FROM container_overview WHERE user_id = 'pz-idle'), 'paused 20',
          'the overview says paused, with the minutes left before the stop');
SELECT is(pg_temp.events('pz-idle'), 'created started paused', 'a pause is an event');
SELECT is((SELECT detail ->> 'already' FROM container_event WHERE user_id = 'pz-idle' AND event = 'paused'), 'false', '... of a pause it made');
SELECT is_empty($$SELECT u FROM container_reap_idle() u WHERE u LIKE 'pz-%'$$, 'a second sweep does nothing more');
SELECT is(pg_temp.events('pz-idle'), 'created started paused', '... and records nothing more');

-- Health: paused is neither healthy nor unhealthy.
SELECT is((SELECT coalesce(healthy::text, 'null') || ' ' || error FROM container_health_check_all() WHERE user_id = 'pz-idle'),
          'null container paused', 'a paused container is neither healthy nor unhealthy');
SELECT is((SELECT status || ' ' || coalesce(healthy::text, 'null') FROM user_container WHERE user_id = 'pz-idle'), 'paused null',
          '... and stays paused in the table');

-- Resume through ensure: same URL and token, running, and an event.
SELECT url AS url_before, token AS token_before FROM container_ensure_running('pz-fresh') \gset
SELECT container_set_pause_after('pz-fresh', 5) \g /dev/null
SELECT pg_temp.idle('pz-fresh', 10) \g /dev/null
SELECT container_reap_idle() \g /dev/null
SELECT is(test_helpers.state_of('mosaic-user-pz-fresh'), 'paused', 'paused by the sweep');
SELECT url AS url_after, token AS token_after FROM container_ensure_running('pz-fresh') \gset
SELECT is(:'url_after'::text, :'url_before'::text, 'ensure on a paused container returns the same URL');
SELECT is(:'token_after'::text, :'token_before'::text, '... and the same token');
SELECT is(test_helpers.state_of('mosaic-user-pz-fresh') || ' ' || (SELECT status FROM user_container WHERE user_id = 'pz-fresh'),
          'running running', '... and it runs again');
SELECT is(test_helpers.http_status((SELECT gateway_port FROM user_container WHERE user_id = 'pz-fresh'), '/readyz'), '200',
          '... answering at once');
SELECT is(pg_temp.events('pz-fresh'), 'created started paused unpaused', 'an unpause is an event');

-- State survives pause -> stop -> start.
SELECT test_helpers.docker('exec mosaic-user-pz-fresh /bin/busybox sh -c "echo kept > /home/node/.openclaw/pz-file"') \g /dev/null
SELECT pg_temp.idle('pz-fresh', 10) \g /dev/null
SELECT container_reap_idle() \g /dev/null
SELECT pg_temp.idle('pz-fresh', 60) \g /dev/null
SELECT set_eq($$SELECT u FROM container_reap_idle() u WHERE u LIKE 'pz-%'$$, ARRAY['pz-fresh'], 'a paused container past its idle timeout is stopped');
SELECT is(test_helpers.state_of('mosaic-user-pz-fresh') || ' ' || (SELECT status FROM user_container WHERE user_id = 'pz-fresh'),
          'exited stopped', '... Docker and the table agree');
SELECT container_ensure_running('pz-fresh') \g /dev/null
SELECT is(test_helpers.docker('exec mosaic-user-pz-fresh /bin/busybox cat /home/node/.openclaw/pz-file'), 'kept',
          'what the user stored survives pause, stop and start');

-- Touch during pause keeps the user from being stopped.
SELECT pg_temp.idle('pz-idle', 60) \g /dev/null
SELECT container_touch('pz-idle') \g /dev/null
SELECT is_empty($$SELECT u FROM container_reap_idle() u WHERE u = 'pz-idle'$$, 'a touch during the pause keeps the user from being stopped');
SELECT is(pg_temp.states('pz-idle'), 'pz-idle=paused', '... the container stays paused, for ensure to resume');

-- Stop, restart and remove work on a paused container.
SELECT container_stop('pz-idle') \g /dev/null
SELECT is(pg_temp.states('pz-idle') || ' ' || pg_temp.statuses('pz-idle'), 'pz-idle=exited pz-idle=stopped', 'container_stop stops a paused container');
SELECT is((SELECT event FROM container_event WHERE user_id = 'pz-idle' ORDER BY id DESC LIMIT 1), 'stopped', '... as an event');
SELECT container_set_pause_after('pz-never', 5) \g /dev/null
SELECT container_reap_idle() \g /dev/null
SELECT container_restart('pz-never') \g /dev/null
SELECT is(pg_temp.states('pz-never') || ' ' || pg_temp.statuses('pz-never'), 'pz-never=running pz-never=running', 'container_restart runs a paused container again');
SELECT pg_temp.idle('pz-never', 10) \g /dev/null
SELECT container_reap_idle() \g /dev/null
SELECT container_remove('pz-never') \g /dev/null
SELECT test_helpers.wait_removed('pz-never') \g /dev/null
SELECT is(test_helpers.containers_of('pz-never'), '', 'container_remove removes a paused container');

-- An engine that refuses to stop a paused container (Podman: "container
-- state improper"): the sweep unpauses it and stops it again; container_stop
-- unpauses a paused container before it stops it.
SELECT container_ensure_running('pz-podman') \g /dev/null
SELECT container_set_pause_after('pz-podman', 5) \g /dev/null
SELECT pg_temp.idle('pz-podman', 10) \g /dev/null
SELECT container_reap_idle() \g /dev/null
SELECT pg_temp.idle('pz-podman', 60) \g /dev/null
SELECT container_id AS podman_id FROM user_container WHERE user_id = 'pz-podman' \gset
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules(format('[{"method": "POST", "path": "/containers/%s/stop", "action": "respond", "status": 409, "times": 1, "message": "can only stop created or running containers. %s is in state paused: container state improper"}]', :'podman_id', :'podman_id')::jsonb) \g /dev/null
SELECT set_eq($$SELECT u FROM container_reap_idle() u WHERE u LIKE 'pz-%'$$, ARRAY['pz-podman'],
              'a paused container the engine refuses to stop is stopped all the same');
SELECT is(test_helpers.fault_count('^POST /v[0-9.]+/containers/[0-9a-f]+/unpause'), 1, '... by unpausing it, then stopping it again');
SELECT test_helpers.use_dockerd() \g /dev/null
SELECT is(pg_temp.states('pz-podman'), 'pz-podman=exited', '... it is down');
SELECT container_ensure_running('pz-podman') \g /dev/null
SELECT test_helpers.docker('pause mosaic-user-pz-podman') \g /dev/null
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT container_stop('pz-podman') \g /dev/null
SELECT is(test_helpers.fault_count('^POST /v[0-9.]+/containers/[0-9a-f]+/unpause'), 1, 'container_stop unpauses a paused container before it stops it');
SELECT test_helpers.use_dockerd() \g /dev/null
SELECT is(pg_temp.states('pz-podman'), 'pz-podman=exited', '... it is down');

-- An engine that cannot pause (rootless Podman on cgroups v1): a WARNING
-- and an error event, and the container stays running until its timeout.
SELECT container_ensure_running('pz-nopause') \g /dev/null
SELECT container_set_pause_after('pz-nopause', 5) \g /dev/null
SELECT pg_temp.idle('pz-nopause', 10) \g /dev/null
SELECT container_id AS nopause_id FROM user_container WHERE user_id = 'pz-nopause' \gset
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules(format('[{"method": "POST", "path": "/containers/%s/pause", "action": "respond", "status": 500, "message": "pause is not supported on cgroups v1 rootless"}]', :'nopause_id')::jsonb) \g /dev/null
SELECT test_helpers.sh(format('psql -X -qAt -h %s -p %s -d pgc_test -c %s', (SELECT work_dir FROM test_helpers.config), current_setting('port'),
       test_helpers.shell_quote(format('SET pg_container.docker_host = %L; SELECT count(*) FROM container_reap_idle()',
                                   current_setting('pg_container.docker_host'))))) AS nopause_output \gset
SELECT test_helpers.use_dockerd() \g /dev/null
SELECT matches(:'nopause_output'::text, 'WARNING:  could not pause the idle container of user "pz-nopause"',
               'an engine that cannot pause gets a WARNING naming the user');
SELECT is((SELECT detail ->> 'operation' FROM container_event WHERE user_id = 'pz-nopause' AND event = 'error'), 'pause', '... and an error event');
SELECT is(pg_temp.states('pz-nopause') || ' ' || pg_temp.statuses('pz-nopause'), 'pz-nopause=running pz-nopause=running',
          '... and the container stays running, to be stopped at its idle timeout');

-- Paused or unpaused by hand: the health check reconciles the table.
SELECT test_helpers.docker('pause mosaic-user-pz-default') \g /dev/null
SELECT container_health_check_all() \g /dev/null
SELECT is(pg_temp.statuses('pz-default'), 'pz-default=paused', 'a container paused outside pg_container is recorded as paused');
SELECT is((SELECT detail ->> 'by' FROM container_event WHERE user_id = 'pz-default' AND event = 'paused'), 'outside pg_container', '... as an event');
SELECT test_helpers.docker('unpause mosaic-user-pz-default') \g /dev/null
SELECT container_health_check_all() \g /dev/null
SELECT is((SELECT status || ' ' || healthy FROM user_container WHERE user_id = 'pz-default'), 'running true',
          'unpaused outside pg_container: running and healthy again');
SELECT test_helpers.docker('pause mosaic-user-pz-default') \g /dev/null
SELECT container_set_pause_after('pz-default', 5) \g /dev/null
SELECT pg_temp.idle('pz-default', 10) \g /dev/null
SELECT container_reap_idle() \g /dev/null
SELECT is((SELECT detail ->> 'already' FROM container_event WHERE user_id = 'pz-default' AND event = 'paused' ORDER BY id DESC LIMIT 1), 'true',
          'the sweep records a container paused already without pausing it again');

-- The budget: past it, the longest-paused is stopped first.
SET pg_container.memory_limit = '64MB';
SET pg_container.paused_memory_budget = '128MB';
SELECT container_ensure_running(u) FROM unnest(ARRAY['pz-b1', 'pz-b2', 'pz-b3', 'pz-b4']) u \g /dev/null
SELECT container_set_pause_after(u, 5) FROM unnest(ARRAY['pz-b1', 'pz-b2', 'pz-b3', 'pz-b4']) u \g /dev/null
SELECT container_stop('pz-default') \g /dev/null
SELECT pg_temp.idle(u, 10) FROM unnest(ARRAY['pz-b1', 'pz-b2']) u \g /dev/null
SELECT container_reap_idle() \g /dev/null
SELECT is(pg_temp.statuses('pz-b%'), 'pz-b1=paused pz-b2=paused pz-b3=running pz-b4=running', 'two paused fit the budget');
UPDATE user_container SET paused_at = now() - interval '8 minutes' WHERE user_id = 'pz-b2';
UPDATE user_container SET paused_at = now() - interval '6 minutes' WHERE user_id = 'pz-b1';
SELECT pg_temp.idle('pz-b3', 10) \g /dev/null
SELECT set_eq($$SELECT u FROM container_reap_idle() u WHERE u LIKE 'pz-%'$$, ARRAY['pz-b2'],
              'a third paused one is over the budget: the longest-paused is stopped');
SELECT is(pg_temp.states('pz-b%'), 'pz-b1=paused pz-b2=exited pz-b3=paused pz-b4=running', '... and the others stay paused');
SELECT is((SELECT event FROM container_event WHERE user_id = 'pz-b2' ORDER BY id DESC LIMIT 1), 'reaped', '... as a reaped event');
SET pg_container.paused_memory_budget = 0;
SELECT pg_temp.idle('pz-b4', 10) \g /dev/null
SELECT container_reap_idle() \g /dev/null
SELECT is(pg_temp.statuses('pz-b%'), 'pz-b1=paused pz-b2=stopped pz-b3=paused pz-b4=paused', 'with no budget, all may be paused');
RESET pg_container.paused_memory_budget;
RESET pg_container.memory_limit;

SELECT container_remove(user_id) FROM user_container WHERE user_id LIKE 'pz-%' \g /dev/null
SELECT container_process_removals() \g /dev/null
DELETE FROM container_profile WHERE name = 'pz-profile';
DELETE FROM container_event WHERE user_id LIKE 'pz-%';

ALTER SYSTEM RESET pg_container.event_stream;
SELECT test_helpers.reload() \g /dev/null
SELECT test_helpers.wait_for('(SELECT in_sync FROM container_mirror)', '60 seconds') \g /dev/null
SELECT * FROM finish();
