-- Per-user networks on a plain engine.  pg_container.attach_containers:
-- by default ({api_host}) the host of api_url is attached to each user's
-- network, except with url_mode = published, where the application reaches
-- gateways through their published ports and joins nothing (and so nothing
-- warns on every start); an empty value attaches nothing in any mode.  And
-- a publish_address other than loopback, which a tenant's container
-- reaches (with another user's port) through its network's gateway, is
-- warned of once per session: the networks do not keep tenants apart then.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(16);

-- What psql prints for one ensure, with the given settings, in a session
-- of its own: WARNINGs show there.
CREATE FUNCTION pg_temp.ensure_output(user_id text, settings text) RETURNS text LANGUAGE sql AS $$
    SELECT test_helpers.session_output(settings, format('SELECT 1 FROM container_ensure_running(%L)', user_id)) $$;
CREATE FUNCTION pg_temp.networks_of(container text) RETURNS text[] LANGUAGE sql AS $$
    SELECT string_to_array(test_helpers.docker(format('inspect -f %s %s',
        test_helpers.shell_quote('{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'), container)), ' ') $$;

SELECT is(current_setting('pg_container.attach_containers'), '{api_host}',
          'attach_containers defaults to {api_host}, the host of api_url');
SELECT is(test_helpers.error_of($$SET pg_container.attach_containers = 'api,{volume}'$$),
          '22023: invalid value for parameter "pg_container.attach_containers": "api,{volume}"',
          'a word that is neither a container name nor {api_host} is refused');

-- An application outside Docker: its api_url names no container here.
SELECT is(pg_temp.ensure_output('ac-published',
              $$SET pg_container.url_mode = 'published'; SET pg_container.api_url = 'http://ac-no-such-api:3000/api'$$),
          '1', 'with url_mode = published and the default attach_containers, a start warns of nothing');
SELECT matches(pg_temp.ensure_output('ac-internal', $$SET pg_container.api_url = 'http://ac-no-such-api:3000/api'$$),
               'WARNING:  container "ac-no-such-api" could not be attached',
               '... while with url_mode = internal the missing API container is warned of');

-- An API container that exists: attached by default, not with ''.
SELECT test_helpers.docker('run -d --name ac-api pgc-gateway:test') IS NOT NULL AS api_started \gset
SELECT is(pg_temp.ensure_output('ac-default', $$SET pg_container.api_url = 'http://ac-api:3000/api'$$),
          '1', 'with url_mode = internal, the host of api_url is attached without a word');
SELECT ok(pg_temp.networks_of('ac-api') @> ARRAY['mosaic-user-ac-default-net'], '... to the user''s network');
SELECT is(pg_temp.ensure_output('ac-none', $$SET pg_container.api_url = 'http://ac-api:3000/api'; SET pg_container.attach_containers = ''$$)
              || ' ' || array_to_string(pg_temp.networks_of('ac-api'), ' '),
          '1 bridge mosaic-user-ac-default-net ',
          'an empty attach_containers attaches nothing, and warns of nothing');

-- A publish address every container reaches: a WARNING, once a session.
SELECT test_helpers.session_output(
           $$SET pg_container.publish_address = '0.0.0.0'; SET pg_container.attach_containers = ''$$,
           $$SELECT count(*) FROM container_ensure_running('ac-wide-1') a, container_ensure_running('ac-wide-2') b$$)
       AS wide_output \gset
SELECT matches(:'wide_output'::text,
               '^WARNING:  per-user networks do not keep tenants apart while gateway ports are published on "0.0.0.0"',
               'a publish_address other than loopback with per-user networks is warned of');
SELECT is(array_length(regexp_split_to_array(:'wide_output'::text, 'WARNING:'), 1), 2, '... once per session');
SELECT is(pg_temp.ensure_output('ac-loop', $$SET pg_container.publish_address = '127.0.0.2'; SET pg_container.attach_containers = ''$$),
          '1', '... while any loopback address is not');

-- A removal detaches whatever is attached to the user's network, not what
-- the settings of the session that carries it out (here the worker's)
-- name: ac-api is attached by hand, and no setting names it.
SELECT pg_temp.ensure_output('ac-detach', $$SET pg_container.attach_containers = ''$$) AS ignored \gset
SELECT test_helpers.docker('network connect mosaic-user-ac-detach-net ac-api') AS ignored \gset
SELECT container_remove('ac-detach', false);
SELECT lives_ok($$SELECT test_helpers.wait_removed('ac-detach')$$, 'a user whose network has a container attached is removed');
SELECT is(test_helpers.docker('network ls -q --filter name=^mosaic-user-ac-detach-net$'), '',
          '... with their network, once what was attached to it is detached');
SELECT ok(NOT pg_temp.networks_of('ac-api') @> ARRAY['mosaic-user-ac-detach-net'], '... ac-api among them');

-- The engine answering a network's removal with 500 "error marking network
-- for deletion" is asked again within the same pass: the removal succeeds
-- without a failed pass.  The worker goes through the fault engine too,
-- as it may be the one that carries the removal out.
SELECT pg_temp.ensure_output('ac-mark', $$SET pg_container.attach_containers = ''$$) AS ignored \gset
SELECT format('ALTER SYSTEM SET pg_container.docker_host = %L', 'unix://' || test_helpers.fault_socket()) \gexec
SELECT test_helpers.use_fault_engine();
SELECT test_helpers.reload();
SELECT pg_sleep(1.5);
SELECT test_helpers.fault_rules(jsonb_build_array(jsonb_build_object(
    'method', 'DELETE', 'path', '^/v[0-9.]+/networks/mosaic-user-ac-mark-net$', 'action', 'respond', 'status', 500,
    'message', 'error while removing network: error marking network mosaic-user-ac-mark-net (0123456789ab) for deletion: failed to update store for object type *libnetwork.network: context deadline exceeded',
    'times', 2)));
SELECT clock_timestamp() AS mark_removed_at \gset
SELECT container_remove('ac-mark', false);
SELECT test_helpers.wait_removed('ac-mark');
SELECT is(test_helpers.fault_count('^DELETE /v[0-9.]+/networks/mosaic-user-ac-mark-net$'), 3,
          'a network removal answered 500 "error marking network for deletion" is asked again until it succeeds');
SELECT is((SELECT count(*) FROM container_event
            WHERE user_id = 'ac-mark' AND event = 'error' AND at > :'mark_removed_at')::integer, 0,
          '... within the one pass: no failed removal is recorded');
ALTER SYSTEM RESET pg_container.docker_host;
SELECT test_helpers.use_dockerd();
SELECT test_helpers.reload();
SELECT is(test_helpers.docker('network ls -q --filter name=^mosaic-user-ac-mark-net$'), '', '... and the network is gone');

\o /dev/null
SET pg_container.api_url = 'http://ac-api:3000/api';
SELECT container_remove(u, false) FROM unnest(ARRAY['ac-published', 'ac-internal', 'ac-default', 'ac-none', 'ac-wide-1', 'ac-wide-2', 'ac-loop']) u;
-- Carried out here, with this session's api_url, so that ac-api is
-- detached: the worker's own settings do not name it.
SELECT container_process_removals();
SELECT test_helpers.docker('rm -f ac-api');
\o
SELECT * FROM finish();
