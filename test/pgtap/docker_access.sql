-- Reaching the engine: endpoint forms, API version negotiation, how Docker's
-- errors are reported, adoption on 409, image pulls, timeouts and cancels.
-- Faults come from test/fault_engine.py, which otherwise passes requests
-- through to the real dockerd.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(29);

SELECT container_ensure_running('da-user') \g /dev/null
SELECT container_id AS da_cid FROM user_container WHERE user_id = 'da-user' \gset
SELECT work_dir, fault_tcp_port FROM test_helpers.config \gset

-- Every DOCKER_HOST form the seed accepts.
SELECT set_config('pg_container.docker_host', :'work_dir' || '/docker.sock', false) \g /dev/null
SELECT lives_ok($$SELECT container_ensure_running('da-user')$$, 'a bare socket path works');
SELECT set_config('pg_container.docker_host', 'unix://' || :'work_dir' || '/docker.sock', false) \g /dev/null
SELECT lives_ok($$SELECT container_ensure_running('da-user')$$, 'unix:///path works');
SELECT test_helpers.fault_reset() \g /dev/null
SELECT set_config('pg_container.docker_host', 'tcp://127.0.0.1:' || :fault_tcp_port, false) \g /dev/null
SELECT lives_ok($$SELECT container_ensure_running('da-user')$$, 'tcp://host:port works (plain HTTP)');
SELECT set_config('pg_container.docker_host', 'http://127.0.0.1:' || :fault_tcp_port, false) \g /dev/null
SELECT lives_ok($$SELECT container_ensure_running('da-user')$$, 'http://host:port works');
SELECT cmp_ok(test_helpers.fault_count('containers/' || :'da_cid' || '/json'), '>=', 2,
              '... and both really went over TCP to the engine');
SELECT throws_ok($$SET pg_container.docker_host = 'ftp://127.0.0.1/'$$, '22023', NULL,
                 'another scheme is refused when set');
SELECT throws_ok($$SET pg_container.docker_host = 'file:///var/run/docker.sock'$$, '22023', NULL,
                 'file:// is refused when set');

-- An unreachable engine is 58030; the message does not name it (it reaches
-- roles the endpoint is hidden from; the server log has it).
SET pg_container.docker_host = 'unix:///nonexistent/docker.sock';
SELECT test_helpers.error_of($$SELECT container_ensure_running('da-user')$$) AS unreachable \gset
SELECT matches(:'unreachable'::text, '^58030: .*could not connect to the Docker engine: ',
               'an unreachable engine is 58030');
SELECT ok(strpos(:'unreachable', 'nonexistent') = 0, '... and its message does not name the endpoint');

-- API version: negotiated once per process from /_ping, capped at what we know.
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules('[{"method": "GET", "path": "^/_ping$", "action": "respond", "status": 200,
                               "body": "OK", "headers": {"Api-Version": "1.99"}}]') \g /dev/null
-- (dockerd behind the fault engine refuses 1.47; only the paths matter here)
SELECT test_helpers.error_of($$SELECT container_ensure_running('da-user')$$) \g /dev/null
SELECT test_helpers.error_of($$SELECT container_ensure_running('da-user')$$) \g /dev/null
SELECT is(test_helpers.fault_count('^GET /_ping$'), 1, 'the API version is negotiated once per process');
SELECT is(test_helpers.fault_count('^GET /v1\.47/containers/'), 2, 'an engine newer than we know is spoken to at our newest version, 1.47');
-- Another endpoint is negotiated afresh.  (The checked ensure: on dockerd,
-- which the worker's event mirror watches, a hot ensure asks nothing.)
SELECT test_helpers.use_dockerd() \g /dev/null
SELECT container_ensure_running_checked('da-user') \g /dev/null
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules('[{"method": "GET", "path": "^/_ping$", "action": "respond", "status": 200,
                               "body": "OK", "headers": {"Api-Version": "1.40"}}]') \g /dev/null
SELECT container_ensure_running('da-user') \g /dev/null
SELECT is(test_helpers.fault_count('^GET /v1\.40/containers/'), 1, 'an older engine is spoken to at its own version');
SELECT test_helpers.use_dockerd() \g /dev/null
SET pg_container.docker_api_version = '1.41';
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT container_ensure_running('da-user') \g /dev/null
SELECT is(test_helpers.fault_count('^GET /_ping$') || ' ' || test_helpers.fault_count('^GET /v1\.41/containers/'), '0 1',
          'pg_container.docker_api_version skips negotiation');
RESET pg_container.docker_api_version;
SELECT throws_ok($$SET pg_container.docker_api_version = 'latest'$$, '22023', NULL, 'a malformed API version is refused when set');

