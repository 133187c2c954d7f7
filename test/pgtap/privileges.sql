-- Least privilege, proved as unprivileged roles: nothing without a grant,
-- the README's application and operator grants do what they say and no
-- more, settings are out of reach, and a role that can create objects on
-- the search_path cannot hijack the SECURITY DEFINER functions.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(46 + (SELECT count(*)::int FROM pg_settings WHERE name LIKE 'pg_container.%'));

-- Roles, granted exactly as the README says.
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['pgc_app', 'pgc_ops', 'pgc_nobody', 'pgc_attacker'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('DROP OWNED BY %I', r);
            EXECUTE format('DROP ROLE %I', r);
        END IF;
        EXECUTE format('CREATE ROLE %I', r);
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION container_ensure_running(text), container_touch(text), container_status(text),
                          container_set_idle_timeout(text, integer)
    TO pgc_app;
GRANT EXECUTE ON FUNCTION container_ensure_running(text), container_touch(text), container_status(text),
                          container_set_idle_timeout(text, integer),
                          container_stop(text), container_restart(text),
                          container_reap_idle(), container_health_check_all()
    TO pgc_ops;
GRANT SELECT (id, user_id, container_id, container_name, gateway_port, status, last_active_at,
              idle_timeout_min, created_at, updated_at)
    ON user_container TO pgc_ops;

-- Without a grant, every function is 42501.
SELECT is(test_helpers.run_as('pgc_nobody', format('SELECT %s', call)),
          format('42501: permission denied for function %s', fn),
          format('without a grant, %s is refused with 42501', fn))
  FROM (VALUES ('container_ensure_running', $$container_ensure_running('pv-user')$$),
               ('container_stop', $$container_stop('pv-user')$$),
               ('container_restart', $$container_restart('pv-user')$$),
               ('container_touch', $$container_touch('pv-user')$$),
               ('container_status', $$container_status('pv-user')$$),
               ('container_set_idle_timeout', $$container_set_idle_timeout('pv-user', 5)$$),
               ('container_reap_idle', $$container_reap_idle()$$),
               ('container_health_check_all', $$container_health_check_all()$$),
               ('container_reencrypt_tokens', $$container_reencrypt_tokens()$$),
               ('container_set_profile', $$container_set_profile('pv-user', NULL)$$),
               ('container_remove', $$container_remove('pv-user')$$),
               ('container_outdated', $$container_outdated()$$),
               ('container_orphans', $$container_orphans()$$),
               ('container_overview_rows', $$container_overview_rows()$$)) AS t(fn, call);
SELECT is(test_helpers.run_as('pgc_nobody', 'SELECT count(*) FROM user_container'),
          '42501: permission denied for table user_container', 'without a grant, the table cannot be read');
SELECT is((SELECT count(*)::int FROM user_container WHERE user_id = 'pv-user'), 0, '... and nothing was created');

-- The application grants: ensure, touch and status.
SELECT matches(test_helpers.query_as('pgc_app', $$SELECT url || ' ' || token FROM container_ensure_running('pv-app')$$),
               '^http://mosaic-user-pv-app:18789 [0-9a-f]{64}$', 'the application role can ensure running');
SELECT is(test_helpers.run_as('pgc_app', $$SELECT container_touch('pv-app')$$), 'ok', '... and touch');
SELECT is(test_helpers.query_as('pgc_app', $$SELECT status FROM container_status('pv-app')$$), 'running', '... and read the status');
SELECT is(test_helpers.run_as('pgc_app', $$SELECT container_set_idle_timeout('pv-app', 90)$$), 'ok', '... and set the idle timeout');
SELECT is(test_helpers.run_as('pgc_app', $$SELECT container_reap_idle()$$),
          '42501: permission denied for function container_reap_idle', '... but not reap');
SELECT is(test_helpers.run_as('pgc_app', $$SELECT container_health_check_all()$$),
          '42501: permission denied for function container_health_check_all', '... nor run health checks');
SELECT is(test_helpers.run_as('pgc_app', $$SELECT container_stop('pv-app')$$),
          '42501: permission denied for function container_stop', '... but not stop');
SELECT is(test_helpers.run_as('pgc_app', $$SELECT container_restart('pv-app')$$),
          '42501: permission denied for function container_restart', '... nor restart');
SELECT is(test_helpers.run_as('pgc_app', $$SELECT container_reencrypt_tokens()$$),
          '42501: permission denied for function container_reencrypt_tokens', '... nor re-encrypt tokens');
SELECT is(test_helpers.run_as('pgc_app', 'SELECT count(*) FROM user_container'),
          '42501: permission denied for table user_container', '... nor read user_container');
SELECT is(test_helpers.run_as('pgc_app', $$UPDATE user_container SET status = 'stopped'$$),
          '42501: permission denied for table user_container', '... nor write it');

-- No setting is within its reach: SET is 42501 (55P02 for the key files
-- and the worker's database, which only the configuration file can change
-- at all), and so is ALTER ROLE ... SET on itself.
SELECT is(test_helpers.run_as('pgc_app', format('SET %s = %L', name, boot_val)),
          CASE context
               WHEN 'sighup' THEN format('55P02: parameter "%s" cannot be changed now', name)
               WHEN 'postmaster' THEN format('55P02: parameter "%s" cannot be changed without restarting the server', name)
               ELSE format('42501: permission denied to set parameter "%s"', name) END,
          format('the application role cannot SET %s', name))
  FROM pg_settings WHERE name LIKE 'pg_container.%' ORDER BY name;
SELECT is(test_helpers.run_as('pgc_app', format('ALTER ROLE pgc_app SET %s = %L', name, boot_val)),
          CASE WHEN context = 'sighup'
               THEN format('55P02: parameter "%s" cannot be changed now', name)
               ELSE format('42501: permission denied to set parameter "%s"', name) END,
          format('... nor ALTER ROLE ... SET %s', name))
  FROM pg_settings WHERE name IN ('pg_container.docker_host', 'pg_container.image',
                                  'pg_container.publish_address', 'pg_container.encryption_key_file')
 ORDER BY name;

-- Where the key and the engine are is not shown to it.
-- (PostgreSQL 16 shortened the message to "permission denied to examine".)
SELECT matches(test_helpers.query_as('pgc_app', $$SELECT current_setting('pg_container.encryption_key_file')$$),
          '^42501: (must be superuser or have privileges of pg_read_all_settings|permission denied) to examine "pg_container.encryption_key_file"$',
          'the application role cannot read the key file setting');
SELECT is(test_helpers.query_as('pgc_app', $$SELECT count(*) FROM pg_settings
                                         WHERE name IN ('pg_container.encryption_key_file',
                                                        'pg_container.encryption_key_file_previous',
                                                        'pg_container.docker_host',
                                                        'pg_container.docker_cert_path')$$),
          '0', '... and pg_settings hides the key files, the endpoint and the certificate path from it');

-- Volume mount options carry credentials (a CIFS password=): a role with no
-- grants cannot read them, by SHOW or by pg_settings.
SET pg_container.volume_driver_options = 'type=cifs o=username=u,password=pv-secret device=//127.0.0.1/s';
SELECT matches(test_helpers.query_as('pgc_nobody', $$SELECT current_setting('pg_container.volume_driver_options')$$),
          '^42501: (must be superuser or have privileges of pg_read_all_settings|permission denied) to examine "pg_container.volume_driver_options"$',
          'a role with no grants cannot read the volume driver options');
SELECT is(test_helpers.query_as('pgc_nobody', $$SELECT count(*) FROM pg_settings WHERE name = 'pg_container.volume_driver_options'$$),
          '0', '... nor see them in pg_settings');
RESET pg_container.volume_driver_options;

-- The operator grants: the lifecycle, and the table without the tokens.
SELECT is(test_helpers.run_as('pgc_ops', $$SELECT container_stop('pv-app')$$), 'ok', 'the operator role can stop');
SELECT is(test_helpers.run_as('pgc_ops', $$SELECT count(*) FROM container_reap_idle()$$), 'ok', '... and reap');
SELECT is(test_helpers.run_as('pgc_ops', $$SELECT count(*) FROM container_health_check_all()$$), 'ok', '... and run health checks');
SELECT matches(test_helpers.query_as('pgc_ops', $$SELECT url FROM container_restart('pv-app')$$),
               '^http://mosaic-user-pv-app:18789$', '... and restart');
SELECT is(test_helpers.query_as('pgc_ops', $$SELECT status || ' ' || container_name FROM user_container WHERE user_id = 'pv-app'$$),
          'running mosaic-user-pv-app', '... and read the table');
SELECT is(test_helpers.query_as('pgc_ops', $$SELECT gateway_token FROM user_container WHERE user_id = 'pv-app'$$),
          '42501: permission denied for table user_container', '... but not the token column');
SELECT is(test_helpers.query_as('pgc_ops', $$SELECT * FROM user_container$$),
          '42501: permission denied for table user_container', '... nor SELECT *, which needs every column');

-- Hijacking: a role with CREATE on a schema placed before pg_catalog on the
-- search_path shadows every function and operator the extension uses, each
-- recording that it ran.  The functions' pinned search_path keeps them out.
CREATE SCHEMA pgc_evil AUTHORIZATION pgc_attacker;
SET ROLE pgc_attacker;
CREATE TABLE pgc_evil.hijacked (what text);
GRANT INSERT ON pgc_evil.hijacked TO PUBLIC;
CREATE FUNCTION pgc_evil.note(what text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO pgc_evil.hijacked VALUES (what) $$;
CREATE FUNCTION pgc_evil.now() RETURNS timestamptz LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pgc_evil.note('now'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION pgc_evil.gen_random_uuid() RETURNS uuid LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pgc_evil.note('gen_random_uuid'); RETURN pg_catalog.gen_random_uuid(); END $$;
CREATE FUNCTION pgc_evil.generate_series(integer, integer) RETURNS SETOF integer LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pgc_evil.note('generate_series'); RETURN QUERY SELECT pg_catalog.generate_series($1, $2); END $$;
CREATE FUNCTION pgc_evil.pg_try_advisory_xact_lock(integer, integer) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pgc_evil.note('pg_try_advisory_xact_lock'); RETURN pg_catalog.pg_try_advisory_xact_lock($1, $2); END $$;
CREATE FUNCTION pgc_evil.text_eq(text, text) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pgc_evil.note('text ='); RETURN pg_catalog.texteq($1, $2); END $$;
CREATE FUNCTION pgc_evil.text_ne(text, text) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pgc_evil.note('text <>'); RETURN pg_catalog.textne($1, $2); END $$;
CREATE FUNCTION pgc_evil.int_eq(integer, integer) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pgc_evil.note('integer ='); RETURN pg_catalog.int4eq($1, $2); END $$;
CREATE FUNCTION pgc_evil.int_ne_array(integer, integer[]) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pgc_evil.note('integer <> ALL'); RETURN $1 OPERATOR(pg_catalog.<>) ALL ($2); END $$;
CREATE OPERATOR pgc_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = pgc_evil.text_eq);
CREATE OPERATOR pgc_evil.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = pgc_evil.text_ne);
CREATE OPERATOR pgc_evil.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = pgc_evil.int_eq);
CREATE OPERATOR pgc_evil.<> (LEFTARG = integer, RIGHTARG = integer[], FUNCTION = pgc_evil.int_ne_array);
CREATE TABLE pgc_evil.user_container (id uuid, user_id text, container_id text, container_name text,
    gateway_port integer, gateway_token text, status text, last_active_at timestamptz,
    idle_timeout_min integer, created_at timestamptz, updated_at timestamptz);
