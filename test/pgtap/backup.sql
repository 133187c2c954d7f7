-- Backups of a user's volume into the database (container_backup,
-- container_restore, container_backups): a running container is paused
-- for the copy, not restarted; a restore brings files back byte for byte
-- after checking the checksum; retention keeps the newest
-- pg_container.backup_keep; the row and large object follow the caller's
-- transaction.  Against the real dockerd.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(25);

-- What an earlier, interrupted run may have left.
SELECT container_remove(user_id, keep_volume => false) FROM user_container WHERE user_id LIKE 'bk-%' \g /dev/null
SELECT container_process_removals() \g /dev/null
SELECT pg_catalog.lo_unlink(large_object) FROM container_backup WHERE user_id LIKE 'bk-%' \g /dev/null
DELETE FROM container_backup WHERE user_id LIKE 'bk-%';
SELECT test_helpers.docker('volume rm -f mosaic-user-bk-alice-state mosaic-user-bk-clone-state') \g /dev/null

CREATE FUNCTION pg_temp.put(u text, content text) RETURNS text
LANGUAGE sql AS $$
    SELECT test_helpers.docker(format('exec mosaic-user-%s /bin/busybox sh -c %s', u,
                                      test_helpers.shell_quote('printf %s ' || test_helpers.shell_quote(content)
                                                               || ' > /home/node/.openclaw/note')))
$$;
CREATE FUNCTION pg_temp.note(u text) RETURNS text
LANGUAGE sql AS $$
    SELECT test_helpers.docker(format('exec mosaic-user-%s /bin/busybox cat /home/node/.openclaw/note', u))
$$;

-- Errors before any copy.
SELECT throws_ok($$SELECT container_backup('bk-nobody')$$, '42704', 'user "bk-nobody" has no container',
                 'a backup of an unknown user is 42704, named');
SELECT throws_ok($$SELECT container_backup(NULL)$$, '22004', NULL, 'a NULL user id is 22004');

-- A running user: paused for the copy, still running after, same container and token.
SELECT container_ensure_running('bk-alice') \g /dev/null
SELECT pg_temp.put('bk-alice', 'first version') \g /dev/null
SELECT container_id AS cid, gateway_token AS token FROM user_container WHERE user_id = 'bk-alice' \gset
SELECT extract(epoch FROM clock_timestamp())::bigint - 1 AS since \gset
SELECT container_backup('bk-alice') AS b1 \gset
SELECT extract(epoch FROM clock_timestamp())::bigint + 1 AS until \gset
SELECT is(test_helpers.docker(format('events --since %s --until %s --filter container=%s --filter event=pause '
                                     '--filter event=archive-path --filter event=unpause --format {{.Action}}',
                                     :since, :until, :'cid')),
          E'pause\narchive-path\nunpause', 'the running container was paused for the copy and unpaused after');
SELECT is(test_helpers.inspect('mosaic-user-bk-alice', '{{.State.Status}} {{.State.Paused}} {{.Id}}'),
          'running false ' || :'cid', 'it still runs, unpaused, as the same container');
SELECT is((SELECT gateway_token FROM user_container WHERE user_id = 'bk-alice'), :'token',
          'its token is unchanged');
SELECT is((SELECT status FROM user_container WHERE user_id = 'bk-alice'), 'running', 'the row still says running');

-- What was recorded.
SELECT is((SELECT count(*)::int FROM container_backups('bk-alice')), 1, 'container_backups lists the backup');
SELECT ok((SELECT size_bytes > 0 AND size_bytes = length(lo_get(large_object))
                  AND sha256 = encode(sha256(lo_get(large_object)), 'hex') AND storage = 'database'
             FROM container_backup WHERE id = :b1),
          'the row has the size and SHA-256 of the bytes in its large object');
SELECT ok((SELECT encode(lo_get(large_object), 'escape') LIKE '%first version%'
             FROM container_backup WHERE id = :b1), 'the large object is the tar stream of the state path');

-- Transactional: a rollback leaves no backup and no large object.
SELECT count(*) AS objects FROM pg_largeobject_metadata \gset
BEGIN;
SELECT container_backup('bk-alice') \g /dev/null
ROLLBACK;
SELECT is((SELECT count(*)::int FROM container_backup WHERE user_id = 'bk-alice'), 1, 'a rolled back backup leaves no row');
SELECT is((SELECT count(*) FROM pg_largeobject_metadata), :'objects'::bigint, '... and no large object');

-- A restore is refused while the user runs, and while paused.
SELECT throws_ok(format('SELECT container_restore(%L, %s)', 'bk-alice', :b1), '55000',
                 'the container of user "bk-alice" is running', 'a restore into a running user is 55000');
