-- The core lifecycle against a real dockerd: ensure, again, status, touch,
-- stop, start again, restart, and a container removed behind our back.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(38);

-- A new user: row, container, start.
SELECT url AS url1, token AS token1 FROM container_ensure_running('lc-alice') \gset
SELECT gateway_port AS port, container_id AS cid1, id AS row_id
  FROM user_container WHERE user_id = 'lc-alice' \gset

SELECT is(:'url1'::text, 'http://mosaic-user-lc-alice:18789',
          'ensure returns http://<container name>:<gateway port> by default');
SELECT matches(:'token1'::text, '^[0-9a-f]{64}$', 'the token is 32 random bytes, hex-encoded');
SELECT is(test_helpers.state_of('mosaic-user-lc-alice'), 'running', 'the container runs');
SELECT is((SELECT status FROM user_container WHERE user_id = 'lc-alice'), 'running', 'the row says running');
SELECT is(:'cid1'::text, test_helpers.inspect('mosaic-user-lc-alice', '{{.Id}}'), 'the row records the container id');
SELECT ok(:port BETWEEN current_setting('pg_container.port_range_start')::int
                  AND current_setting('pg_container.port_range_end')::int, 'the host port comes from the port range');
SELECT is(test_helpers.inspect('mosaic-user-lc-alice', '{{json .HostConfig.PortBindings}}'),
          format('{"18789/tcp":[{"HostIp":"127.0.0.1","HostPort":"%s"}]}', :port),
          'the gateway port is published on 127.0.0.1 only');
SELECT is(test_helpers.http_status(:port, '/readyz'), '200',
          'the gateway answers HTTP through its published port on 127.0.0.1');
SELECT is(test_helpers.inspect('mosaic-user-lc-alice', '{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}'),
          'volume mosaic-user-lc-alice-state /home/node/.openclaw',
          'the named volume <container name>-state is mounted at the state path');
SELECT is(test_helpers.inspect('mosaic-user-lc-alice',
          '{{index .Config.Labels "pg_container.managed"}} {{index .Config.Labels "pg_container.user_id"}}'),
          'true lc-alice', 'labels say pg_container manages it for this user');
SELECT ok(test_helpers.inspect('mosaic-user-lc-alice', '{{json .Config.Env}}')::jsonb
          @> jsonb_build_array('MOSAIC_API_URL=http://mosaic-api:3000/api',
                               'AGENT_TOKEN=' || :'token1', 'AGENT_ID=' || :'row_id'),
          'the container gets MOSAIC_API_URL, AGENT_TOKEN and AGENT_ID');
SELECT ok(test_helpers.inspect('mosaic-user-lc-alice', '{{json .Config.Env}}')::jsonb
          @> jsonb_build_array('OPENCLAW_GATEWAY_TOKEN=' || :'token1', 'OPENCLAW_STATE_DIR=/home/node/.openclaw',
                               'HOME=/home/node', 'OPENCLAW_HOME=/home/node',
                               'OPENCLAW_CONFIG_PATH=/home/node/.openclaw/openclaw.json',
                               'OPENCLAW_WORKSPACE_DIR=/home/node/.openclaw/workspace',
                               'XDG_CACHE_HOME=/home/node/.openclaw/cache'),
          '... and what OpenClaw reads: its gateway token, and the paths openclaw fleet pins, all on the volume');
SELECT is(test_helpers.inspect('mosaic-user-lc-alice', '{{.Config.Hostname}}'), 'mosaic-user-lc-alice',
          'the host name is the container name, the same across recreations (OpenClaw''s owner lease names it)');
-- (Podman reports HostConfig.NetworkMode as "bridge" for a named network;
-- both engines list the attachment under NetworkSettings.Networks.)
SELECT is(test_helpers.inspect('mosaic-user-lc-alice', '{{range $name, $net := .NetworkSettings.Networks}}{{$name}}{{end}}'),
          'mosaic-user-lc-alice-net', 'the container joins a network of its own');

-- Again, on a running container.
SELECT url AS url2, token AS token2 FROM container_ensure_running('lc-alice') \gset
SELECT is(:'url2' || ' ' || :'token2', :'url1' || ' ' || :'token1', 'a second call returns the same url and token');
SELECT is(test_helpers.containers_of('lc-alice'), 'mosaic-user-lc-alice', 'and creates nothing');
SELECT is((SELECT container_id FROM user_container WHERE user_id = 'lc-alice'), :'cid1', 'the same container is recorded');

