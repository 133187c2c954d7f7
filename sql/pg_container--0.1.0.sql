-- pg_container 0.1.0: one long-running Docker container per application user.
--
-- Every object is created in the schema chosen at CREATE EXTENSION and
-- named through @extschema@; the functions run as SECURITY DEFINER with a
-- pinned search_path, so nothing a caller puts on its search_path can
-- stand in for what they use.

\echo Use "CREATE EXTENSION pg_container" to load this file. \quit

CREATE TABLE @extschema@.user_container (
    id               uuid        PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    user_id          text        NOT NULL UNIQUE
                                 CHECK (user_id OPERATOR(pg_catalog.~) '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    container_id     text,
    container_name   text        NOT NULL UNIQUE,
    gateway_port     integer     UNIQUE
                                 CHECK (gateway_port BETWEEN 1 AND 65535),
    gateway_token    text        NOT NULL,
    status           text        NOT NULL DEFAULT 'stopped'
                                 CHECK (status IN ('stopped', 'running')),
    last_active_at   timestamptz,
    idle_timeout_min integer     NOT NULL DEFAULT 30
                                 CHECK (idle_timeout_min > 0),
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now()
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

-- Rows are the users' state: pg_dump keeps them.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.user_container', '');

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
