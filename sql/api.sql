--
-- The SQL surface of pg_container: its objects, their shapes and
-- privileges, the defaults of its settings, and the errors for bad input,
-- none of which needs Docker or a key.
--
-- (Where the background worker is, a WARNING, depends on the instance's
-- configuration; preloaded.sql and not_preloaded.sql check it.)
SET client_min_messages = error;
CREATE EXTENSION pg_container;
RESET client_min_messages;

-- Functions: signatures, SECURITY DEFINER and a pinned search_path.
SELECT p.proname, pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result,
       p.prosecdef AS security_definer, p.proconfig
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_container'
 ORDER BY p.proname, arguments;

-- Nothing is granted to PUBLIC: neither the functions nor the table.
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_execute
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_container'
 ORDER BY p.proname;
SELECT relname, has_table_privilege('public', oid, 'SELECT') AS public_may_select
  FROM pg_class
 WHERE relname IN ('user_container', 'container_profile', 'container_event', 'container_overview',
                   'container_stat_operations', 'container_backup', 'container_lease',
                   'container_rollout', 'container_rollout_step', 'container_rollout_progress',
                   'container_schedule')
 ORDER BY relname;

-- A fresh install is the newest version, built from 0.1.0 and the update.
SELECT extversion FROM pg_extension WHERE extname = 'pg_container';

-- The table, and pg_dump keeping its rows.
\d user_container
SELECT reloptions FROM pg_class WHERE oid = 'user_container'::regclass;
SELECT extconfig::regclass[] AS dumped_tables FROM pg_extension WHERE extname = 'pg_container';

-- The defaults are the seed's, but for the loopback publish address.
SELECT name, boot_val, unit, context
  FROM pg_settings
 WHERE name LIKE 'pg_container.%'
 ORDER BY name;

