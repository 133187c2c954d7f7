-- container_remove takes effect when its transaction commits: a rollback
-- keeps row, container and volume; a commit removes them soon after; a
-- re-ensure after a committed remove gets a fresh container.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(23);

SELECT url AS ignored FROM container_ensure_running('tr-rb') \gset
SELECT container_id AS cid1 FROM user_container WHERE user_id = 'tr-rb' \gset
SELECT test_helpers.docker('exec mosaic-user-tr-rb /bin/busybox sh -c "echo kept > /home/node/.openclaw/probe"') AS ignored \gset

-- Rolled back: nothing happened.
BEGIN;
SELECT container_remove('tr-rb', false);
SELECT is((SELECT status FROM user_container WHERE user_id = 'tr-rb'), 'removing',
          'inside the transaction the row shows the pending removal');
SELECT is((SELECT status FROM container_status('tr-rb')), 'removing', 'so does container_status');
SELECT is((SELECT remove_volume FROM user_container WHERE user_id = 'tr-rb'), true,
          'the row says the volume goes with it');
SELECT is(test_helpers.state_of('mosaic-user-tr-rb'), 'running', 'the container still runs before commit');
SELECT matches(test_helpers.error_of($$SELECT container_ensure_running('tr-rb')$$), 'being removed by this transaction',
               'an ensure in the removing transaction is refused, not given the container that is to go');
ROLLBACK;
SELECT pg_sleep(1.5);
SELECT is((SELECT status FROM user_container WHERE user_id = 'tr-rb'), 'running', 'after rollback the row is as it was');
SELECT is(test_helpers.inspect('mosaic-user-tr-rb', '{{.Id}}'), :'cid1', 'the same container ...');
SELECT is(test_helpers.state_of('mosaic-user-tr-rb'), 'running', '... still runs');
SELECT is(test_helpers.docker('exec mosaic-user-tr-rb /bin/busybox cat /home/node/.openclaw/probe'), 'kept',
          'and the volume keeps what was written in it');

-- Committed: carried out soon after, volume and all.
SELECT container_remove('tr-rb', false);
SELECT lives_ok($$SELECT container_remove('tr-rb', false)$$, 'a second remove of a pending user is a no-op');
SELECT lives_ok($$SELECT test_helpers.wait_removed('tr-rb')$$, 'the committed removal is carried out');
SELECT is(test_helpers.containers_of('tr-rb'), '', 'the container is gone');
SELECT is(test_helpers.docker('volume ls -q --filter name=^mosaic-user-tr-rb-state$'), '', 'the volume is gone');

-- keep_volume true keeps it.
SELECT url AS ignored FROM container_ensure_running('tr-keep') \gset
SELECT container_remove('tr-keep', true);
SELECT test_helpers.wait_removed('tr-keep');
SELECT is(test_helpers.docker('volume ls -q --filter name=^mosaic-user-tr-keep-state$'), 'mosaic-user-tr-keep-state',
          'keep_volume true keeps the volume');
SELECT test_helpers.docker('volume rm mosaic-user-tr-keep-state') AS ignored \gset

-- A re-ensure right after a committed remove carries the removal out
-- first and gets a fresh container, which stays.
SELECT url AS ignored FROM container_ensure_running('tr-again') \gset
SELECT container_id AS old_cid FROM user_container WHERE user_id = 'tr-again' \gset
SELECT container_remove('tr-again', false);
SELECT url AS ignored FROM container_ensure_running('tr-again') \gset
SELECT container_id AS new_cid FROM user_container WHERE user_id = 'tr-again' \gset
SELECT isnt(:'new_cid'::text, :'old_cid'::text, 're-ensure after a committed remove gets a fresh container');
SELECT pg_sleep(1.5);
SELECT is(test_helpers.inspect('mosaic-user-tr-again', '{{.Id}} {{.State.Status}}'), :'new_cid' || ' running',
          'and it does not disappear afterwards');
SELECT is((SELECT status FROM user_container WHERE user_id = 'tr-again'), 'running', 'its row says running');
SELECT container_remove('tr-again', false);
SELECT test_helpers.wait_removed('tr-again');

-- A user pending removal is refused, with 55000, by the calls that would
-- change their row (it is about to go, and a setter would make a new one
-- once it has) or read their container; their row stays as it was.
SELECT url AS ignored FROM container_ensure_running('tr-busy') \gset
BEGIN;
SELECT container_remove('tr-busy', true);
SELECT row_to_json(u)::text AS busy_row FROM user_container u WHERE user_id = 'tr-busy' \gset
SELECT is(test_helpers.error_of('SELECT ' || call), '55000: user "tr-busy" is being removed',
          call || ' refuses a user pending removal')
  FROM unnest(ARRAY[$$container_set_profile('tr-busy', NULL)$$, $$container_set_idle_timeout('tr-busy', 7)$$,
                    $$container_set_pause_after('tr-busy', 7)$$, $$container_logs('tr-busy')$$,
                    $$container_touch('tr-busy')$$]) call;
SELECT is((SELECT row_to_json(u)::text FROM user_container u WHERE user_id = 'tr-busy'), :'busy_row',
          '... and the row stays as it was');
COMMIT;
SELECT test_helpers.wait_removed('tr-busy');
SELECT test_helpers.docker('volume rm mosaic-user-tr-busy-state') AS ignored \gset

SELECT * FROM finish();
