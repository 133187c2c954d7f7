-- ensure returns only once the gateway answers 2xx on pg_container.ready_path
-- through its published port; a 404 is not ready; a timeout is a clear error
-- that leaves the container running.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(8);

-- pgc-slowready:test answers 404 on /readyz for its first 2 seconds.
SET pg_container.image = 'pgc-slowready:test';
SELECT clock_timestamp() AS t0 \gset
SELECT lives_ok($$SELECT container_ensure_running('rd-slow')$$, 'ensure on a gateway that is slow to get ready succeeds');
SELECT cmp_ok(clock_timestamp() - :'t0'::timestamptz, '>=', interval '1.5 seconds',
              '... only after waiting for it');
SELECT gateway_port AS slow_port FROM user_container WHERE user_id = 'rd-slow' \gset
SELECT is(test_helpers.http_status(:slow_port, '/readyz'), '200', '... so the gateway answers as soon as ensure returns');

-- 404 is not ready: the wait times out with a clear error, container left running.
RESET pg_container.image;
SET pg_container.ready_path = '/not-there';
SET pg_container.ready_timeout = '1s';
SELECT clock_timestamp() AS t1 \gset
SELECT test_helpers.error_of($$SELECT container_ensure_running('rd-never')$$) AS never_error \gset
SELECT matches(:'never_error'::text,
               '^55000: container "mosaic-user-rd-never" did not become ready within 1000 ms',
               'a gateway that answers 404 is not ready: ensure fails with 55000 after ready_timeout');
SELECT cmp_ok(clock_timestamp() - :'t1'::timestamptz, '<', interval '5 seconds', '... without waiting much longer');
SELECT is(test_helpers.state_of('mosaic-user-rd-never'), 'running', '... leaving the container running');

-- An empty ready_path skips the wait; the next call adopts the running container.
SET pg_container.ready_path = '';
SELECT lives_ok($$SELECT container_ensure_running('rd-never')$$, 'with ready_path empty, ensure does not wait');
SELECT is(test_helpers.containers_of('rd-never'), 'mosaic-user-rd-never', '... and adopts the container left running');
RESET pg_container.ready_path;
RESET pg_container.ready_timeout;

SELECT * FROM finish();
