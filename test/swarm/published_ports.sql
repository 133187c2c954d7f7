-- Published ports on a swarm.  Host-mode publishing binds every address of
-- the node, where any tenant's task reaches it (through the node's
-- addresses, or its docker_gwbridge gateway): per-user networks would be
-- bypassed, with only the gateway's token check left.  So with the
-- defaults (network_mode per_user, url_mode internal) a service publishes
-- nothing: its URL is internal, on the user's overlay, and its readiness
-- is its task running.  url_mode published still publishes, with a WARNING
-- that says what it costs; that the costs are real is checked too, which
-- also shows that the probe below can reach a port when one is there.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(11);

SET pg_container.network_mode = 'per_user';
SET pg_container.url_mode = 'internal';

-- The node's own addresses, as the swarm's dockerd (in this namespace)
-- has them, and a probe from inside a service's task: GET /healthz on
-- each of them and on the task's default gateway, at the given port; the
-- answers ('ok' each), '' when none answers.
SELECT string_agg(split_part(a, '/', 1), ' ') AS node_addresses
  FROM regexp_split_to_table(test_helpers.sh($$ip -4 -o addr show | awk '{print $4}'$$), E'\n') a
 WHERE a <> '' \gset
CREATE FUNCTION pg_temp.task(service text) RETURNS text LANGUAGE sql AS $$
    SELECT test_helpers.docker(format('ps -q --filter label=com.docker.swarm.service.name=%s', service)) $$;
CREATE FUNCTION pg_temp.reach_port_from(service text, port integer, addresses text) RETURNS text LANGUAGE sql AS $$
    SELECT test_helpers.docker(format('exec %s /bin/busybox sh -c %s', pg_temp.task(service), test_helpers.shell_quote(format($script$
for ip in %s $(/bin/busybox ip route | /bin/busybox awk '/^default/ {print $3}'); do
  printf 'GET /healthz HTTP/1.0\r\n\r\n' | /bin/busybox nc -w 2 "$ip" %s 2>/dev/null | /bin/busybox tail -n 1
done
true$script$, addresses, port)))) $$;
-- A name as the API container resolves and reaches it (as in user_network.sql).
CREATE FUNCTION pg_temp.reach_name_from(container text, name text) RETURNS text LANGUAGE sql AS $$
    SELECT test_helpers.docker(format('exec %s /bin/busybox sh -c %s', container, test_helpers.shell_quote(format($script$
ip=$(/bin/busybox nslookup %s 127.0.0.11 2>/dev/null | /bin/busybox awk '/^Address/ && $2 !~ /^127\.0\.0\.11/ {print $2}' | /bin/busybox tail -n 1)
[ -n "$ip" ] && printf 'GET /healthz HTTP/1.0\r\n\r\n' | /bin/busybox nc -w 3 "$ip" 18789 | /bin/busybox tail -n 1
true$script$, name)))) $$;

SELECT test_helpers.docker('run -d --name sw-pp-api --network pgc-swarm-net pgc-gateway:test') IS NOT NULL AS api_started \gset
SET pg_container.attach_containers = 'sw-pp-api';

SELECT url AS url_a FROM container_ensure_running('sw-pp-a') \gset
SELECT url AS url_b FROM container_ensure_running('sw-pp-b') \gset
SELECT gateway_port AS port_b FROM user_container WHERE user_id = 'sw-pp-b' \gset

SELECT is(test_helpers.docker('service inspect -f ''{{json .Spec.EndpointSpec.Ports}}|{{json .Endpoint.Ports}}'' mosaic-user-sw-pp-b'),
          'null|null', 'with the defaults, a user''s service publishes no port');
SELECT is(test_helpers.docker('service inspect -f ''{{index .Spec.Labels "pg_container.host_port"}}'' mosaic-user-sw-pp-b'),
          :'port_b', '... and carries the user''s port in a label');
SELECT is(:'url_b'::text, 'http://mosaic-user-sw-pp-b:18789', '... its URL is the internal one');
SELECT is(pg_temp.reach_name_from('sw-pp-api', 'mosaic-user-sw-pp-b'), 'ok',
          '... which answers the API container on the user''s overlay');
SELECT is(pg_temp.reach_port_from('mosaic-user-sw-pp-a', :port_b, :'node_addresses'), '',
          'a tenant''s task reaches another user''s gateway through none of the node''s addresses');
\o /dev/null
SELECT container_stop('sw-pp-b');
\o
SELECT is(test_helpers.error_of($$SELECT container_ensure_running('sw-pp-b')$$), 'no error',
          'a start of a service that publishes nothing waits for its task and works');

-- url_mode = published, in a session of its own: a WARNING, once.
SELECT test_helpers.session_output(
           $$SET pg_container.network_mode = 'per_user'; SET pg_container.url_mode = 'published'$$,
           $$SET pg_container.attach_containers = ''$$,
           $$SELECT count(*) FROM container_ensure_running('sw-pp-c') c, container_ensure_running('sw-pp-d') d$$)
       AS published_output \gset
SELECT matches(:'published_output'::text,
               '^WARNING:  per-user networks do not keep tenants apart while gateway ports are published on every address of a swarm node',
               'url_mode = published with per-user networks on a swarm warns that tenants are not kept apart');
SELECT is(array_length(regexp_split_to_array(:'published_output'::text, 'WARNING:'), 1), 2, '... once per session');
SELECT gateway_port AS port_d FROM user_container WHERE user_id = 'sw-pp-d' \gset
SELECT is(pg_temp.reach_port_from('mosaic-user-sw-pp-c', :port_d, :'node_addresses') <> '', true,
          '... as they are not: a published port answers another tenant''s task');

-- A service made publishing (as every one before 0.6.0) is outdated with
-- the defaults, and a restart drops its port, keeping it in the label.
SELECT gateway_port AS port_c FROM user_container WHERE user_id = 'sw-pp-c' \gset
SELECT is((SELECT outdated FROM container_status('sw-pp-c')), true,
          'a service that publishes its port is outdated where url_mode is internal');
\o /dev/null
SELECT container_restart('sw-pp-c');
\o
SELECT is(test_helpers.docker('service inspect -f ''{{json .Spec.EndpointSpec.Ports}} {{index .Spec.Labels "pg_container.host_port"}}'' mosaic-user-sw-pp-c'),
          'null ' || :'port_c', '... and a restart leaves it publishing nothing, its port in the label');

\o /dev/null
SELECT container_remove(u, false) FROM unnest(ARRAY['sw-pp-a', 'sw-pp-b', 'sw-pp-c', 'sw-pp-d']) u;
SELECT container_process_removals();
SELECT test_helpers.docker('rm -f sw-pp-api');
\o
SELECT * FROM finish();
