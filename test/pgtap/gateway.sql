-- What the DBA sees of a gateway (issue 12): an ensure whose gateway never
-- gets ready says what the container is doing, in psql; container_logs
-- shows its output; the token is redacted from both.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(24);

-- The user's row exists (as after a sign-up), so the failed ensure leaves
-- it and its token in place for container_logs.
SELECT container_set_idle_timeout('gw-crash', 30) \g /dev/null
-- One failed ensure; its message and its detail, as psql shows them.
CREATE FUNCTION pg_temp.failure_of(stmt text, OUT message text, OUT detail text) LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    message := 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    message := SQLSTATE || ': ' || message;
END $$;
SET pg_container.image = 'pgc-crashloop:test';
SET pg_container.ready_timeout = '4s';
SELECT message AS crash_error, detail AS crash_detail
  FROM pg_temp.failure_of($$SELECT container_ensure_running('gw-crash')$$) \gset
RESET pg_container.ready_timeout;
RESET pg_container.image;
SELECT alike(:'crash_error'::text, '55000: container "mosaic-user-gw-crash" did not become ready within 4000 ms',
            'a gateway that never gets ready is 55000, naming the container');
SELECT matches(:'crash_detail'::text, 'Docker has restarted it [0-9]+ times|its last exit code was 78',
               '... its detail says it keeps exiting (Docker resets the exit code at each restart)');
SELECT alike(:'crash_detail'::text, '%Refusing to bind gateway to lan without auth%', '... and the gateway''s own last words');
SELECT alike(:'crash_detail'::text, '%token is <redacted>%', '... with the token redacted');

-- container_logs: the same output, redacted, bounded by tail.
SELECT container_ensure_running('gw-logs') \g /dev/null
SELECT token AS gw_token FROM container_ensure_running('gw-logs') \gset
SELECT test_helpers.inspect('mosaic-user-gw-crash', '{{.Id}}') AS crash_id \gset
SELECT is((SELECT count(*) FROM container_logs('gw-crash', 2)), 2::bigint, 'container_logs returns at most tail lines');
SELECT ok((SELECT bool_and(l !~ '[0-9a-f]{64}') FROM container_logs('gw-crash', 100) l)
          AND (SELECT count(*) FROM container_logs('gw-crash', 100) l WHERE l = 'token is <redacted>') > 0,
          '... with every token replaced by <redacted>');
SELECT throws_ok($$SELECT container_logs('gw-crash', 0)$$, '22023', 'tail must be between 1 and 10000 lines',
                 'a tail of 0 is refused');
SELECT is_empty($$SELECT container_logs('gw-nobody')$$, 'an unknown user has no logs');
-- A row pointed at another user's container gets that container's logs refused.
UPDATE user_container SET container_id = :'crash_id' WHERE user_id = 'gw-logs';
SET client_min_messages = error;
SELECT is((SELECT count(*) FROM container_logs('gw-logs', 100) l WHERE l LIKE 'token is%'), 0::bigint,
          'container_logs does not read a container whose labels are another user''s');
SET client_min_messages = warning;

-- A container made by an ensure that rolled back has the token of a row
-- that never was: the next ensure must not hand out a token its gateway
-- refuses.
BEGIN;
SELECT container_ensure_running('gw-rolled') \g /dev/null
ROLLBACK;
SELECT token AS rolled_token FROM container_ensure_running('gw-rolled') \gset
SELECT ok(test_helpers.inspect('mosaic-user-gw-rolled', '{{json .Config.Env}}')::jsonb ? ('OPENCLAW_GATEWAY_TOKEN=' || :'rolled_token'),
          'after a rolled-back ensure, the container the next ensure hands out checks the token it returns');

-- An upgrade that cannot take a working user down: the replacement of an
-- outdated container must get ready, or the previous one comes back.
SELECT url AS roll_url, token AS roll_token FROM container_ensure_running('gw-roll') \gset
SELECT container_id AS roll_id, gateway_port AS roll_port FROM user_container WHERE user_id = 'gw-roll' \gset
INSERT INTO container_profile (name, image) VALUES ('gw-broken', 'pgc-crashloop:test');
SELECT container_set_profile('gw-roll', 'gw-broken') \g /dev/null
SET pg_container.ready_timeout = '4s';
SELECT throws_ok($$SELECT container_restart('gw-roll')$$, '55000',
                 'container "mosaic-user-gw-roll" did not become ready within 4000 ms',
                 'a recreation whose gateway never gets ready fails with the readiness error (the image is in its context)');
