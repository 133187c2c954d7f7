-- Helpers for the pgTAP tests: a way to look at Docker, at a gateway and at
-- the fault engine from SQL.  They run programs through COPY ... FROM
-- PROGRAM, as the server's operating system user, which may use the test
-- dockerd's private socket.  Test-only: never install these anywhere else.
--
-- psql -v work_dir=... -v fault_tcp_port=... -f helpers.sql

CREATE SCHEMA IF NOT EXISTS pgc_test;

-- Where the test world lives (set by test/lib/env.sh).
-- engine_socket: the engine the assertions look at (dockerd, or Podman's).
CREATE TABLE IF NOT EXISTS pgc_test.config (work_dir text, fault_tcp_port integer, docker_tls_port integer,
                                            engine_socket text);
TRUNCATE pgc_test.config;
INSERT INTO pgc_test.config VALUES (:'work_dir', :'fault_tcp_port', :'docker_tls_port', :'work_dir' || '/docker.sock');

-- Run a shell command; its output (stdout and stderr) as one text value.
CREATE OR REPLACE FUNCTION pgc_test.sh(cmd text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    IF to_regclass('pg_temp.pgc_test_sh_out') IS NULL THEN
        CREATE TEMP TABLE pgc_test_sh_out (line text);
    END IF;
    TRUNCATE pgc_test_sh_out;
    -- CSV with quote and delimiter characters that never occur: raw lines.
    EXECUTE format($c$COPY pgc_test_sh_out FROM PROGRAM %L WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')$c$,
                   cmd || ' 2>&1; true');
    SELECT coalesce(string_agg(line, E'\n'), '') INTO result FROM pgc_test_sh_out;
    RETURN result;
END
$$;

-- A value as one single-quoted shell word.
CREATE OR REPLACE FUNCTION pgc_test.shell_quote(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT '''' || replace(s, '''', '''"''"''') || '''';
$$;

CREATE OR REPLACE FUNCTION pgc_test.docker_socket() RETURNS text
LANGUAGE sql AS $$ SELECT engine_socket FROM pgc_test.config $$;

CREATE OR REPLACE FUNCTION pgc_test.fault_socket() RETURNS text
LANGUAGE sql AS $$ SELECT work_dir || '/fault.sock' FROM pgc_test.config $$;

-- The docker CLI against the test dockerd, never through the fault engine.
CREATE OR REPLACE FUNCTION pgc_test.docker(args text) RETURNS text
LANGUAGE sql AS $$
    SELECT pgc_test.sh(format('docker -H unix://%s %s', pgc_test.docker_socket(), args));
$$;

-- Names of the containers labelled as a user's, one per line.
CREATE OR REPLACE FUNCTION pgc_test.containers_of(user_id text) RETURNS text
LANGUAGE sql AS $$
    SELECT pgc_test.docker(format('ps -a --filter label=pg_container.user_id=%s --format {{.Names}}', user_id));
$$;

-- A container's state ("running", "exited", ...), or '' if it is missing.
CREATE OR REPLACE FUNCTION pgc_test.state_of(name text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN r LIKE '%No such%' OR r LIKE 'Error%' THEN '' ELSE r END
      FROM pgc_test.docker(format('inspect -f {{.State.Status}} %s', name)) r;
$$;

-- A Go template applied to "docker inspect" of a container.
CREATE OR REPLACE FUNCTION pgc_test.inspect(name text, template text) RETURNS text
LANGUAGE sql AS $$
    SELECT pgc_test.docker(format('inspect -f %s %s', pgc_test.shell_quote(template), name));
$$;

-- HTTP status of GET http://127.0.0.1:<port><path>; '000' if nothing answers.
CREATE OR REPLACE FUNCTION pgc_test.http_status(port integer, path text) RETURNS text
LANGUAGE sql AS $$
    SELECT pgc_test.sh(format('curl -s -o /dev/null -m 5 -w %%{http_code} http://127.0.0.1:%s%s', port, path));
$$;

CREATE OR REPLACE FUNCTION pgc_test.fault_call(method text, path text, body text DEFAULT '') RETURNS text
LANGUAGE sql AS $$
    SELECT pgc_test.sh(format('curl -s --unix-socket %s -X %s --data-binary %s http://fault%s',
                              pgc_test.fault_socket(), method, pgc_test.shell_quote(body), path));
$$;

-- Append fault rules (see test/fault_engine.py), forget them, read the log.
CREATE OR REPLACE FUNCTION pgc_test.fault_rules(rules jsonb) RETURNS void
LANGUAGE sql AS $$ SELECT pgc_test.fault_call('POST', '/_fault/rules', rules::text); $$;

CREATE OR REPLACE FUNCTION pgc_test.fault_reset() RETURNS void
LANGUAGE sql AS $$ SELECT pgc_test.fault_call('POST', '/_fault/reset'); $$;

CREATE OR REPLACE FUNCTION pgc_test.fault_log() RETURNS jsonb
LANGUAGE sql AS $$ SELECT pgc_test.fault_call('GET', '/_fault/log')::jsonb; $$;

-- Requests in the fault engine's log whose "METHOD path" matches a regex.
CREATE OR REPLACE FUNCTION pgc_test.fault_count(pattern text) RETURNS integer
LANGUAGE sql AS $$
    SELECT count(*)::integer
      FROM jsonb_array_elements(pgc_test.fault_log()) e
     WHERE (e->>'method') || ' ' || (e->>'path') ~ pattern;
$$;

-- Point this session at the fault engine (fresh rules and log), or back.
CREATE OR REPLACE FUNCTION pgc_test.use_fault_engine() RETURNS void
LANGUAGE sql AS $$
    SELECT pgc_test.fault_reset();
    SELECT set_config('pg_container.docker_host', 'unix://' || pgc_test.fault_socket(), false);
$$;

CREATE OR REPLACE FUNCTION pgc_test.use_dockerd() RETURNS void
LANGUAGE sql AS $$
    SELECT set_config('pg_container.docker_host', 'unix://' || pgc_test.docker_socket(), false);
$$;

-- SQLSTATE and message of a statement's error, or 'no error'.  Catches
-- query_canceled too, which OTHERS leaves alone, for the cancel tests.
CREATE OR REPLACE FUNCTION pgc_test.error_of(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS OR query_canceled THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- Run a statement as another role: 'ok', or its SQLSTATE and message.
CREATE OR REPLACE FUNCTION pgc_test.run_as(role text, stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    EXECUTE stmt;
    RESET ROLE;
    RETURN 'ok';
EXCEPTION WHEN OTHERS OR query_canceled THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- A query's first value, as another role; or its SQLSTATE and message.
CREATE OR REPLACE FUNCTION pgc_test.query_as(role text, query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    EXECUTE query INTO result;
    RESET ROLE;
    RETURN result;
EXCEPTION WHEN OTHERS OR query_canceled THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- The fault engine's concurrency counters since its last reset.
CREATE OR REPLACE FUNCTION pgc_test.fault_max_in_flight() RETURNS integer
LANGUAGE sql AS $$ SELECT (pgc_test.fault_call('GET', '/_fault/stats')::jsonb ->> 'max_in_flight')::integer; $$;

-- Wait up to timeout for a condition (a boolean SQL expression); true if it held.
CREATE OR REPLACE FUNCTION pgc_test.wait_for(condition text, timeout interval DEFAULT '10 seconds') RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + timeout;
    result boolean;
BEGIN
    LOOP
        EXECUTE 'SELECT (' || condition || ')' INTO result;
        IF result THEN
            RETURN true;
        END IF;
        IF clock_timestamp() > deadline THEN
            RETURN false;
        END IF;
        PERFORM pg_sleep(0.2);
    END LOOP;
END
$$;

-- Client connections the fault engine accepted since its last reset.
CREATE OR REPLACE FUNCTION pgc_test.fault_connections() RETURNS integer
LANGUAGE sql AS $$ SELECT (pgc_test.fault_call('GET', '/_fault/stats')::jsonb ->> 'connections')::integer; $$;
