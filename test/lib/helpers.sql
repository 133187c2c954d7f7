-- Helpers for the pgTAP tests: a way to look at Docker, at a gateway and at
-- the fault engine from SQL.  They run programs through COPY ... FROM
-- PROGRAM, as the server's operating system user, which may use the test
-- dockerd's private socket.  Test-only: never install these anywhere else.
--
-- psql -v work_dir=... -v fault_tcp_port=... -f helpers.sql
--
-- They live in the schema test_helpers, in the test database pgc_test.

CREATE SCHEMA IF NOT EXISTS test_helpers;

-- Where the test world lives (set by test/lib/env.sh).
-- engine_socket: the engine the assertions look at (dockerd, or Podman's).
CREATE TABLE IF NOT EXISTS test_helpers.config (work_dir text, fault_tcp_port integer, docker_tls_port integer,
                                                engine_socket text);
TRUNCATE test_helpers.config;
INSERT INTO test_helpers.config VALUES (:'work_dir', :'fault_tcp_port', :'docker_tls_port', :'work_dir' || '/docker.sock');

-- Run a shell command; its output (stdout and stderr) as one text value.
CREATE OR REPLACE FUNCTION test_helpers.sh(cmd text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    IF to_regclass('pg_temp.test_helpers_sh_out') IS NULL THEN
        CREATE TEMP TABLE test_helpers_sh_out (line text);
    END IF;
    TRUNCATE test_helpers_sh_out;
    -- CSV with quote and delimiter characters that never occur: raw lines.
    EXECUTE format($c$COPY test_helpers_sh_out FROM PROGRAM %L WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')$c$,
                   cmd || ' 2>&1; true');
    SELECT coalesce(string_agg(line, E'\n'), '') INTO result FROM test_helpers_sh_out;
    RETURN result;
END
$$;

-- A value as one single-quoted shell word.
CREATE OR REPLACE FUNCTION test_helpers.shell_quote(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT '''' || replace(s, '''', '''"''"''') || '''';
$$;

CREATE OR REPLACE FUNCTION test_helpers.docker_socket() RETURNS text
LANGUAGE sql AS $$ SELECT engine_socket FROM test_helpers.config $$;

CREATE OR REPLACE FUNCTION test_helpers.fault_socket() RETURNS text
LANGUAGE sql AS $$ SELECT work_dir || '/fault.sock' FROM test_helpers.config $$;

-- The docker CLI against the test dockerd, never through the fault engine.
CREATE OR REPLACE FUNCTION test_helpers.docker(args text) RETURNS text
LANGUAGE sql AS $$
    SELECT test_helpers.sh(format('docker -H unix://%s %s', test_helpers.docker_socket(), args));
$$;

-- Names of the containers labelled as a user's, one per line.
CREATE OR REPLACE FUNCTION test_helpers.containers_of(user_id text) RETURNS text
LANGUAGE sql AS $$
    SELECT test_helpers.docker(format('ps -a --filter label=pg_container.user_id=%s --format {{.Names}}', user_id));
$$;

-- A container's state ("running", "exited", ...), or '' if it is missing.
CREATE OR REPLACE FUNCTION test_helpers.state_of(name text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN r LIKE '%No such%' OR r LIKE 'Error%' THEN '' ELSE r END
      FROM test_helpers.docker(format('inspect -f {{.State.Status}} %s', name)) r;
$$;

-- A Go template applied to "docker inspect" of a container.
CREATE OR REPLACE FUNCTION test_helpers.inspect(name text, template text) RETURNS text
LANGUAGE sql AS $$
    SELECT test_helpers.docker(format('inspect -f %s %s', test_helpers.shell_quote(template), name));
$$;

-- HTTP status of GET http://127.0.0.1:<port><path>; '000' if nothing answers.
CREATE OR REPLACE FUNCTION test_helpers.http_status(port integer, path text) RETURNS text
LANGUAGE sql AS $$
    SELECT test_helpers.sh(format('curl -s -o /dev/null -m 5 -w %%{http_code} http://127.0.0.1:%s%s', port, path));
$$;

CREATE OR REPLACE FUNCTION test_helpers.fault_call(method text, path text, body text DEFAULT '') RETURNS text
LANGUAGE sql AS $$
    SELECT test_helpers.sh(format('curl -s --unix-socket %s -X %s --data-binary %s http://fault%s',
                              test_helpers.fault_socket(), method, test_helpers.shell_quote(body), path));
$$;

-- Append fault rules (see test/fault_engine.py), forget them, read the log.
CREATE OR REPLACE FUNCTION test_helpers.fault_rules(rules jsonb) RETURNS void
LANGUAGE sql AS $$ SELECT test_helpers.fault_call('POST', '/_fault/rules', rules::text); $$;

CREATE OR REPLACE FUNCTION test_helpers.fault_reset() RETURNS void
LANGUAGE sql AS $$ SELECT test_helpers.fault_call('POST', '/_fault/reset'); $$;

CREATE OR REPLACE FUNCTION test_helpers.fault_log() RETURNS jsonb
LANGUAGE sql AS $$ SELECT test_helpers.fault_call('GET', '/_fault/log')::jsonb; $$;

-- Requests in the fault engine's log whose "METHOD path" matches a regex.
CREATE OR REPLACE FUNCTION test_helpers.fault_count(pattern text) RETURNS integer
LANGUAGE sql AS $$
    SELECT count(*)::integer
      FROM jsonb_array_elements(test_helpers.fault_log()) e
     WHERE (e->>'method') || ' ' || (e->>'path') ~ pattern;
$$;

-- Point this session at the fault engine (fresh rules and log), or back.
CREATE OR REPLACE FUNCTION test_helpers.use_fault_engine() RETURNS void
LANGUAGE sql AS $$
    SELECT test_helpers.fault_reset();
    SELECT set_config('pg_container.docker_host', 'unix://' || test_helpers.fault_socket(), false);
$$;

CREATE OR REPLACE FUNCTION test_helpers.use_dockerd() RETURNS void
LANGUAGE sql AS $$
    SELECT set_config('pg_container.docker_host', 'unix://' || test_helpers.docker_socket(), false);
$$;

-- SQLSTATE and message of a statement's error, or 'no error'; given a
-- role, the statement runs as it.  Catches query_canceled too, which
-- OTHERS leaves alone, for the cancel tests.
CREATE OR REPLACE FUNCTION test_helpers.error_of(stmt text, role text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    IF role IS NOT NULL THEN
        EXECUTE format('SET LOCAL ROLE %I', role);
    END IF;
    EXECUTE stmt;
    IF role IS NOT NULL THEN
        RESET ROLE;
    END IF;
    RETURN 'no error';
EXCEPTION WHEN OTHERS OR query_canceled THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- Like error_of, followed by the error's first CONTEXT line (" | " between):
-- for a Docker failure, the operation it was.
CREATE OR REPLACE FUNCTION test_helpers.error_and_context_of(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    context text;
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS OR query_canceled THEN
    GET STACKED DIAGNOSTICS context = PG_EXCEPTION_CONTEXT;
    RETURN SQLSTATE || ': ' || SQLERRM || ' | ' || split_part(context, E'\n', 1);
END
$$;

-- Run a statement as another role: 'ok', or its SQLSTATE and message.
CREATE OR REPLACE FUNCTION test_helpers.run_as(role text, stmt text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN e = 'no error' THEN 'ok' ELSE e END FROM test_helpers.error_of(stmt, role) e;
$$;

-- A query's first value, as another role; or its SQLSTATE and message.
CREATE OR REPLACE FUNCTION test_helpers.query_as(role text, query text) RETURNS text
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
CREATE OR REPLACE FUNCTION test_helpers.fault_max_in_flight() RETURNS integer
LANGUAGE sql AS $$ SELECT (test_helpers.fault_call('GET', '/_fault/stats')::jsonb ->> 'max_in_flight')::integer; $$;

-- Wait up to timeout for a condition (a boolean SQL expression); true if it held.
CREATE OR REPLACE FUNCTION test_helpers.wait_for(condition text, timeout interval DEFAULT '10 seconds') RETURNS boolean
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

-- What psql prints (stderr too) for commands run in a session of its own
-- in this database, one -c each: its WARNINGs show there.
CREATE OR REPLACE FUNCTION test_helpers.session_output(VARIADIC commands text[]) RETURNS text
LANGUAGE sql AS $$
    SELECT test_helpers.sh(format('psql -X -qAt -h %s -p %s -d %s %s',
                                  (SELECT work_dir FROM test_helpers.config), current_setting('port'), current_database(),
                                  (SELECT string_agg('-c ' || test_helpers.shell_quote(c), ' ') FROM unnest(commands) c)));
$$;

-- Client connections the fault engine accepted since its last reset.
CREATE OR REPLACE FUNCTION test_helpers.fault_connections() RETURNS integer
LANGUAGE sql AS $$ SELECT (test_helpers.fault_call('GET', '/_fault/stats')::jsonb ->> 'connections')::integer; $$;

-- Open a stored gateway token (pgc1$<key id>$<hex of IV || ciphertext ||
-- tag>) with AES-256-GCM, independently of pg_container: OpenSSL's libcrypto
-- through Python's ctypes, the key from its file, the user id as additional
-- authenticated data.  Returns the plaintext, or 'error: ...'.
CREATE OR REPLACE FUNCTION test_helpers.gcm_open(key_file text, user_id text, stored text) RETURNS text
LANGUAGE sql AS $$
    SELECT test_helpers.sh(format('python3 -c %s %s %s %s', test_helpers.shell_quote($py$
import ctypes, ctypes.util, hashlib, re, sys
key = bytes.fromhex(open(sys.argv[1]).read().strip())
aad = sys.argv[2].encode()
m = re.fullmatch(r"pgc1\$([0-9a-f]{8})\$([0-9a-f]+)", sys.argv[3])
if not m:
    sys.exit("error: not the pgc1 layout")
if m.group(1) != hashlib.sha256(key).hexdigest()[:8]:
    sys.exit("error: the key id is not the first 4 bytes of SHA-256 over this key")
blob = bytes.fromhex(m.group(2))
iv, ct, tag = blob[:12], blob[12:-16], blob[-16:]
lib = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
vp, ip = ctypes.c_void_p, ctypes.c_int
lib.EVP_CIPHER_CTX_new.restype = vp
lib.EVP_aes_256_gcm.restype = vp
lib.EVP_DecryptInit_ex.argtypes = [vp, vp, vp, ctypes.c_char_p, ctypes.c_char_p]
lib.EVP_CIPHER_CTX_ctrl.argtypes = [vp, ip, ip, vp]
lib.EVP_DecryptUpdate.argtypes = [vp, vp, ctypes.POINTER(ip), ctypes.c_char_p, ip]
lib.EVP_DecryptFinal_ex.argtypes = [vp, vp, ctypes.POINTER(ip)]
lib.EVP_CIPHER_CTX_free.argtypes = [vp]
ctx = lib.EVP_CIPHER_CTX_new()
out = ctypes.create_string_buffer(len(ct) + 16)
n = ip(0)
fin = ip(0)
tagbuf = ctypes.create_string_buffer(tag, 16)
ok = (lib.EVP_DecryptInit_ex(ctx, lib.EVP_aes_256_gcm(), None, None, None) == 1
      and lib.EVP_CIPHER_CTX_ctrl(ctx, 0x9, 12, None) == 1            # EVP_CTRL_GCM_SET_IVLEN
      and lib.EVP_DecryptInit_ex(ctx, None, None, key, iv) == 1
      and lib.EVP_DecryptUpdate(ctx, None, ctypes.byref(n), aad, len(aad)) == 1
      and lib.EVP_DecryptUpdate(ctx, out, ctypes.byref(n), ct, len(ct)) == 1
      and lib.EVP_CIPHER_CTX_ctrl(ctx, 0x11, 16, ctypes.cast(tagbuf, vp)) == 1  # EVP_CTRL_GCM_SET_TAG
      and lib.EVP_DecryptFinal_ex(ctx, ctypes.cast(ctypes.byref(out, n.value), vp), ctypes.byref(fin)) == 1)
lib.EVP_CIPHER_CTX_free(ctx)
if not ok:
    sys.exit("error: AES-256-GCM authentication failed")
print(out.raw[:n.value + fin.value].decode())
$py$), test_helpers.shell_quote(key_file), test_helpers.shell_quote(user_id), test_helpers.shell_quote(stored)));
$$;

-- pg_reload_conf(), then wait (up to 60 s) until the postmaster has loaded
-- the file: a new connection sees a load time after the call.  The
-- postmaster signals every backend before it accepts that connection, so
-- this session takes the new settings at its next statement.  A fixed
-- sleep instead can be too short on a loaded machine.
CREATE OR REPLACE FUNCTION test_helpers.reload() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    asked timestamptz := clock_timestamp();
    deadline timestamptz := clock_timestamp() + interval '60 seconds';
BEGIN
    PERFORM pg_reload_conf();
    LOOP
        EXIT WHEN test_helpers.sh(format('psql -X -qAt -h %s -p %s -d %s -c %s',
                                     (SELECT work_dir FROM test_helpers.config), current_setting('port'),
                                     test_helpers.shell_quote(current_database()),
                                     test_helpers.shell_quote(format('SELECT pg_conf_load_time() >= %L', asked)))) = 't';
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'the server did not reload its configuration within 60 s';
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;

-- Wait (up to 30 s) until the user's committed container_remove has been
-- carried out: their row is gone.  Where no pg_container worker serves
-- this database (the Podman and swarm test databases) it carries the
-- removals out itself, as pg_cron's calls would.  Raises if the row stays.
CREATE OR REPLACE FUNCTION test_helpers.wait_removed(user_id text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '30 seconds';
    ext_schema name := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                         WHERE e.extname = 'pg_container');
BEGIN
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_stat_activity
                        WHERE datname = current_database() AND backend_type = 'pg_container worker') THEN
            EXECUTE format('SELECT %I.container_process_removals()', ext_schema);
        END IF;
        EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %I.user_container WHERE user_id = $1)', ext_schema)
            USING wait_removed.user_id INTO STRICT found;
        EXIT WHEN found;
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'the removal of user "%" was not carried out within 30 s', wait_removed.user_id;
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
