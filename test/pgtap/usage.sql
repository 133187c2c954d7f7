-- container_usage replays container_event: seconds running and paused per
-- user, clipped at the period's ends (and at the present), and the starts,
-- over a scripted set of events.  The events are written directly, for
-- users no row knows, so nothing else ever touches them.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(9);

DELETE FROM container_event WHERE user_id LIKE 'us-%';
CREATE TEMP TABLE us_t0 AS SELECT date_trunc('second', now()) - interval '2 hours' AS t0;
SELECT t0 FROM us_t0 \gset

CREATE FUNCTION pg_temp.ev(u text, secs integer, e text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO container_event (at, user_id, event)
    SELECT t0 + make_interval(secs => secs), u, e FROM us_t0 $$;
CREATE FUNCTION pg_temp.usage(from_s integer, to_s integer) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(user_id || ' ' || running_seconds::float8 || '/' || paused_seconds::float8 || '/' || starts, ', ' ORDER BY user_id)
      FROM us_t0, container_usage(t0 + make_interval(secs => from_s), t0 + make_interval(secs => to_s))
     WHERE user_id LIKE 'us-%' $$;

-- us-a: starts, pauses, thaws, stops; an unhealthy and a profile event
-- change nothing.
SELECT pg_temp.ev('us-a', 0, 'created'), pg_temp.ev('us-a', 0, 'started'), pg_temp.ev('us-a', 100, 'paused'),
       pg_temp.ev('us-a', 120, 'unhealthy'), pg_temp.ev('us-a', 160, 'unpaused'),
       pg_temp.ev('us-a', 170, 'profile'), pg_temp.ev('us-a', 400, 'stopped') \g /dev/null
-- us-b: started long before, never stopped.
SELECT pg_temp.ev('us-b', -1000, 'started') \g /dev/null
-- us-c: two short runs inside the period, ended by a reap and a removal.
SELECT pg_temp.ev('us-c', -500, 'stopped'), pg_temp.ev('us-c', 200, 'started'), pg_temp.ev('us-c', 250, 'reaped'),
       pg_temp.ev('us-c', 270, 'started'), pg_temp.ev('us-c', 280, 'removed') \g /dev/null
-- us-d: stopped before the period, and so not billed.
SELECT pg_temp.ev('us-d', -900, 'started'), pg_temp.ev('us-d', -800, 'stopped') \g /dev/null
-- us-e: a restart (stopped, started, restarted) is a second start; a
-- health recovery after a stop by the mirror counts as running again.
SELECT pg_temp.ev('us-e', 10, 'started'), pg_temp.ev('us-e', 50, 'stopped'), pg_temp.ev('us-e', 51, 'started'),
       pg_temp.ev('us-e', 52, 'restarted'), pg_temp.ev('us-e', 90, 'stopped'), pg_temp.ev('us-e', 95, 'recovered'),
       pg_temp.ev('us-e', 100, 'reaped') \g /dev/null

SELECT is(pg_temp.usage(50, 300),
          'us-a 190/60/0, us-b 250/0/0, us-c 60/0/2, us-e 44/0/1',
          'a period inside the events: spans clipped at both ends, the state at its start from the event before');
SELECT is(pg_temp.usage(-10, 1000),
          'us-a 340/60/1, us-b 1010/0/0, us-c 60/0/2, us-e 84/0/2',
          'a period around them: every span whole, every start counted');
SELECT is(pg_temp.usage(101, 159), 'us-a 0/58/0, us-b 58/0/0',
          'a period that is all pause for one user, all running for another');
SELECT is(pg_temp.usage(-2000, -1500), NULL, 'a period before any event bills nobody');
SELECT is(pg_temp.usage(1000, 2000), 'us-b 1000/0/0', 'after the last events only the one still running is billed');
SELECT is(pg_temp.usage(200, 200), NULL, 'an empty period bills nobody');
SELECT is(pg_temp.usage(200, 100), NULL, 'nor does a reversed one');

-- A period that reaches into the future is billed up to now, not ahead.
SELECT ok((SELECT running_seconds FROM container_usage(:'t0'::timestamptz + interval '1 hour', now() + interval '1 day')
            WHERE user_id = 'us-b') BETWEEN 3600 AND 3600 + 600,
          'a period still under way stops at the present');
SELECT is(has_function_privilege('public', 'container_usage(timestamptz, timestamptz)', 'EXECUTE'), false,
          'PUBLIC cannot read anyone''s usage');

DELETE FROM container_event WHERE user_id LIKE 'us-%';
SELECT * FROM finish();
