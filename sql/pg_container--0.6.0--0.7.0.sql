-- pg_container 0.6.0 -> 0.7.0
--
-- Cold starts in the background, the house rebuilt, fleet operations.
-- Each change below is its own commented block, saying what changed and
-- why.

\echo Use "ALTER EXTENSION pg_container UPDATE TO '0.7.0'" to load this file. \quit

-- Cold starts in the background.  container_start asks for a user's start
-- and returns at once; the background worker boots what was asked, at
-- most pg_container.max_concurrent_starts at a time, first come first
-- served; container_wait, or LISTEN pg_container, learns how each ended.
-- A request is a row here, so it survives the worker and the server: one
-- row per user whose start is queued, booting ('starting') or failed (with
-- the error it failed with, for container_wait to raise again).  A start
-- that ends well deletes its row.  Removing the user drops the request.
CREATE TABLE @extschema@.container_start_request (
    user_id        text        PRIMARY KEY
                               REFERENCES @extschema@.user_container (user_id) ON DELETE CASCADE,
    state          text        NOT NULL DEFAULT 'queued'
                               CHECK (state OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'starting', 'failed']::pg_catalog.text[])),
    requested_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    booting_since  timestamptz,
    failed_at      timestamptz,
    error_sqlstate text,
    error_message  text,
    error_detail   text,
    error_hint     text
);

CREATE INDEX container_start_request_queued
    ON @extschema@.container_start_request (requested_at) WHERE state OPERATOR(pg_catalog.=) 'queued';

COMMENT ON TABLE @extschema@.container_start_request IS
    'Starts asked for with container_start and not yet ended well: queued, booting in the worker, or failed with their error.';

-- The outcome of a background start is an event like the others, so one
-- LISTEN pg_container connection learns of any number of users: 'queued'
-- when it is asked for, 'started' when the gateway answers (as before),
-- 'failed' with the error's message, detail and SQLSTATE.
ALTER TABLE @extschema@.container_event
    DROP CONSTRAINT container_event_event_check,
    ADD CONSTRAINT container_event_event_check
        CHECK (event OPERATOR(pg_catalog.=) ANY (ARRAY['created', 'started', 'stopped', 'reaped',
                                        'restarted', 'recreated', 'unhealthy', 'recovered', 'removed',
                                        'profile', 'error', 'paused', 'unpaused',
                                        'queued', 'failed']::pg_catalog.text[]));

CREATE FUNCTION @extschema@.container_start(user_id text, OUT url text, OUT token text, OUT status text)
RETURNS record
AS 'MODULE_PATHNAME', 'container_start'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_start(text) IS
    'Ask for the user''s container to run and return at once: status running (ready now), queued or starting (the worker boots it; see container_wait).';

CREATE FUNCTION @extschema@.container_wait(user_id text, timeout interval DEFAULT '60 s',
                                           OUT url text, OUT token text, OUT status text)
RETURNS record
AS 'MODULE_PATHNAME', 'container_wait'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_wait(text, interval) IS
    'Wait, holding no lock, until the user''s background start ends: its URL and token when ready, its error if it failed.';

REVOKE ALL ON FUNCTION @extschema@.container_start(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.container_wait(text, interval) FROM PUBLIC;

-- Where each background start stands, for operators and dashboards: its
-- place in the queue (first come first served) and how long it has
-- waited: until now while queued, until the worker took it up once
-- booting, until it failed once failed.  The overview's shape is left as
-- it is; this view sits beside it.
CREATE VIEW @extschema@.container_start_queue AS
SELECT user_id, state,
       CASE WHEN state OPERATOR(pg_catalog.=) 'queued'
            THEN pg_catalog.row_number() OVER (PARTITION BY state ORDER BY requested_at, user_id) END AS position,
       requested_at,
       COALESCE(booting_since, failed_at, pg_catalog.now()) OPERATOR(pg_catalog.-) requested_at AS waited,
       booting_since,
       error_message
  FROM @extschema@.container_start_request;

COMMENT ON VIEW @extschema@.container_start_queue IS
    'Background starts not yet ended well: queued (with their position), booting, or failed; and how long each waited.';

REVOKE ALL ON @extschema@.container_start_queue FROM PUBLIC;
REVOKE ALL ON @extschema@.container_start_request FROM PUBLIC;