RESET pg_container.ready_timeout;
SELECT is(test_helpers.inspect('mosaic-user-gw-roll', '{{.Id}} {{.State.Status}} {{.Config.Image}}'),
          :'roll_id' || ' running pgc-gateway:test', '... and the previous container is back, running');
SELECT is(test_helpers.http_status(:roll_port, '/readyz'), '200', '... answering on the same port');
SELECT is((SELECT url || ' ' || token FROM container_ensure_running('gw-roll')), :'roll_url' || ' ' || :'roll_token',
          '... with the same URL and token');
SELECT is(test_helpers.docker('ps -a -q --filter name=mosaic-user-gw-roll-previous'), '', '... and nothing set aside is left');
SELECT is((SELECT container_id || ' ' || profile FROM user_container WHERE user_id = 'gw-roll'), :'roll_id' || ' gw-broken',
          '... and the row still records the previous container');
-- A good replacement takes over, and the previous container goes.
UPDATE container_profile SET image = NULL, memory_limit_mb = 64 WHERE name = 'gw-broken';
SELECT lives_ok($$SELECT container_restart('gw-roll')$$, 'a recreation whose gateway gets ready succeeds');
SELECT is(test_helpers.inspect('mosaic-user-gw-roll', '{{.HostConfig.Memory}} {{.State.Status}}'), '67108864 running',
          '... with the new spec');
SELECT is(test_helpers.docker('ps -a -q --filter name=mosaic-user-gw-roll-previous'), '', '... removing the previous container');
SELECT container_remove('gw-roll') \g /dev/null
SELECT container_process_removals() \g /dev/null
DELETE FROM container_profile WHERE name = 'gw-broken';

-- A line longer than 16 KiB comes in several Docker frames: the token
-- cut at a frame boundary, and one among control bytes, stay redacted in
-- container_logs and in the not-ready error (which the server log gets).
INSERT INTO container_profile (name, image, command) VALUES ('gw-long', 'pgc-gateway:test',
    ARRAY['/bin/busybox', 'sh', '-c',
          'printf "long %16350s%s end\n" "" "$OPENCLAW_GATEWAY_TOKEN"; '
          'printf "\033[1m%s\033[0m\a\r\n" "$OPENCLAW_GATEWAY_TOKEN"; printf "tail\000%s\n" "$OPENCLAW_GATEWAY_TOKEN"; exit 78']);
SELECT container_set_idle_timeout('gw-long', 30) \g /dev/null
SELECT container_set_profile('gw-long', 'gw-long') \g /dev/null
SET pg_container.ready_timeout = '4s';
SELECT detail AS long_detail FROM pg_temp.failure_of($$SELECT container_ensure_running('gw-long')$$) \gset
RESET pg_container.ready_timeout;
SELECT test_helpers.inspect('mosaic-user-gw-long', '{{json .Config.Env}}')::jsonb AS long_env \gset
SELECT substr(e, length('OPENCLAW_GATEWAY_TOKEN=') + 1) AS long_token
  FROM jsonb_array_elements_text(:'long_env'::jsonb) e WHERE e LIKE 'OPENCLAW_GATEWAY_TOKEN=%' \gset
CREATE TEMP TABLE long_logs AS SELECT l FROM container_logs('gw-long', 100) l;
SELECT ok((SELECT count(*) FROM long_logs WHERE l = 'long ' || repeat(' ', 16350) || '<redacted> end') > 0,
          'a line longer than 16 KiB is one line of container_logs, its token redacted across the frames');
SELECT ok((SELECT count(*) FROM long_logs WHERE l = '?[1m<redacted>?[0m?') > 0
          AND (SELECT count(*) FROM long_logs WHERE l = 'tail?<redacted>') > 0,
          '... and a token among control bytes (ESC, BEL, CR, NUL) is redacted, the bytes replaced');
SELECT is((SELECT count(*) FROM long_logs WHERE l ~ substr(:'long_token', 1, 8) OR l ~ substr(:'long_token', 57, 8)),
          0::bigint, '... and no line holds a piece of the token');
SELECT ok(:'long_detail' LIKE '%<redacted> end%' AND :'long_detail' LIKE '%?[1m<redacted>?[0m?%',
          'the not-ready error''s detail has the long line and the control bytes redacted');
SELECT ok(strpos(:'long_detail', substr(:'long_token', 1, 8)) = 0 AND strpos(:'long_detail', substr(:'long_token', 57, 8)) = 0,
          '... and no piece of the token');
SELECT container_remove('gw-long') \g /dev/null
SELECT test_helpers.wait_removed('gw-long') \g /dev/null
DELETE FROM container_profile WHERE name = 'gw-long';

SELECT container_remove('gw-crash') \g /dev/null
SELECT * FROM finish();
