-- pg_container 0.1.0: one long-running Docker container per application user.
--
-- Every object is created in the schema chosen at CREATE EXTENSION and
-- named through @extschema@; the functions run as SECURITY DEFINER with a
-- pinned search_path, so nothing a caller puts on its search_path can
-- stand in for what they use.  Every operator is written
-- OPERATOR(pg_catalog.x): an unqualified one in a CHECK is bound while the
-- script runs, and an exact match that a database owner put in the
-- schema would win over the catalog's (test/check_sql_operators.py).
-- @extschema@ is never put inside a string literal (CVE-2023-39417).

\echo Use "CREATE EXTENSION pg_container" to load this file. \quit

CREATE TABLE @extschema@.user_container (
    id               uuid        PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    user_id          text        NOT NULL UNIQUE
                                 CHECK (user_id OPERATOR(pg_catalog.~) '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    container_id     text,
    container_name   text        NOT NULL UNIQUE,
    gateway_port     integer     UNIQUE
                                 CHECK (gateway_port OPERATOR(pg_catalog.>=) 1
                                        AND gateway_port OPERATOR(pg_catalog.<=) 65535),
    gateway_token    text        NOT NULL,
    status           text        NOT NULL DEFAULT 'stopped'
                                 CHECK (status OPERATOR(pg_catalog.=) ANY (ARRAY['stopped', 'running']::pg_catalog.text[])),
    last_active_at   timestamptz,
    idle_timeout_min integer     NOT NULL DEFAULT 30
                                 CHECK (idle_timeout_min OPERATOR(pg_catalog.>) 0),
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    healthy          boolean,
    health_error     text,
    health_checked_at timestamptz
)
-- container_touch rewrites the row on every message; free space on the
-- page lets that be a HOT update, and nothing indexes last_active_at.
WITH (fillfactor = 70);

COMMENT ON TABLE @extschema@.user_container IS
    'One row per application user: their container, host port, encrypted gateway token and activity.';
COMMENT ON COLUMN @extschema@.user_container.gateway_port IS
    'Host port published for the gateway; kept while the container is stopped, since the container still binds it.';
COMMENT ON COLUMN @extschema@.user_container.gateway_token IS
    'AES-256-GCM ciphertext of the gateway token, never the plaintext.';
COMMENT ON COLUMN @extschema@.user_container.healthy IS
    'Outcome of the last health check: the container exists, runs, and its Docker health is not unhealthy.';

-- Rows are the users' state: pg_dump keeps them.
SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.format('%I.user_container', pg_catalog.current_schema())::pg_catalog.regclass, '');

CREATE FUNCTION @extschema@.container_ensure_running(user_id text, OUT url text, OUT token text)
RETURNS record
AS 'MODULE_PATHNAME', 'container_ensure_running'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_ensure_running(text) IS
    'Create and start the user''s container as needed; returns its URL and gateway token.';

CREATE FUNCTION @extschema@.container_stop(user_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'container_stop'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_stop(text) IS
    'Stop the user''s container; never removes it or its volume.';

CREATE FUNCTION @extschema@.container_restart(user_id text, OUT url text, OUT token text)
RETURNS record
AS 'MODULE_PATHNAME', 'container_restart'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_restart(text) IS
    'Stop, then ensure running; returns the URL and gateway token.';

CREATE FUNCTION @extschema@.container_touch(user_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'container_touch'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_touch(text) IS
    'Record activity of the user now; no Docker request.';

CREATE FUNCTION @extschema@.container_status(user_id text)
RETURNS TABLE (status text, port integer, last_active timestamptz)
AS 'MODULE_PATHNAME', 'container_status'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_status(text) IS
    'The user''s recorded status, host port and last activity; no row for an unknown user.';

CREATE FUNCTION @extschema@.container_reencrypt_tokens()
RETURNS bigint
AS 'MODULE_PATHNAME', 'container_reencrypt_tokens'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_reencrypt_tokens() IS
    'Rewrite every gateway token under the current key (after a key rotation); returns how many.';

CREATE FUNCTION @extschema@.container_reap_idle()
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'container_reap_idle'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_reap_idle() IS
    'Stop every running container idle past its timeout, in parallel; returns the user ids stopped.';

CREATE FUNCTION @extschema@.container_health_check_all()
RETURNS TABLE (user_id text, healthy boolean, error text)
AS 'MODULE_PATHNAME', 'container_health_check_all'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_health_check_all() IS
    'Check every running container with one Docker request; records the outcome and marks vanished or exited ones stopped.';

CREATE FUNCTION @extschema@.container_set_idle_timeout(user_id text, minutes integer)
RETURNS void
AS 'MODULE_PATHNAME', 'container_set_idle_timeout'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_set_idle_timeout(text, integer) IS
    'Set the idle time in minutes after which the user''s container is reaped.';

-- These functions drive the Docker socket, which is root on the host.
-- Nothing is granted to PUBLIC; see the README for application and
-- operator grants.
REVOKE ALL ON TABLE @extschema@.user_container FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_ensure_running(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_stop(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_restart(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_touch(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_status(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_reencrypt_tokens() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_reap_idle() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_health_check_all() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_set_idle_timeout(text, integer) FROM PUBLIC;

-- Say where the background worker is, or that there is none, so nobody
-- waits for a reaper that will never come.  A WARNING, because PostgreSQL
-- hides notices raised while an extension script runs.
DO $$
DECLARE
    preloaded boolean := 'pg_container' OPERATOR(pg_catalog.=) ANY (pg_catalog.string_to_array(
        pg_catalog.replace(pg_catalog.current_setting('shared_preload_libraries'), ' ', ''), ','));
    worker_database text := pg_catalog.current_setting('pg_container.database', true);
BEGIN
    IF NOT preloaded THEN
        RAISE WARNING 'pg_container is not in shared_preload_libraries, so no background worker reaps idle containers or checks health'
            USING HINT = 'Add it there and set pg_container.database, or schedule container_reap_idle() and container_health_check_all() with pg_cron.';
    ELSIF worker_database IS NULL OR worker_database OPERATOR(pg_catalog.<>) pg_catalog.current_database() THEN
        RAISE WARNING 'the pg_container background worker serves database "%", not this one', worker_database
            USING HINT = 'Schedule container_reap_idle() and container_health_check_all() here with pg_cron, or point pg_container.database at this database.';
    END IF;
END
$$;
