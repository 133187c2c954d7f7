-- Docker over TLS, against the test dockerd listening with --tlsverify on
-- 127.0.0.1, with certificates made by the openssl command (test/lib/env.sh).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(8);

SELECT work_dir, docker_tls_port FROM test_helpers.config \gset
SELECT 'tcp://127.0.0.1:' || :docker_tls_port AS tls_tcp, 'https://127.0.0.1:' || :docker_tls_port AS tls_https \gset

-- The right CA and client certificate: tcp:// speaks TLS when a certificate path is set.
SELECT set_config('pg_container.docker_host', :'tls_tcp', false) \g /dev/null
SELECT set_config('pg_container.docker_cert_path', :'work_dir' || '/tls/client', false) \g /dev/null
SELECT lives_ok($$SELECT container_ensure_running('tls-user')$$, 'tcp:// with docker_cert_path works over TLS with a client certificate');
SELECT is(test_helpers.state_of('mosaic-user-tls-user'), 'running', '... and the container runs');
SELECT set_config('pg_container.docker_host', :'tls_https', false) \g /dev/null
SELECT lives_ok($$SELECT container_stop('tls-user')$$, 'https:// works too');

-- No client certificate: dockerd refuses, and we say so.
SELECT set_config('pg_container.docker_cert_path', :'work_dir' || '/tls/no-client', false) \g /dev/null
SELECT test_helpers.error_of($$SELECT container_ensure_running('tls-user')$$) AS no_cert \gset
SELECT matches(:'no_cert'::text,
               '^58030: (could not connect to|connection to) the Docker engine.*: (SSL|Failure when receiving)',
               'without a client certificate dockerd refuses the connection, reported as 58030');

-- A server certificate from another CA: we refuse it.
SELECT set_config('pg_container.docker_cert_path', :'work_dir' || '/tls/other-ca', false) \g /dev/null
SELECT test_helpers.error_of($$SELECT container_ensure_running('tls-user')$$) AS other_ca \gset
SELECT matches(:'other_ca'::text,
               '^58030: could not connect to the Docker engine: SSL peer certificate',
               'a server certificate from another CA is refused by us, reported as 58030');

-- docker_tls_verify = off accepts it (the client certificate is still sent).
SET pg_container.docker_tls_verify = off;
SELECT lives_ok($$SELECT container_ensure_running('tls-user')$$, 'with docker_tls_verify off the same engine is accepted');
RESET pg_container.docker_tls_verify;

-- Plain HTTP to the TLS port: the engine's own complaint comes through.
RESET pg_container.docker_cert_path;
SELECT set_config('pg_container.docker_host', :'tls_tcp', false) \g /dev/null
SELECT test_helpers.error_of($$SELECT container_ensure_running('tls-user')$$) AS plain \gset
SELECT matches(:'plain'::text, '^58000: .*HTTP 400: Client sent an HTTP request to an HTTPS server',
               'tcp:// without a certificate path is plain HTTP, and the engine''s refusal is reported');
RESET pg_container.docker_host;
SELECT lives_ok($$SELECT container_ensure_running('tls-user')$$, 'back on the unix socket, the next call succeeds');

SELECT * FROM finish();
