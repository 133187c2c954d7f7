-- The lifecycle on a single-node Docker Swarm (pg_container.engine =
-- 'swarm', set for the pgc_swarm database by test/lib/swarm.sh): a user is
-- one replicated service, 1 replica running and 0 stopped.  Ensure, stop,
-- start again on the same service, restart, health from the task list, a
-- pinned node that is drained, reap, remove.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(56);

-- A command in the container of a service's running task.
CREATE FUNCTION pg_temp.task_exec(service text, cmd text) RETURNS text LANGUAGE sql AS $$
    SELECT test_helpers.docker(format('exec $(docker -H unix://%s ps -q --filter label=com.docker.swarm.service.name=%s) %s',
                                  test_helpers.docker_socket(), service, cmd)) $$;
CREATE FUNCTION pg_temp.service(name text, template text) RETURNS text LANGUAGE sql AS $$
    SELECT test_helpers.docker(format('service inspect -f %s %s', test_helpers.shell_quote(template), name)) $$;

SELECT is(current_setting('pg_container.engine'), 'swarm', 'this database runs its users on the swarm');

-- A new user: row, service, one task, published in host mode.
SELECT url AS url1, token AS token1 FROM container_ensure_running('sw-alice') \gset
SELECT gateway_port AS port, container_id AS sid1 FROM user_container WHERE user_id = 'sw-alice' \gset
-- (url_mode is published in this database: see test/lib/swarm.sh; the
-- default's internal URL is test/swarm/published_ports.sql's.)
SELECT is(:'url1'::text, format('http://127.0.0.1:%s', :port),
          'ensure returns http://<node address>:<host port> with url_mode published');
SELECT is(:'sid1'::text, pg_temp.service('mosaic-user-sw-alice', '{{.ID}}'), 'the row records the service id');
SELECT is(pg_temp.service('mosaic-user-sw-alice', '{{.Spec.Mode.Replicated.Replicas}}'), '1', 'the service runs one replica');
SELECT is(pg_temp.service('mosaic-user-sw-alice', '{{json .Spec.EndpointSpec}}')::jsonb,
          format('{"Mode":"dnsrr","Ports":[{"Protocol":"tcp","TargetPort":18789,"PublishedPort":%s,"PublishMode":"host"}]}', :port)::jsonb,
          'the gateway port is published in host mode, with DNS round robin: no routing mesh');
SELECT is(test_helpers.http_status(:port, '/readyz'), '200', 'the gateway answers through its published port');
SELECT is(pg_temp.service('mosaic-user-sw-alice',
          '{{index .Spec.Labels "pg_container.managed"}} {{index .Spec.Labels "pg_container.user_id"}}'),
          'true sw-alice', 'labels say pg_container manages the service for this user');
SELECT is(pg_temp.service('mosaic-user-sw-alice', '{{range .Spec.TaskTemplate.ContainerSpec.Mounts}}{{.Type}} {{.Source}} {{.Target}}{{end}}'),
          'volume mosaic-user-sw-alice-state /home/node/.openclaw', 'the named volume is mounted at the state path');
SELECT ok(pg_temp.service('mosaic-user-sw-alice', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}')::jsonb
          @> jsonb_build_array('AGENT_TOKEN=' || :'token1', 'OPENCLAW_GATEWAY_TOKEN=' || :'token1'),
          'the task gets the token');
SELECT is(pg_temp.service('mosaic-user-sw-alice', '{{json .Spec.TaskTemplate.Placement.Constraints}}'),
          format('["node.id==%s"]', test_helpers.docker('node ls -q')),
          'once its first task landed, the service is pinned to that node, where its volume is');
SELECT is(test_helpers.docker('service ps -q --filter desired-state=running mosaic-user-sw-alice | wc -l'), '1',
          '... without the pin replacing the task');
SELECT is((SELECT node FROM user_container WHERE user_id = 'sw-alice'), test_helpers.docker('node ls -q'),
          '... and the row records the node');

