-- The seed service's flaws, each with a test its behaviour would fail.
-- (Flaw 3, concurrent ensure calls for one user, needs several sessions:
-- test/scenarios/concurrent_ensure.t.)
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(42);

-- 1. Name lookup is exact: the seed's substring match let user "1"
--    resolve to "mosaic-user-12".
SELECT container_ensure_running('sf12') \g /dev/null
SELECT container_id AS sf12_id FROM user_container WHERE user_id = 'sf12' \gset
SELECT lives_ok($$SELECT container_ensure_running('sf1')$$, 'ensure for sf1 after sf12 exists');
SELECT is(test_helpers.containers_of('sf1'), 'mosaic-user-sf1', 'user sf1 gets its own container, not mosaic-user-sf12');
SELECT isnt((SELECT container_id FROM user_container WHERE user_id = 'sf1'), :'sf12_id'::text,
            'the row of sf1 does not point at the container of sf12');
SELECT is(test_helpers.containers_of('sf12'), 'mosaic-user-sf12', 'sf12 still has exactly its own container');

-- 2. User ids are checked before anything else.  Docker is pointed at a
--    socket that does not exist: a call that got as far as Docker would
--    fail with 58030, not the validation error.
SET pg_container.docker_host = 'unix:///nonexistent/docker.sock';
SELECT count(*) AS rows_before FROM user_container \gset

SELECT throws_ok($$SELECT container_ensure_running(NULL)$$, '22004', 'user id must not be null',
                 'ensure: a NULL user id is 22004');
SELECT throws_ok($$SELECT container_stop(NULL)$$, '22004', NULL, 'stop: a NULL user id is 22004');
SELECT throws_ok($$SELECT container_restart(NULL)$$, '22004', NULL, 'restart: a NULL user id is 22004');
SELECT throws_ok($$SELECT container_touch(NULL)$$, '22004', NULL, 'touch: a NULL user id is 22004');
SELECT throws_ok($$SELECT * FROM container_status(NULL)$$, '22004', NULL, 'status: a NULL user id is 22004');

SELECT throws_ok(format('SELECT container_ensure_running(%L)', bad), '22023',
                 'user id must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$',
                 format('ensure refuses %s with 22023, stating the rule', label))
  FROM (VALUES ('', 'the empty string'),
               ('a b', 'a space'),
               ('-abc', 'a leading hyphen'),
               ('.hidden', 'a leading dot'),
               (repeat('a', 64), '64 characters'),
               (repeat('a', 1024 * 1024), '1 MB'),
               ('../etc', 'a path'),
               ('a/b', 'a slash'),
               (E'a\nb', 'a newline'),
               (E'a\x01b', 'a control character'),
               ('a''b', 'a quote'),
               ('a;b', 'a semicolon'),
               ('ñandú', 'non-ASCII letters')) AS t(bad, label);

SELECT throws_ok($$SELECT container_stop('a b')$$, '22023', NULL, 'stop refuses a bad user id');
SELECT throws_ok($$SELECT container_restart('a b')$$, '22023', NULL, 'restart refuses a bad user id');
SELECT throws_ok($$SELECT container_touch('a b')$$, '22023', NULL, 'touch refuses a bad user id');
SELECT throws_ok($$SELECT * FROM container_status('a b')$$, '22023', NULL, 'status refuses a bad user id');
SELECT lives_ok(format('SELECT * FROM container_status(%L)', repeat('a', 63)), '63 characters are allowed');
SELECT is((SELECT count(*) FROM user_container), :rows_before::bigint, 'no bad call changed the table');
RESET pg_container.docker_host;