RESET ROLE;

-- The decoys work: unqualified SQL on that search_path runs them.
SET search_path = pgc_evil, pg_catalog, public;
SELECT 1 WHERE 'a'::text = 'a'::text \g /dev/null
RESET search_path;
SELECT is((SELECT count(*)::int FROM pgc_evil.hijacked), 1, 'the shadowing operator is what unqualified SQL would run');
TRUNCATE pgc_evil.hijacked;

-- Every function, called with that search_path: none of the decoys runs.
SET search_path = pgc_evil, pg_catalog, public;
SELECT public.container_ensure_running('pv-hijack') \g /dev/null
SELECT public.container_touch('pv-hijack') \g /dev/null
SELECT * FROM public.container_status('pv-hijack') \g /dev/null
SELECT public.container_stop('pv-hijack') \g /dev/null
SELECT public.container_restart('pv-hijack') \g /dev/null
SELECT public.container_reencrypt_tokens() \g /dev/null
SELECT public.container_set_profile('pv-hijack', NULL) \g /dev/null
SELECT count(*) FROM public.container_outdated() \g /dev/null
SELECT count(*) FROM public.container_orphans() \g /dev/null
SELECT count(*) FROM public.container_overview \g /dev/null
SELECT count(*) FROM public.container_health_check_all() \g /dev/null
SELECT count(*) FROM public.container_reap_idle() \g /dev/null
SELECT public.container_remove('pv-hijack-gone') \g /dev/null
RESET search_path;
SELECT is((SELECT string_agg(DISTINCT what, ', ') FROM pgc_evil.hijacked), NULL,
          'no shadowing function or operator ran inside the extension''s functions');
SELECT is((SELECT count(*)::int FROM pgc_evil.user_container), 0, '... and the shadowing table was never written');
SELECT is((SELECT status FROM user_container WHERE user_id = 'pv-hijack'), 'running', '... while the real table was');

SELECT * FROM finish();