SELECT is(pg_temp.service('mosaic-user-sw-alice', '{{json .Spec.TaskTemplate.LogDriver}}')::jsonb,
          '{"Name":"json-file","Options":{"max-file":"3","max-size":"10m"}}'::jsonb,
          'the task logs to json-file, at most 3 files of 10 MB: a tenant cannot fill the node''s disk');
SELECT ok(test_helpers.docker(format('inspect -f %s $(docker -H unix://%s ps -q --filter label=com.docker.swarm.service.name=mosaic-user-sw-alice)',
                                     test_helpers.shell_quote('{{json .HostConfig.LogConfig.Config}}'), test_helpers.docker_socket()))::jsonb
          = '{"max-file":"3","max-size":"10m"}'::jsonb, '... as its container shows');

-- Again: the same service.
SELECT url || ' ' || token AS again FROM container_ensure_running('sw-alice') \gset
SELECT is(:'again', :'url1' || ' ' || :'token1', 'a second ensure returns the same url and token');
SELECT is(test_helpers.docker('service ls -q --filter label=pg_container.user_id=sw-alice | wc -l'), '1', '... and creates nothing');

-- Stop: scaled to 0, kept.
SELECT pg_temp.task_exec('mosaic-user-sw-alice', '/bin/busybox sh -c "echo kept > /home/node/.openclaw/note"') \g /dev/null
SELECT container_stop('sw-alice');
SELECT is(pg_temp.service('mosaic-user-sw-alice', '{{.ID}} {{.Spec.Mode.Replicated.Replicas}}'), :'sid1' || ' 0',
          'stop scales the service to 0 and keeps it');
SELECT is(test_helpers.http_status(:port, '/readyz'), '000', '... and returns once the gateway is down');
SELECT is((SELECT status FROM user_container WHERE user_id = 'sw-alice'), 'stopped', 'the row says stopped');

-- Start again: a scale to 1, not a create.
SELECT url || ' ' || token AS restarted FROM container_ensure_running('sw-alice') \gset
SELECT is(:'restarted', :'url1' || ' ' || :'token1', 'ensure after stop returns the same url and token');
SELECT is((SELECT container_id || ' ' || gateway_port FROM user_container WHERE user_id = 'sw-alice'),
          :'sid1' || ' ' || :port, '... from the same service on the same port');
SELECT is(test_helpers.http_status(:port, '/readyz'), '200', '... which answers again');
SELECT is(pg_temp.task_exec('mosaic-user-sw-alice', '/bin/busybox cat /home/node/.openclaw/note'), 'kept',
          '... and the volume kept what the user stored');

-- Restart: the same service, a new task.
SELECT test_helpers.docker('service ps -q --filter desired-state=running mosaic-user-sw-alice') AS task_before \gset
SELECT url || ' ' || token AS restarted2 FROM container_restart('sw-alice') \gset
SELECT is(:'restarted2', :'url1' || ' ' || :'token1', 'restart returns the same url and token');
SELECT isnt(test_helpers.docker('service ps -q --filter desired-state=running mosaic-user-sw-alice'), :'task_before',
            '... and runs a new task');

-- Restart after a settings change: the service is made from the new
-- settings in place, the same service on the same node and volume, and
-- its new task runs with them.
SET pg_container.memory_limit = '1GB';
ALTER SYSTEM SET pg_container.running_memory_budget = '8GB';
SELECT test_helpers.reload() \g /dev/null
SELECT is((SELECT outdated FROM container_status('sw-alice')), true, 'a settings change makes the service outdated');
SELECT url || ' ' || token AS restarted3 FROM container_restart('sw-alice') \gset
SELECT is(:'restarted3', :'url1' || ' ' || :'token1', 'restarting it returns the same url and token');
SELECT is(pg_temp.service('mosaic-user-sw-alice', '{{.ID}} {{.Spec.Mode.Replicated.Replicas}} {{.Spec.TaskTemplate.Resources.Limits.MemoryBytes}}'),
          :'sid1' || ' 1 1073741824', '... from the same service, now with the new memory limit');
