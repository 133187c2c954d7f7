-- Every fault the fault engine injects, against every function that talks
-- to Docker.  For each pair: the outcome is the documented one (a clear
-- error, never XX000, naming the operation and what went wrong; or, where
-- the fault is part of normal life, success), the user's row is unchanged
-- after an error, and the next call against the healthy engine succeeds.
-- (touch, status, set_idle_timeout and reencrypt make no Docker request:
-- they are shown working with the engine hung.)
\set ON_ERROR_STOP 1
SET client_min_messages = error;
SELECT plan(51);

CREATE TEMP TABLE fault_kinds (fault text PRIMARY KEY, rule jsonb);
INSERT INTO fault_kinds VALUES
    ('500',         '{"action": "respond", "status": 500, "message": "injected failure"}'),
    ('404',         '{"action": "respond", "status": 404, "message": "No such container: injected", "times": 1}'),
    ('409',         '{"action": "respond", "status": 409, "message": "injected conflict"}'),
    ('slow',        '{"action": "pass", "delay_ms": 2500}'),
    ('hang',        '{"action": "hang"}'),
    ('drop',        '{"action": "drop"}'),
    ('garbage',     '{"action": "garbage"}'),
    ('wrong shape', '{"action": "wrong_shape"}'),
    ('100 MB',      '{"action": "huge", "size": 104857600}');

-- What each function's first Docker request looks like, and what it should
-- come to under each fault: 'ok', 'warning' (reap: the sweep reports the
-- user and goes on), or 'SQLSTATE: message pattern'.
CREATE TEMP TABLE fault_expectations (fn text, fault text, expected text);
INSERT INTO fault_expectations
SELECT fn, fault,
       CASE
           WHEN fn = 'reap' THEN CASE WHEN fault = '404' THEN 'ok' ELSE 'warning' END
           WHEN fault = '404' THEN CASE WHEN fn = 'health' THEN '58000: Docker engine returned HTTP 404.* \| Docker operation: list containers$' ELSE 'ok' END
           WHEN fault IN ('500', '409') THEN '58000: Docker engine returned HTTP ' || fault || '.*' || op_context
           WHEN fault IN ('slow', 'hang') THEN '58030: the Docker engine did not answer within 1000 ms' || op_context
           WHEN fault = 'drop' THEN '58030: connection to the Docker engine was lost.*' || op_context
           WHEN fault = 'garbage' AND fn IN ('stop', 'restart') THEN '58000: Docker engine returned unexpected HTTP 200' || op_context
           WHEN fault = 'garbage' THEN '58000: the Docker engine returned invalid JSON' || op_context
           WHEN fault = 'wrong shape' AND fn IN ('stop', 'restart') THEN '58000: Docker engine returned unexpected HTTP 200' || op_context
           WHEN fault = 'wrong shape' THEN '58000: unexpected response from the Docker engine' || op_context
           WHEN fault = '100 MB' THEN '54000: the Docker engine''s response exceeded pg_container.max_response_size.*' || op_context
       END
  FROM (VALUES ('ensure', 'inspect container "[0-9a-f]{64}"'),
               ('stop', 'stop container "mosaic-user-fx-stop"'),
               ('restart', 'stop container "mosaic-user-fx-restart"'),
               ('health', 'list containers'),
               ('reap', 'stop container "mosaic-user-fx-reap"')) AS f(fn, op)
 CROSS JOIN fault_kinds
 CROSS JOIN LATERAL (SELECT ' \| Docker operation: ' || op || '$') AS c(op_context);