-- Status and touch.
SELECT results_eq($$SELECT status, port FROM container_status('lc-alice')$$,
                  format($$VALUES ('running'::text, %s)$$, :port),
                  'status reports running and the host port');
SELECT isnt((SELECT last_active FROM container_status('lc-alice')), NULL, 'status reports the last activity');
UPDATE user_container SET last_active_at = now() - interval '1 hour' WHERE user_id = 'lc-alice';
SELECT container_touch('lc-alice');
SELECT ok((SELECT last_active_at > now() - interval '1 minute' FROM user_container WHERE user_id = 'lc-alice'),
          'touch records activity now');
SELECT lives_ok($$SELECT container_touch('lc-nobody')$$, 'touch of an unknown user is not an error');
SELECT is((SELECT count(*)::int FROM user_container WHERE user_id = 'lc-nobody'), 0, '... and creates no row');
SELECT is_empty($$SELECT * FROM container_status('lc-nobody')$$, 'status of an unknown user has no row');

-- Stop.
SELECT container_stop('lc-alice');
SELECT is(test_helpers.state_of('mosaic-user-lc-alice'), 'exited', 'stop stops the container');
SELECT is((SELECT status || ' ' || gateway_port FROM user_container WHERE user_id = 'lc-alice'),
          'stopped ' || :port, 'the row says stopped and keeps the port the container still binds');
SELECT lives_ok($$SELECT container_stop('lc-alice')$$, 'stopping a stopped container is not an error');
SELECT lives_ok($$SELECT container_stop('lc-nobody')$$, 'stopping an unknown user is not an error');

-- Start again: the same container, the same port.
SELECT url AS url3, token AS token3 FROM container_ensure_running('lc-alice') \gset
SELECT is(:'url3' || ' ' || :'token3', :'url1' || ' ' || :'token1', 'ensure after stop returns the same url and token');
SELECT is((SELECT container_id || ' ' || gateway_port FROM user_container WHERE user_id = 'lc-alice'),
          :'cid1' || ' ' || :port, '... restarting the same container on the same port');
SELECT is(test_helpers.http_status(:port, '/readyz'), '200', '... which answers HTTP again');

-- Restart.
SELECT test_helpers.inspect('mosaic-user-lc-alice', '{{.State.StartedAt}}') AS started_before \gset
SELECT url || ' ' || token AS restarted FROM container_restart('lc-alice') \gset
SELECT is(:'restarted'::text, :'url1' || ' ' || :'token1', 'restart returns the same url and token');
SELECT isnt(test_helpers.inspect('mosaic-user-lc-alice', '{{.State.StartedAt}}'), :'started_before',
            'restart stops and starts the container');
SELECT is(test_helpers.state_of('mosaic-user-lc-alice'), 'running', '... and leaves it running');

-- Removed behind our back: recreated on the same port, with the volume's contents.
SELECT test_helpers.docker('exec mosaic-user-lc-alice /bin/busybox sh -c "echo kept > /home/node/.openclaw/note"') \g /dev/null
SELECT test_helpers.docker('rm -f mosaic-user-lc-alice') \g /dev/null
SELECT url || ' ' || token AS recreated FROM container_ensure_running('lc-alice') \gset
SELECT is(:'recreated'::text, :'url1' || ' ' || :'token1', 'a container removed behind our back is recreated with the same url and token');
SELECT isnt((SELECT container_id FROM user_container WHERE user_id = 'lc-alice'), :'cid1', '... as a new container');
SELECT is((SELECT gateway_port FROM user_container WHERE user_id = 'lc-alice'), :port, '... on the same port');
SELECT is(test_helpers.docker('exec mosaic-user-lc-alice /bin/busybox cat /home/node/.openclaw/note'), 'kept',
          '... and the volume kept what the user stored');

-- The published URL mode.
SET pg_container.url_mode = 'published';
SELECT is((SELECT url FROM container_ensure_running('lc-alice')), 'http://127.0.0.1:' || :port,
          'url_mode = published returns http://<publish address>:<host port>');
RESET pg_container.url_mode;

SELECT * FROM finish();