SELECT is(pg_temp.service('mosaic-user-sw-alice', '{{json .Spec.TaskTemplate.Resources.Reservations}}'),
          '{"MemoryBytes":1073741824}',
          '... which, with a running memory budget, it reserves on its node (admission on a swarm)');
SELECT is(test_helpers.docker(format('inspect -f {{.HostConfig.Memory}} $(docker -H unix://%s ps -q --filter label=com.docker.swarm.service.name=mosaic-user-sw-alice)',
                                     test_helpers.docker_socket())), '1073741824',
          '... which its running task has');
SELECT is(pg_temp.service('mosaic-user-sw-alice', '{{json .Spec.TaskTemplate.Placement.Constraints}}'),
          format('["node.id==%s"]', test_helpers.docker('node ls -q')), '... still pinned to its node');
SELECT is((SELECT outdated FROM container_status('sw-alice')), false, '... and no longer outdated');
SELECT is(pg_temp.service('mosaic-user-sw-alice', '{{index .Spec.Labels "pg_container.spec_hash"}}'),
          (SELECT spec_hash FROM user_container WHERE user_id = 'sw-alice'), '... its label and the row carry the new spec hash');
SELECT is(pg_temp.task_exec('mosaic-user-sw-alice', '/bin/busybox cat /home/node/.openclaw/note'), 'kept',
          '... and the volume kept what the user stored');
SELECT is(test_helpers.http_status(:port, '/readyz'), '200', '... and the gateway answers');
RESET pg_container.memory_limit;
ALTER SYSTEM RESET pg_container.running_memory_budget;
SELECT test_helpers.reload() \g /dev/null
-- A profile's image and environment, the same way.
INSERT INTO container_profile (name, image, extra_env) VALUES ('sw-prof', 'pgc-gateway:test', ARRAY['PROFILE_NOTE=from-the-profile']);
UPDATE user_container SET profile = 'sw-prof' WHERE user_id = 'sw-alice';
SELECT container_restart('sw-alice') \g /dev/null
SELECT is(pg_temp.task_exec('mosaic-user-sw-alice', '/bin/busybox sh -c "echo x\$PROFILE_NOTE"'), 'xfrom-the-profile',
          'a profile''s new environment reaches the task after a restart');
SELECT is(pg_temp.service('mosaic-user-sw-alice', '{{json .Spec.TaskTemplate.Resources.Reservations}}'),
          'null', '... and with no running memory budget it reserves nothing');
SELECT is(pg_temp.service('mosaic-user-sw-alice', '{{.ID}}'), :'sid1', '... of the same service');
UPDATE user_container SET profile = NULL WHERE user_id = 'sw-alice';
DELETE FROM container_profile WHERE name = 'sw-prof';
-- A new spec whose task never becomes ready: the previous spec is put
-- back, and the user keeps a working gateway on the same service.  (12 s:
-- the previous spec's task must get ready again within it too, which took
-- more than 5 s on a loaded machine.)
SET pg_container.image = 'pgc-crashloop:test';
SET pg_container.ready_timeout = '12s';
SELECT matches(test_helpers.error_and_context_of($$SELECT container_restart('sw-alice')$$),
               '^55000: container "mosaic-user-sw-alice" did not become ready within 12000 ms \| restarting the container of user "sw-alice" from image "pgc-crashloop:test": the new container failed, so the previous container is back$',
               'a restart onto an image that never becomes ready fails with the readiness error, its context saying the previous spec is back');
RESET pg_container.ready_timeout;
SELECT is(pg_temp.service('mosaic-user-sw-alice', '{{.ID}} {{.Spec.Mode.Replicated.Replicas}} {{.Spec.TaskTemplate.ContainerSpec.Image}}'),
          :'sid1' || ' 1 pgc-gateway:test', '... and the same service runs its previous image again');
SELECT is(test_helpers.http_status(:port, '/readyz'), '200', '... whose gateway answers');
SELECT is(pg_temp.task_exec('mosaic-user-sw-alice', '/bin/busybox cat /home/node/.openclaw/note'), 'kept',
          '... on the user''s volume');
