-- pg_container.attach_containers on a plain engine with per-user networks:
-- by default ({api_host}) the host of api_url is attached to each user's
-- network, except with url_mode = published, where the application reaches
-- gateways through their published ports and joins nothing (and so nothing
-- warns on every start); an empty value attaches nothing in any mode.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(7);

-- psql's output (stderr too) of one ensure, with the given settings, in a
-- session of its own: WARNINGs show in it.
CREATE FUNCTION pg_temp.ensure_output(user_id text, settings text) RETURNS text LANGUAGE sql AS $$
    SELECT test_helpers.sh(format('psql -X -qAt -h %s -p %s -d pgc_test -c %s -c %s',
                                  (SELECT work_dir FROM test_helpers.config), current_setting('port'),
                                  test_helpers.shell_quote(settings),
                                  test_helpers.shell_quote(format('SELECT 1 FROM container_ensure_running(%L)', user_id)))) $$;
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

\o /dev/null
SET pg_container.api_url = 'http://ac-api:3000/api';
SELECT container_remove(u, false) FROM unnest(ARRAY['ac-published', 'ac-internal', 'ac-default', 'ac-none']) u;
SELECT test_helpers.docker('rm -f ac-api');
\o
SELECT * FROM finish();