-- Docker's errors name the operation, the HTTP status and Docker's message.
SELECT test_helpers.use_dockerd() \g /dev/null
SET pg_container.network_mode = 'shared';
SET pg_container.network = 'pgc-no-such-network';
SELECT test_helpers.error_and_context_of($$SELECT container_ensure_running('da-net')$$) AS net_error \gset
SELECT is(:'net_error'::text,
          '58000: Docker engine returned HTTP 404: network pgc-no-such-network not found | Docker operation: start container "mosaic-user-da-net"',
          'a Docker error names the operation, the status and Docker''s message');
SELECT is_empty($$SELECT * FROM container_status('da-net')$$, '... and leaves no row');
RESET pg_container.network;
SELECT lives_ok($$SELECT container_ensure_running('da-net')$$, 'with the setting fixed the next call succeeds');
SELECT is(test_helpers.inspect('mosaic-user-da-net', '{{.HostConfig.NetworkMode}} {{.State.Status}}'), 'mosaic-internal running',
          '... remaking the half-made container from the current settings');
RESET pg_container.network_mode;

-- A 409 on create adopts the container holding the name.  A call whose
-- transaction rolled back left a container the row does not record (the
-- row itself, and so the token, was committed before: a container made
-- for a row that rolled back has another token, and is made again, as
-- gateway.sql shows); the lookup by name is made to miss it, as in a
-- race, so create meets the real 409.
SELECT container_set_idle_timeout('da-adopt', 30) \g /dev/null
BEGIN;
SELECT container_ensure_running('da-adopt') \g /dev/null
ROLLBACK;
SELECT test_helpers.inspect('mosaic-user-da-adopt', '{{.Id}}') AS orphan_id \gset
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules('[{"method": "GET", "path": "^/v[0-9.]+/containers/mosaic-user-da-adopt/json", "action": "respond",
                               "status": 404, "message": "No such container: mosaic-user-da-adopt", "times": 1}]') \g /dev/null
SELECT lives_ok($$SELECT container_ensure_running('da-adopt')$$, 'ensure succeeds when create answers 409');
SELECT is(test_helpers.fault_count('^POST /v[0-9.]+/containers/create'), 1, '... after trying to create');
SELECT is((SELECT container_id FROM user_container WHERE user_id = 'da-adopt'), :'orphan_id'::text,
          '... by adopting the container that holds the name');
SELECT is(test_helpers.containers_of('da-adopt'), 'mosaic-user-da-adopt', '... so the user has exactly one container');

-- A missing image is pulled once; one that cannot be had is a clear error.
SELECT test_helpers.use_fault_engine() \g /dev/null
SET pg_container.image = '127.0.0.1:1/pgc-missing:latest';
SELECT test_helpers.error_and_context_of($$SELECT container_ensure_running('da-pull')$$) AS pull_error \gset
SELECT matches(:'pull_error'::text, '^58000: Docker engine returned HTTP 500: .*connection refused \| Docker operation: pull image "127.0.0.1:1/pgc-missing:latest"$',
               'an image that cannot be pulled is a clear error');
SELECT is(test_helpers.fault_count('^POST /v[0-9.]+/images/create\?fromImage=127\.0\.0\.1%3A1%2Fpgc-missing&tag=latest$'), 1,
          '... after exactly one pull');
SELECT is(test_helpers.containers_of('da-pull') || '|' || (SELECT count(*) FROM user_container WHERE user_id = 'da-pull'), '|0',
          '... leaving neither a container nor a row');
RESET pg_container.image;

-- A slow engine hits pg_container.docker_timeout.
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules('[{"path": "/containers/", "action": "pass", "delay_ms": 3000}]') \g /dev/null
SET pg_container.docker_timeout = 500;
SELECT test_helpers.error_and_context_of($$SELECT container_ensure_running('da-user')$$) AS timeout_error \gset
SELECT matches(:'timeout_error'::text, '^58030: the Docker engine did not answer within 500 ms \| Docker operation: inspect container "[0-9a-f]+"$',
               'a request slower than docker_timeout fails with 58030 and says so');
RESET pg_container.docker_timeout;

-- A hung engine: statement_timeout ends the call within about a second, as 57014.
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules('[{"path": "/containers/", "action": "hang"}]') \g /dev/null
SELECT clock_timestamp() AS hang_start \gset
SET statement_timeout = '1s';
SELECT test_helpers.error_of($$SELECT container_ensure_running('da-user')$$) AS hang_error \gset
RESET statement_timeout;
SELECT matches(:'hang_error'::text, '^57014: canceling statement due to statement timeout',
               'statement_timeout cancels a hung Docker request with 57014');
SELECT cmp_ok(clock_timestamp() - :'hang_start'::timestamptz, '<', interval '2 seconds', '... within 2 seconds');
SELECT test_helpers.use_dockerd() \g /dev/null
SELECT lives_ok($$SELECT container_ensure_running('da-user')$$, 'the next call against a healthy engine succeeds');

SELECT * FROM finish();