SELECT test_helpers.docker('pause mosaic-user-bk-alice') \g /dev/null
SELECT throws_ok(format('SELECT container_restore(%L, %s)', 'bk-alice', :b1), '55000',
                 'the container of user "bk-alice" is paused', '... and into a paused one');
SELECT test_helpers.docker('unpause mosaic-user-bk-alice') \g /dev/null

-- Restore: change the file, stop, restore, start, read.
SELECT pg_temp.put('bk-alice', 'second version') \g /dev/null
SELECT container_stop('bk-alice') \g /dev/null
SELECT lives_ok(format('SELECT container_restore(%L, %s)', 'bk-alice', :b1), 'a restore into the stopped user works');
SELECT container_ensure_running('bk-alice') \g /dev/null
SELECT is(pg_temp.note('bk-alice'), 'first version', 'the file is back byte for byte');

-- A stopped user is copied as it is, and stays stopped.
SELECT container_stop('bk-alice') \g /dev/null
SELECT pg_temp.note('bk-alice') \g /dev/null
SELECT container_backup('bk-alice') AS b2 \gset
SELECT is(test_helpers.state_of('mosaic-user-bk-alice'), 'exited', 'a backup of a stopped user leaves it stopped');

-- Another user's backup clones that user.
SELECT container_ensure_running('bk-clone') \g /dev/null
SELECT container_stop('bk-clone') \g /dev/null
SELECT container_restore('bk-clone', :b1) \g /dev/null
SELECT container_ensure_running('bk-clone') \g /dev/null
SELECT is(pg_temp.note('bk-clone'), 'first version', 'restoring another user''s backup clones its state');

-- A corrupted backup is refused by its checksum.
SELECT lo_put(large_object, 100, '\x00ff'::bytea) FROM container_backup WHERE id = :b2 \g /dev/null
SELECT throws_ok(format('SELECT container_restore(%L, %s)', 'bk-alice', :b2), 'XX001',
                 format('backup %s does not match its checksum', :b2), 'a corrupted backup is refused (XX001)');
SELECT throws_ok($$SELECT container_restore('bk-alice', -1)$$, '42704', 'backup -1 does not exist',
                 'an unknown backup is 42704');

-- Retention: the newest pg_container.backup_keep are kept.
SELECT large_object AS oldest_lo FROM container_backup WHERE id = :b1 \gset
SET pg_container.backup_keep = 2;
SELECT container_backup('bk-alice') AS b3 \gset
RESET pg_container.backup_keep;
SELECT is((SELECT array_agg(id ORDER BY id DESC) FROM container_backups('bk-alice')), ARRAY[:b3, :b2]::bigint[],
          'retention drops the oldest backup');
SELECT is((SELECT count(*)::int FROM pg_largeobject_metadata WHERE oid = :oldest_lo), 0, '... and its large object');

-- Over pg_container.backup_max_size: 54000, and the pause is undone.
SELECT container_ensure_running('bk-alice') \g /dev/null
SELECT test_helpers.docker('exec mosaic-user-bk-alice /bin/busybox dd if=/dev/urandom of=/home/node/.openclaw/big bs=1024 count=1200') \g /dev/null
SET pg_container.backup_max_size = '1MB';
SELECT throws_ok($$SELECT container_backup('bk-alice')$$, '54000', NULL,
                 'a volume over pg_container.backup_max_size is refused with 54000');
RESET pg_container.backup_max_size;
SELECT is(test_helpers.inspect('mosaic-user-bk-alice', '{{.State.Status}} {{.State.Paused}}'), 'running false',
          'a failed backup unpauses the container');

-- A cancel during the copy stays a cancel, and the pause is undone.
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules('[{"method": "GET", "path": "/archive", "action": "hang"}]') \g /dev/null
SET statement_timeout = '2s';
SELECT is(test_helpers.error_of($$SELECT container_backup('bk-alice')$$),
          '57014: canceling statement due to statement timeout', 'a cancel during the copy stays a cancel');
RESET statement_timeout;
SELECT test_helpers.fault_reset() \g /dev/null
SELECT test_helpers.use_dockerd() \g /dev/null
SELECT is(test_helpers.inspect('mosaic-user-bk-alice', '{{.State.Status}} {{.State.Paused}}'), 'running false',
          '... and the container is unpaused');

SELECT container_remove(user_id, keep_volume => false) FROM user_container WHERE user_id LIKE 'bk-%' \g /dev/null
SELECT container_process_removals() \g /dev/null
SELECT pg_catalog.lo_unlink(large_object) FROM container_backup WHERE user_id LIKE 'bk-%' \g /dev/null
DELETE FROM container_backup WHERE user_id LIKE 'bk-%';
SELECT * FROM finish();