SELECT is((SELECT outdated FROM container_status('sw-alice')), true, '... and the service is still outdated');
RESET pg_container.image;
SELECT container_restart('sw-alice') \g /dev/null
SELECT is(pg_temp.task_exec('mosaic-user-sw-alice', '/bin/busybox sh -c "echo x\$PROFILE_NOTE"'), 'x',
          '... and leaves it again once the profile is gone');

-- Health: from the task list.  A task that cannot run is reported with
-- the task's own state.
SELECT results_eq($$SELECT healthy, error FROM container_health_check_all() WHERE user_id = 'sw-alice'$$,
                  $$VALUES (true, NULL::text)$$, 'a running task is healthy');
SELECT test_helpers.docker('service update --detach --image pgc-crashloop:test mosaic-user-sw-alice') \g /dev/null
CREATE FUNCTION pg_temp.wait_unhealthy(user_id text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    e text;
BEGIN
    FOR i IN 1..120 LOOP
        SELECT h.error INTO e FROM container_health_check_all() h WHERE h.user_id = wait_unhealthy.user_id AND NOT h.healthy;
        IF e IS NOT NULL THEN RETURN e; END IF;
        PERFORM pg_sleep(0.25);
    END LOOP;
    RETURN 'still healthy';
END $$;
SELECT matches(pg_temp.wait_unhealthy('sw-alice'), '^service task [a-z]+',
               'a service whose task does not run is unhealthy, with the task''s state');
SELECT is((SELECT status FROM user_container WHERE user_id = 'sw-alice'), 'running',
          '... and stays running: swarm keeps trying');
-- Its output comes from the service's logs (whichever node ran the task),
-- with the token redacted.
CREATE FUNCTION pg_temp.wait_log_line(user_id text, line text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..120 LOOP
        IF EXISTS (SELECT 1 FROM container_logs(user_id) l WHERE l = line) THEN RETURN true; END IF;
        PERFORM pg_sleep(0.25);
    END LOOP;
    RETURN false;
END $$;
SELECT ok(pg_temp.wait_log_line('sw-alice', 'token is <redacted>'),
          'container_logs reads the service''s logs, with the token redacted');
SELECT test_helpers.docker('service update --detach --image pgc-gateway:test mosaic-user-sw-alice') \g /dev/null

-- Reap: scale to 0.
UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id = 'sw-alice';
SELECT is(array(SELECT * FROM container_reap_idle()), ARRAY['sw-alice'], 'reaping stops the idle user');
SELECT is(pg_temp.service('mosaic-user-sw-alice', '{{.Spec.Mode.Replicated.Replicas}}'), '0', '... by scaling the service to 0');
SELECT is((SELECT status FROM user_container WHERE user_id = 'sw-alice'), 'stopped', '... and the row says stopped');

-- A pinned user whose node is drained is not started elsewhere.
SELECT test_helpers.docker('node update --availability drain ' || test_helpers.docker('node ls -q')) \g /dev/null
SELECT matches(test_helpers.error_of($$SELECT container_ensure_running('sw-alice')$$),
               '^55000: service "mosaic-user-sw-alice" cannot start: its node [a-z0-9]{25} \([^)]+\) has availability "drain"$',
               'ensure on a drained node fails, naming the node');
SELECT test_helpers.docker('node update --availability active ' || test_helpers.docker('node ls -q')) \g /dev/null
SELECT is((SELECT url FROM container_ensure_running('sw-alice')), :'url1', 'with the node back, the user starts again');

-- Remove: the service, and the volume when asked.
SELECT container_remove('sw-alice', keep_volume => false);
SELECT test_helpers.wait_removed('sw-alice') \g /dev/null
SELECT is(test_helpers.docker('service ls -q --filter label=pg_container.user_id=sw-alice'), '', 'remove deletes the service');
SELECT is(test_helpers.docker('volume ls -q --filter name=mosaic-user-sw-alice-state'), '', '... and the volume');
SELECT is_empty($$SELECT * FROM user_container WHERE user_id = 'sw-alice'$$, '... and the row');

SELECT * FROM finish();