-- Run one case; returns 'as expected' or what went differently.
CREATE FUNCTION pg_temp.fault_case(p_fn text, p_fault text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    fn text := p_fn;
    fault text := p_fault;
    user_id text := 'fx-' || p_fn;
    expected text;
    rule jsonb;
    cid text;
    before text;
    after text;
    outcome text;
    reaped bigint;
    status text;
    call text := CASE p_fn
        WHEN 'ensure' THEN format('SELECT container_ensure_running(%L)', 'fx-ensure')
        WHEN 'stop' THEN format('SELECT container_stop(%L)', 'fx-stop')
        WHEN 'restart' THEN format('SELECT container_restart(%L)', 'fx-restart')
        WHEN 'health' THEN 'SELECT count(*) FROM container_health_check_all()'
        WHEN 'reap' THEN 'SELECT count(*) FROM container_reap_idle()' END;
BEGIN
    SELECT e.expected INTO expected FROM fault_expectations e WHERE e.fn = p_fn AND e.fault = p_fault;
    SELECT k.rule INTO rule FROM fault_kinds k WHERE k.fault = p_fault;

    -- A running container, idle for the reap case.  Only the faulted call
    -- runs under the short docker_timeout: on a loaded machine, creating a
    -- container may take longer than that.
    PERFORM set_config('pg_container.docker_timeout', '60s', false);
    PERFORM test_helpers.use_dockerd();
    PERFORM container_ensure_running(user_id);
    IF fn = 'reap' THEN
        UPDATE user_container u SET last_active_at = now() - interval '2 hours' WHERE u.user_id = 'fx-reap';
    END IF;
    SELECT u.container_id INTO cid FROM user_container u WHERE u.user_id = 'fx-' || p_fn;
    SELECT row_to_json(u)::text INTO before FROM user_container u WHERE u.user_id = 'fx-' || p_fn;

    PERFORM test_helpers.use_fault_engine();
    PERFORM test_helpers.fault_rules(jsonb_build_array(rule || jsonb_build_object('path',
        CASE fn WHEN 'ensure' THEN '/containers/' || cid || '/json'
                WHEN 'health' THEN '/containers/json'
                ELSE '/containers/' || cid || '/stop' END)));
    PERFORM set_config('pg_container.docker_timeout', '1s', false);

    IF fn = 'reap' THEN
        -- The sweep itself never fails: it tries the stop, and a fault
        -- leaves that user running (with a WARNING) and off its result.
        BEGIN
            SELECT count(*) INTO reaped FROM container_reap_idle() u WHERE u = 'fx-reap';
            outcome := 'no error';
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            outcome := SQLSTATE || ': ' || SQLERRM;
        END;
        IF outcome <> 'no error' THEN
            RETURN 'the sweep failed: ' || outcome;
        END IF;
        IF test_helpers.fault_count('^POST /v[0-9.]+/containers/' || cid || '/stop') <> 1 THEN
            RETURN format('the sweep sent %s stop requests, not one', test_helpers.fault_count('/stop'));
        END IF;
        SELECT u.status INTO status FROM user_container u WHERE u.user_id = 'fx-reap';
        outcome := CASE WHEN status = 'stopped' AND reaped = 1 THEN 'ok'
                        WHEN status = 'running' AND reaped = 0 THEN 'warning'
                        ELSE format('status %s, returned %s times', status, reaped) END;
    ELSE
        outcome := test_helpers.error_and_context_of(call);
        IF outcome = 'no error' THEN
            outcome := 'ok';
        END IF;
    END IF;

    IF expected IN ('ok', 'warning') THEN
        IF outcome <> expected THEN
            RETURN format('expected %s, got %s', expected, outcome);
        END IF;
        IF expected = 'warning' THEN
            SELECT row_to_json(u)::text INTO after FROM user_container u WHERE u.user_id = 'fx-' || p_fn;
            IF after IS DISTINCT FROM before THEN
                RETURN format('the row changed: %s -> %s', before, after);
            END IF;
        END IF;
    ELSE
        IF outcome !~ ('^' || expected) THEN
            RETURN format('expected /%s/, got %s', expected, outcome);
        END IF;
        SELECT row_to_json(u)::text INTO after FROM user_container u WHERE u.user_id = 'fx-' || p_fn;
        IF after IS DISTINCT FROM before THEN
            RETURN format('the row changed: %s -> %s', before, after);
        END IF;
    END IF;

    -- A slow answer is still passed on to dockerd later: let it land
    -- (the engine holds no request any more) before the next call, which
    -- must then see the truth.
    IF fault = 'slow' AND NOT test_helpers.wait_for($w$(test_helpers.fault_call('GET', '/_fault/stats')::jsonb ->> 'in_flight')::int = 0$w$,
                                                '60 seconds') THEN
        RETURN 'the delayed request never finished';
    END IF;

    -- The next call against the healthy engine succeeds.
    PERFORM set_config('pg_container.docker_timeout', '60s', false);
    PERFORM test_helpers.use_dockerd();
    outcome := test_helpers.error_of(call);
    IF outcome <> 'no error' THEN
        RETURN 'the next call failed: ' || outcome;
    END IF;
    -- ... and, for the sweep, did what the fault kept it from: the user is
    -- stopped, in the table and in Docker.  (Under 404 the engine said the
    -- container was gone, so the first sweep rightly recorded it stopped
    -- while the real one runs on.)
    IF fn = 'reap' THEN
        SELECT u.status INTO status FROM user_container u WHERE u.user_id = 'fx-reap';
        IF status <> 'stopped' OR (fault <> '404' AND test_helpers.state_of('mosaic-user-fx-reap') <> 'exited') THEN
            RETURN format('after the next sweep the row says %s and Docker %s', status, test_helpers.state_of('mosaic-user-fx-reap'));
        END IF;
    END IF;
    RETURN 'as expected';
END
$$;

SET pg_container.docker_timeout = '1s';
SET pg_container.stop_timeout = 0;
SET pg_container.max_response_size = '8MB';

SELECT is(pg_temp.fault_case(fn, fault), 'as expected',
          format('%s under %s: %s', fn, fault, CASE WHEN expected ~ '^[0-9A-Z]{5}:' THEN left(expected, 5) ELSE expected END))
  FROM fault_expectations
 ORDER BY fn, fault;

-- With the engine hung, what makes no Docker request still works.
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules('[{"action": "hang"}]') \g /dev/null
SELECT lives_ok($$SELECT container_touch('fx-ensure'), container_status('fx-ensure'),
                         container_set_idle_timeout('fx-ensure', 30)$$,
                'touch, status and set_idle_timeout work while the engine hangs: they never call it');
SELECT is(test_helpers.fault_count('.'), 0, '... and sent it nothing');
SELECT lives_ok($$SELECT container_reencrypt_tokens()$$, 're-encryption works while the engine hangs');
SELECT test_helpers.use_dockerd() \g /dev/null
RESET pg_container.docker_timeout;
RESET pg_container.stop_timeout;

-- Bad input never reaches Docker.
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT count(*) AS rows_before FROM user_container \gset
SELECT is(count(*)::int, 0, 'no bad user id gets past validation')
  FROM (SELECT test_helpers.error_of(format('SELECT %s(%L)', fn, bad)) AS e
          FROM unnest(ARRAY['container_ensure_running', 'container_stop', 'container_restart',
                            'container_touch', 'container_status']) fn,
               unnest(ARRAY['', 'a b', repeat('a', 64), repeat('x', 1048576), 'o''brien', '"quoted"',
                            '../etc', E'line\nbreak', E'bell\x07', 'ünïcödé', 'a;b', '$(reboot)']) bad) t
 WHERE e !~ '^22023: user id must match';
SELECT is(test_helpers.fault_count('.'), 0, '... and none of them reached Docker');
SELECT is((SELECT count(*) FROM user_container), :rows_before::bigint, '... or changed the table');
SELECT test_helpers.use_dockerd() \g /dev/null

SELECT * FROM finish();