-- User ids are checked before anything else happens: NULL is 22004,
-- anything off the rule 22023.
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT container_ensure_running(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT container_ensure_running('');
\echo :LAST_ERROR_SQLSTATE
SELECT container_ensure_running('alice bob');
\echo :LAST_ERROR_SQLSTATE
SELECT container_ensure_running('-alice');
SELECT container_ensure_running(repeat('a', 64));
SELECT container_ensure_running(repeat('a', 1000000));
SELECT container_ensure_running('../../etc/passwd');
SELECT container_ensure_running(E'alice\n');
SELECT container_ensure_running('zoë');
SELECT container_stop(NULL);
SELECT container_stop('a/b');
SELECT container_restart('a b');
SELECT container_touch('');
SELECT * FROM container_status('.');
\echo :LAST_ERROR_SQLSTATE
-- A valid id of an unknown user: no row, and nothing asked of Docker.
SELECT * FROM container_status(repeat('a', 63));
SELECT container_touch('nobody');
SELECT container_stop('nobody');
SELECT count(*) FROM user_container;

-- Touch with a source: the source is NULL or 1 to 32 of [a-z0-9_.-].
SELECT container_touch('nobody', NULL);
SELECT container_touch('nobody', 'tool_call');
SELECT container_touch('nobody', '');
\echo :LAST_ERROR_SQLSTATE
SELECT container_touch('nobody', 'Message');
SELECT container_touch('nobody', 'web socket');
SELECT container_touch('nobody', repeat('a', 33));
SELECT container_touch('', 'message');

-- Leases: the ttl is positive and at most pg_container.max_lease (1 h);
-- the arguments are checked before the user is looked up, and an
-- unknown user is refused.
SELECT container_hold('nobody', 'turn', '30 min');
\echo :LAST_ERROR_SQLSTATE
SELECT container_hold('nobody', 'turn', '2 h');
\echo :LAST_ERROR_SQLSTATE
SELECT container_hold('nobody', 'turn', '1 h 1 s');
SELECT container_hold('nobody', 'turn', '0 s');
SELECT container_hold('nobody', 'turn', '-5 min');
SELECT container_hold('nobody', 'turn', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT container_hold('nobody', NULL, '1 min');
SELECT container_hold('nobody', '', '1 min');
SELECT container_hold('nobody', repeat('x', 201), '1 min');
SELECT container_hold(NULL, 'turn', '1 min');
SELECT container_hold('a b', 'turn', '1 min');
SELECT container_release(NULL);
SELECT container_release(12345);
SELECT count(*) FROM container_lease;
SELECT * FROM container_explain(NULL);
SELECT * FROM container_explain('nobody');

-- Rollouts: bad arguments are refused before anything is recorded (NULL
-- 22004, out of range or an unknown canary 22023), and without a worker
-- for this database a job that nobody would run is refused too (55000).
\d container_rollout_progress
SELECT container_rollout(NULL, 3, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT container_rollout('pgc-gateway:v2', NULL, 2);
SELECT container_rollout('pgc-gateway:v2', 3, NULL);
SELECT container_rollout('pgc-gateway:v2', 0, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT container_rollout('pgc-gateway:v2', 3, -1);
SELECT container_rollout('pgc gateway', 3, 2);
SELECT container_rollout('', 3, 2);
SELECT container_rollout('pgc-gateway:v2', 3, 2, ARRAY['nobody']);
\echo :LAST_ERROR_SQLSTATE
SELECT container_rollout('pgc-gateway:v2', 3, 2, ARRAY[NULL]::text[]);
SELECT container_rollout('pgc-gateway:v2', 3, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT container_rollout_cancel(NULL);
SELECT container_rollout_cancel(1);
SELECT count(*) FROM container_rollout;

-- Schedules: a window needs one of a profile or a user, real week days, a
-- time zone PostgreSQL knows and two different times; a bad one is refused
-- and nothing is kept.
INSERT INTO container_profile (name) VALUES ('office');
INSERT INTO container_schedule (name, opens, closes) VALUES ('nobody', '09:00', '17:00');
INSERT INTO container_schedule (name, profile, days, opens, closes) VALUES ('w8', 'office', '{1,8}', '09:00', '17:00');
INSERT INTO container_schedule (name, profile, days, opens, closes) VALUES ('w0', 'office', '{}', '09:00', '17:00');
INSERT INTO container_schedule (name, profile, opens, closes, time_zone) VALUES ('mars', 'office', '09:00', '17:00', 'Mars/Olympus');
INSERT INTO container_schedule (name, profile, opens, closes) VALUES ('same', 'office', '09:00', '09:00');
INSERT INTO container_schedule (name, profile, opens, closes, start_before) VALUES ('early', 'office', '09:00', '17:00', '2 days');
INSERT INTO container_schedule (name, profile, opens, closes) VALUES ('bad name', 'office', '09:00', '17:00');
SELECT count(*) FROM container_schedule;
-- Windows follow the zone's clock, also across a change of daylight
-- saving time (Europe/Berlin moved to summer time on 2026-03-29), and a
-- window that closes before it opens ends the next day.
INSERT INTO container_schedule (name, profile, opens, closes, time_zone)
VALUES ('office-hours', 'office', '08:55', '18:00', 'Europe/Berlin'),
       ('night', 'office', '22:00', '06:00', 'UTC');
UPDATE container_schedule SET days = '{6,7}' WHERE name = 'night';
SET TimeZone = 'UTC';
SELECT schedule, warm_from, opens_at, closes_at
  FROM container_schedule_windows('2026-03-26 00:00+00', '2026-03-31 00:00+00');
RESET TimeZone;
SELECT * FROM container_schedule_windows('2026-03-31 00:00+00', '2026-03-30 00:00+00');
SELECT * FROM container_schedule_windows('2026-01-01 00:00+00', '2028-01-01 00:00+00');
SELECT * FROM container_schedule_windows(NULL, '2026-03-30 00:00+00');
DELETE FROM container_profile WHERE name = 'office';
SELECT count(*) FROM container_schedule;

-- Settings are checked when they are set.
SET pg_container.docker_host = 'ftp://127.0.0.1/';
SET pg_container.docker_host = 'file:///var/run/docker.sock';
SET pg_container.docker_host = 'unix://relative.sock';
SET pg_container.docker_host = 'tcp://:2375';
SET pg_container.docker_api_version = 'v1';
SET pg_container.image = 'alpine openclaw';
SET pg_container.image = '';
SET pg_container.name_prefix = '-user-';
SET pg_container.name_prefix = 'user/';
SET pg_container.state_path = 'relative/path';
SET pg_container.ready_path = 'readyz';
SET pg_container.port_range_start = 0;
SET pg_container.port_range_end = 65536;
SET pg_container.gateway_port = 70000;
SET pg_container.url_mode = 'sideways';
-- PostgreSQL 17 names the unit in this message, so show its SQLSTATE and
-- the bounds, which are the same on every major.
\set VERBOSITY sqlstate
SET pg_container.docker_timeout = 0;
\set VERBOSITY default
SELECT min_val, max_val, unit FROM pg_settings WHERE name = 'pg_container.docker_timeout';
-- Good values are taken.
SET pg_container.docker_host = 'tcp://127.0.0.1:2375';
SET pg_container.docker_host = '/run/docker.sock';
SET pg_container.name_prefix = 'agent.';
SET pg_container.url_mode = 'published';
RESET ALL;

DROP EXTENSION pg_container;