-- 4. Two users never hold the same port.  The seed freed the port on stop
--    while the stopped container still bound it: stop A, start B, start A.
SELECT container_ensure_running('sf-a') \g /dev/null
SELECT gateway_port AS port_a FROM user_container WHERE user_id = 'sf-a' \gset
SELECT container_stop('sf-a') \g /dev/null
SELECT container_ensure_running('sf-b') \g /dev/null
SELECT gateway_port AS port_b FROM user_container WHERE user_id = 'sf-b' \gset
SELECT isnt(:port_b, :port_a, 'B, started while A is stopped, does not get A''s port');
SELECT lives_ok($$SELECT container_ensure_running('sf-a')$$, 'A starts again');
SELECT is((SELECT gateway_port FROM user_container WHERE user_id = 'sf-a'), :port_a, '... on its own port');
SELECT is(test_helpers.http_status(:port_a, '/readyz') || ' ' || test_helpers.http_status(:port_b, '/readyz'), '200 200',
          'both gateways answer on their own ports');
SELECT is((SELECT count(*) FROM user_container WHERE gateway_port IS NOT NULL)::int,
          (SELECT count(DISTINCT gateway_port) FROM user_container)::int,
          'no port is held by two rows');

--    The range has an end: exhaustion is a clear error, and changes nothing.
SELECT set_config('pg_container.port_range_start', :'port_a', false),
       set_config('pg_container.port_range_end', :'port_a', false) \g /dev/null
SELECT throws_ok($$SELECT container_ensure_running('sf-c')$$, '53400', NULL,
                 'with every port of the range taken, ensure fails with 53400');
SELECT test_helpers.error_of($$SELECT container_ensure_running('sf-c')$$) AS exhausted \gset
SELECT matches(:'exhausted'::text, 'no free gateway port in the range', '... and says the range is full');
SELECT is_empty($$SELECT * FROM container_status('sf-c')$$, '... leaving no row behind');
SELECT is(test_helpers.containers_of('sf-c'), '', '... and no container');

--    A port bound outside pg_container is skipped, whether Docker's own
--    allocator holds it ("port is already allocated") or a plain process
--    listens on it ("address already in use").
SELECT test_helpers.docker('run -d --name sf-squatter --network mosaic-internal -p 127.0.0.1:19990:18789 pgc-gateway:test') \g /dev/null
SELECT test_helpers.sh(format('(setsid python3 -c %s >/dev/null 2>&1 & echo $! > %s/sf-listener.pid)',
       test_helpers.shell_quote('import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 19991)); s.listen(); time.sleep(120)'),
       (SELECT work_dir FROM test_helpers.config))) \g /dev/null
SELECT test_helpers.wait_for($$test_helpers.sh('bash -c "exec 3<>/dev/tcp/127.0.0.1/19991" && echo listening') = 'listening'$$,
                         '60 seconds') \g /dev/null
SET pg_container.port_range_end = 19992;
SET pg_container.port_range_start = 19990;
SELECT lives_ok($$SELECT container_ensure_running('sf-d')$$, 'ensure succeeds when the first free ports are bound outside pg_container');
SELECT is((SELECT gateway_port FROM user_container WHERE user_id = 'sf-d'), 19992, '... skipping to the next port');
SELECT is(test_helpers.http_status(19992, '/readyz'), '200', '... where the gateway answers');
RESET pg_container.port_range_start;
RESET pg_container.port_range_end;
SELECT test_helpers.docker('rm -f sf-squatter') \g /dev/null
SELECT test_helpers.sh(format('kill $(cat %s/sf-listener.pid)', (SELECT work_dir FROM test_helpers.config))) \g /dev/null

-- 5. The URL: the seed mixed the container's name with the host's port.
SELECT is((SELECT url FROM container_ensure_running('sf-b')), 'http://mosaic-user-sf-b:18789',
          'by default the URL is the container name with the gateway port inside the network');
SET pg_container.url_mode = 'published';
SELECT is((SELECT url FROM container_ensure_running('sf-b')), 'http://127.0.0.1:' || :port_b,
          'url_mode = published gives the publish address with the host port');
RESET pg_container.url_mode;

SELECT * FROM finish();
