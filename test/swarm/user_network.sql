-- pg_container.network_mode = per_user on a swarm: each user's own
-- network is an attachable overlay network (a bridge belongs to one
-- engine, and a task may run on any node), labelled as the user's, the
-- only network of the user's service, and removed with the user.  One
-- user's gateway cannot reach another's, as on a plain engine.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(12);

SET pg_container.network_mode = 'per_user';

CREATE FUNCTION pg_temp.service(name text, template text) RETURNS text LANGUAGE sql AS $$
    SELECT test_helpers.docker(format('service inspect -f %s %s', test_helpers.shell_quote(template), name)) $$;
CREATE FUNCTION pg_temp.network(name text, template text) RETURNS text LANGUAGE sql AS $$
    SELECT test_helpers.docker(format('network inspect -f %s %s', test_helpers.shell_quote(template), name)) $$;
-- What a gateway's /healthz answers when asked from inside another
-- service's task by name: the name through Docker's DNS with busybox's own
-- resolver, then nc to the address (the static busybox wget crashes on its
-- first socket call; see network_isolation.t).  '' when unreachable.
CREATE FUNCTION pg_temp.reach_from(container text, name text) RETURNS text LANGUAGE sql AS $$
    SELECT test_helpers.docker(format('exec %s /bin/busybox sh -c %s', container, test_helpers.shell_quote(format($script$
ip=$(/bin/busybox nslookup %s 127.0.0.11 2>/dev/null | /bin/busybox awk '/^Address/ && $2 !~ /^127\.0\.0\.11/ {print $2}' | /bin/busybox tail -n 1)
[ -n "$ip" ] && printf 'GET /healthz HTTP/1.0\r\n\r\n' | /bin/busybox nc -w 3 "$ip" 18789 | /bin/busybox tail -n 1
true$script$, name)))) $$;
CREATE FUNCTION pg_temp.reach(service text, name text) RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.reach_from(format('$(docker -H unix://%s ps -q --filter label=com.docker.swarm.service.name=%s)',
                                     test_helpers.docker_socket(), service), name) $$;

-- The application's API, a plain container on the manager, which
-- pg_container attaches to every user's network.  It starts on a network
-- of its own (the suite's overlay), as an application's would: only there
-- does Docker give it the DNS server that resolves service names.
SELECT test_helpers.docker('run -d --name sw-net-api --network pgc-swarm-net pgc-gateway:test') IS NOT NULL AS api_started \gset
SET pg_container.attach_containers = 'sw-net-api';

\o /dev/null
SELECT FROM container_ensure_running('sw-net-a'), container_ensure_running('sw-net-b') AS b;
\o
SELECT gateway_port AS port_a FROM user_container WHERE user_id = 'sw-net-a' \gset

SELECT is(pg_temp.network('mosaic-user-sw-net-a-net', '{{.Driver}} {{.Scope}} {{.Attachable}}'),
          'overlay swarm true',
          'with network_mode per_user on a swarm, the user''s own network is an attachable overlay network');
SELECT is(pg_temp.network('mosaic-user-sw-net-a-net', '{{index .Labels "pg_container.user_id"}}'),
          'sw-net-a', '... labelled as the user''s');
SELECT is(pg_temp.service('mosaic-user-sw-net-a', '{{range .Spec.TaskTemplate.Networks}}{{.Target}} {{end}}'),
          pg_temp.network('mosaic-user-sw-net-a-net', '{{.Id}}') || ' ',
          '... and the only network of the user''s service');
SELECT is(test_helpers.http_status(:port_a, '/readyz'), '200', 'the gateway answers through its published port');
SELECT is(pg_temp.reach('mosaic-user-sw-net-a', 'mosaic-user-sw-net-a'), 'ok',
          'a gateway reaches itself by its service name on its own network');
SELECT is(pg_temp.reach('mosaic-user-sw-net-a', 'mosaic-user-sw-net-b'), '',
          '... but not another user''s gateway');

SELECT ok(string_to_array(test_helpers.docker('inspect -f ''{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'' sw-net-api'), ' ')
          @> ARRAY['mosaic-user-sw-net-a-net', 'mosaic-user-sw-net-b-net'],
          'the API''s container is attached to each user''s overlay network');
SELECT is(pg_temp.reach_from('sw-net-api', 'mosaic-user-sw-net-b'), 'ok',
          '... and reaches a gateway there by its service name');

-- A second start attaches the API again, which the overlay answers with
-- HTTP 409 "... is already attached to network ...": that is no failure.
\o /dev/null
SELECT container_stop('sw-net-a');
\o
SELECT is(test_helpers.error_of($$SELECT container_ensure_running('sw-net-a')$$), 'no error',
          'a user''s second start, with the API attached already, works');
SELECT is(pg_temp.reach_from('sw-net-api', 'mosaic-user-sw-net-a'), 'ok',
          '... and the API still reaches that gateway by its service name');

\o /dev/null
SELECT container_remove('sw-net-a');
SELECT test_helpers.wait_removed('sw-net-a') \g /dev/null
\o
SELECT ok(test_helpers.wait_for($$test_helpers.docker('network ls -q --filter name=^mosaic-user-sw-net-a-net$') = ''$$,
                                '30 seconds'),
          'container_remove removes the user''s own network');
SELECT is(test_helpers.docker('volume ls -q --filter name=^mosaic-user-sw-net-a-state$'), 'mosaic-user-sw-net-a-state',
          '... and keeps the volume, as always by default');

\o /dev/null
SELECT container_remove('sw-net-b', false);
SELECT test_helpers.wait_removed('sw-net-b') \g /dev/null
SELECT test_helpers.docker('rm -f sw-net-api');
\o
SELECT * FROM finish();
